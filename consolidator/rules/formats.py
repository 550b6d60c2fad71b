"""What a phone number, an e-mail address, a 统一社会信用代码 and a GB/T 4754 industry code must look like.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np
import phonenumbers
import pyarrow as pa

from ..resources import industry_reference
from .load import DEFAULT_RULES_DIR, yaml_loader


def nfkc(text: str) -> str:
    """Full-width letters and digits folded to half-width (Unicode NFKC)."""
    return unicodedata.normalize("NFKC", text)


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 3^(i-1) mod 31, i = 1..17


def uscc_check_char(first17: str) -> str:
    """The 18th character for the first 17 (ISO 7064 MOD 31-3), by python-stdnum. Its `validate` is not
    used: it rejects codes whose first eight characters are not digits, and codes of 机关 (1…), 社会团体
    (5…), 民办非企业 (5…) and others legitimately start with letters such as A, N or Y. Imported here: python-stdnum
    loads pydoc and ssl (some 25 ms), which the reading workers never need (the check imports it while they read)."""
    from stdnum.cn import uscc as stdnum_uscc

    return stdnum_uscc.calc_check_digit(first17)


def uscc_problem(code: str) -> str | None:
    """None when `code` is a well-formed credit code, otherwise what is wrong (Chinese)."""
    if len(code) != 18:
        return f"应为18位，实际为{len(code)}位"
    bad = sorted({ch for ch in code if ch not in USCC_ALPHABET})
    if bad:
        return f"含有不允许的字符“{''.join(bad)}”（不使用 I、O、Z、S、V）"
    if not code[2:8].isdigit():
        return "第3-8位应为行政区划代码（数字）"
    if uscc_check_char(code[:17]) != code[17]:
        return f"校验位错误（按前17位计算应为“{uscc_check_char(code[:17])}”）"
    return None


_LOOKUP = np.full(256, -1, dtype=np.int8)  # character -> its value (-1: not in the alphabet)
for _i, _ch in enumerate(USCC_ALPHABET):
    _LOOKUP[ord(_ch)] = _i
_W = np.array(_WEIGHTS, dtype=np.int32)


def utf8_buffers(texts) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Texts (a list, or an Arrow array or column) as one Arrow string array, with where each text starts in
    its UTF-8 bytes (and where the last ends: len + 1 entries) and those bytes, read from its buffers."""
    arr = texts if isinstance(texts, (pa.Array, pa.ChunkedArray)) else pa.array(texts, pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.string())
    _, offsets, data = arr.buffers()
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    starts = (np.frombuffer(offsets, dtype=width)[arr.offset:arr.offset + len(arr) + 1].astype(np.int64)
              if offsets is not None else np.zeros(1, np.int64))
    chars = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return arr, starts, chars


def uscc_valid(codes) -> np.ndarray:
    """Whether each code is a well-formed credit code (as uscc_problem(code) is None), all at once:
    `codes` (texts: a list, or an Arrow array or column) a block of rows at a time, as an Arrow array whose
    UTF-8 bytes hold each 18-character code as a row of 18 bytes (a code with any other character has more
    bytes, or a byte that is no character of the alphabet)."""
    whole = codes if isinstance(codes, (pa.Array, pa.ChunkedArray)) else pa.array(codes, pa.string())
    ok = np.zeros(len(whole), dtype=bool)
    for at in range(0, len(whole), _BLOCK):  # a block's bytes copied together, not the whole column's
        arr, starts, chars = utf8_buffers(whole.slice(at, _BLOCK))
        good = (np.diff(starts) == 18) & ~np.asarray(arr.is_null())
        rows = np.flatnonzero(good)
        u = chars[starts[rows][:, None] + np.arange(18)]
        values = _LOOKUP[u]  # -1: not in the alphabet (every byte of a non-ASCII character)
        check = (31 - (values[:, :17].astype(np.int32) @ _W) % 31) % 31
        digits = u[:, 2:8]  # the region code must be digits
        good[rows] = (values >= 0).all(axis=1) & (check == values[:, 17]) & ((digits >= 48) & (digits <= 57)).all(axis=1)
        ok[at:at + len(arr)] = good
    return ok


_BLOCK = 16384  # codes judged at once: ~3 MB of working arrays


_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")


# ---- formats ----------------------------------------------------------------------------------
def phone_ok(text: str) -> bool:
    """A Chinese mobile or landline number (0512-66681234, 13912345678, +86 139 1234 5678)."""
    cleaned = re.sub(r"[\s()（）]", "", nfkc(text))
    if not re.fullmatch(r"[+\d\-]{7,20}(转\d{1,6})?", cleaned):
        return False
    try:
        number = phonenumbers.parse(cleaned.split("转")[0], "CN")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number)


def email_ok(text: str) -> bool:
    return bool(_EMAIL.match(nfkc(text).strip()))




@lru_cache(maxsize=4)
def _industry_table(rules_dir: str) -> tuple[dict[str, str], dict[str, str], set[str]]:
    import yaml

    path = industry_reference(rules_dir)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml_loader())["sections"]
    division_section = {}
    names = set()
    for letter, sec in data.items():
        names.add(_squash(sec["name"]))
        for code, name in sec["divisions"].items():
            division_section[str(code)] = letter
            names.add(_squash(name))
    return division_section, {k: v["name"] for k, v in data.items()}, names


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", nfkc(text))


@lru_cache(maxsize=65536)
def industry_problem(text: str, rules_dir: Path = DEFAULT_RULES_DIR) -> str | None:
    """None for a GB/T 4754-2017 code or name; "error" for a malformed code; "unknown" for a name
    that is not a section or division name (it may be a class name, which is not listed)."""
    division_section, sections, names = _industry_table(str(rules_dir))
    s = _squash(text).upper()
    m = re.fullmatch(r"([A-T])?(\d{2,4})", s)
    if m:
        letter, digits = m.groups()
        section = division_section.get(digits[:2])
        if section is None or (letter and letter != section):
            return "error"
        return None
    if re.fullmatch(r"[A-T]", s):
        return None
    if re.fullmatch(r"[A-Z]?\d+", s):
        return "error"
    if _squash(text) in names:
        return None
    return "unknown"


# formats of single fields judged text by text (a list's codes are judged together: uscc_valid)
JUDGES = {"phone": phone_ok, "email": email_ok}
