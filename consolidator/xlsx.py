"""Writing park-entered text into our own workbooks, safely.

Text a park typed stays text: a value beginning with "=", "+", "-" or "@" is stored as a string, never
as a formula, and no text becomes a hyperlink. Characters a workbook cannot hold are removed and text
longer than a cell can hold is cut at the limit; both are reported as findings, never done silently.
"""

from __future__ import annotations

import io
import unicodedata
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from . import findings as F

MAX_CELL_CHARS = 32767
FONT = "宋体"
HEAD_FILL = PatternFill("solid", start_color="D9E1F2", end_color="D9E1F2")
THIN = Side(style="thin", color="808080")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FONT = Font(name="黑体", size=11, bold=True)
BODY_FONT = Font(name=FONT, size=10)
WRAP = Alignment(wrap_text=True, vertical="top")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


class TextGuard:
    """Cleans text for a workbook and keeps the findings about what it had to change."""

    def __init__(self):
        self.findings: list[F.Finding] = []
        self._seen: set[tuple] = set()

    def clean(self, value: Any, *, label: str = "", file: str = "", park: str = "") -> Any:
        if not isinstance(value, str):
            return value
        text = value
        if ILLEGAL_CHARACTERS_RE.search(text):
            text = ILLEGAL_CHARACTERS_RE.sub("", text)
            self._report("text_cleaned", label=label, file=file, park=park)
        if len(text) > MAX_CELL_CHARS:
            self._report("text_too_long", label=label, file=file, park=park, count=len(text), limit=MAX_CELL_CHARS)
            text = text[:MAX_CELL_CHARS]
        return text

    def _report(self, code: str, **kw) -> None:
        key = (code, kw.get("file"), kw.get("label"))
        if key not in self._seen:
            self._seen.add(key)
            self.findings.append(F.make(code, **kw))


def cell(ws, value: Any = None, *, font=BODY_FONT, fill=None, border=BORDER, alignment=None, number_format=None):
    """A write-only cell; strings are always stored as text (never formulas)."""
    if isinstance(value, str) and ILLEGAL_CHARACTERS_RE.search(value):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)  # last resort: callers clean (and report) through TextGuard
    c = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        c.data_type = "s"
    c.font = font
    if fill is not None:
        c.fill = fill
    if border is not None:
        c.border = border
    if alignment is not None:
        c.alignment = alignment
    if number_format:
        c.number_format = number_format
    return c


def set_text(target, value: Any) -> None:
    """Put a value into a normal (not write-only) cell; strings stay strings."""
    target.value = value
    if isinstance(value, str):
        target.data_type = "s"


def width_of(text: Any) -> int:
    s = "" if text is None else str(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s.split("\n")[0])


def fit_widths(rows: list[list[Any]], *, minimum=6, maximum=50) -> list[float]:
    """Column widths that fit Chinese text: CJK characters count two."""
    widths: list[float] = []
    for row in rows:
        for i, v in enumerate(row):
            w = min(maximum, max(minimum, width_of(v) + 2))
            if i >= len(widths):
                widths.append(w)
            else:
                widths[i] = max(widths[i], w)
    return widths


def workbook_to_bytes(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
