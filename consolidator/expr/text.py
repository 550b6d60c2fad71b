"""How text is counted and compared, in the checker and in the workbook's formulas alike.

A park's text is compared as the office means it: runs of white space (spaces, tabs, line breaks,
the full-width space U+3000 and the no-break space) count as one space, space at either end does not
count, and upper and lower case are the same ("ＡＢ" and "AB" stay different: full-width letters are
other characters, in Excel as here). Characters are counted as Excel's LEN counts them (UTF-16 units:
a character outside the Basic Multilingual Plane counts two), white space not counted.

Each function comes with its Excel twin, and a LibreOffice test checks that the two agree.
"""

from __future__ import annotations

import re

WHITESPACE = " \t\n\r\u3000\u00a0"
_RUN = re.compile(f"[{WHITESPACE}]+")
# WHITESPACE but " ", as Excel writes them: the two non-ASCII ones as literal text (UNICHAR is not read by
# every program in an .xlsx without its _xlfn. prefix, and CHAR depends on the system's code page)
_EXCEL_CHARS = ("CHAR(9)", "CHAR(10)", "CHAR(13)", '"\u3000"', '"\u00a0"')


def text_key(text: str) -> str:
    """The text as it is compared: white space squeezed and trimmed, lower case."""
    return _RUN.sub(" ", text).strip(" ").lower()


def char_count(text: str) -> int:
    """Characters other than white space, counted as Excel counts them."""
    return len(_RUN.sub("", text).encode("utf-16-le")) // 2


def _excel_spaces(ref: str, to: str) -> str:
    """`ref` with every white-space character other than the space replaced by `to`."""
    out = ref
    for ch in _EXCEL_CHARS:
        out = f'SUBSTITUTE({out},{ch},"{to}")'
    return out


def excel_text_key(ref: str) -> str:
    """text_key in Excel (TRIM squeezes and trims spaces only, so the other white space is made spaces first)."""
    return f"LOWER(TRIM({_excel_spaces(ref, ' ')}))"


def excel_is_blank(ref: str) -> str:
    """TRUE when the text holds nothing but white space."""
    return f"LEN(TRIM({_excel_spaces(ref, ' ')}))=0"


def excel_char_count(ref: str) -> str:
    """char_count in Excel."""
    return f'LEN(SUBSTITUTE({_excel_spaces(ref, "")}," ",""))'
