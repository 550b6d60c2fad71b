"""Identifiers: 统一社会信用代码 (GB 32100-2015).

python-stdnum's `cn.uscc` rejects legitimate codes whose first eight characters are not digits
(codes may start with A, N or Y), so the check character is computed here.
"""

from __future__ import annotations

import numpy as np

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 3^(i-1) mod 31, i = 1..17
_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}


def uscc_check_char(first17: str) -> str:
    """The 18th character for the first 17 (ISO 7064 MOD 31-3)."""
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, _WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


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


_LOOKUP = np.full(256, -1, dtype=np.int64)
for _i, _ch in enumerate(USCC_ALPHABET):
    _LOOKUP[ord(_ch)] = _i
_W = np.array(_WEIGHTS, dtype=np.int64)


def uscc_problems(codes: list[str]) -> list[str | None]:
    """uscc_problem for many codes at once: the well-formed majority is checked with numpy."""
    out: list[str | None] = [None] * len(codes)
    simple = [i for i, c in enumerate(codes) if len(c) == 18 and c.isascii()]
    if simple:
        raw = np.frombuffer("".join(codes[i] for i in simple).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
        values = _LOOKUP[raw]
        check = (31 - (values[:, :17] @ _W) % 31) % 31
        digits = raw[:, 2:8]  # ASCII: the region code must be digits
        ok = (values >= 0).all(axis=1) & (check == values[:, 17]) & ((digits >= 48) & (digits <= 57)).all(axis=1)
        bad = set(np.array(simple)[~ok].tolist())
    else:
        bad = set()
    for i, c in enumerate(codes):
        if i in bad or not (len(c) == 18 and c.isascii()):
            out[i] = uscc_problem(c)
    return out
