"""A range written as "(0, 100]": parsed once, used by the checker and the Excel emitter alike."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from ..expr.excel import literal, number_literal

_INTERVAL = re.compile(r"^\s*([\[(])\s*([^,\s]*)\s*,\s*([^\])\s]*)\s*([\])])\s*$")


@dataclass(frozen=True)
class Interval:
    """A range written as "(0, 100]": open or closed at each end, either end may be absent."""

    low: float | dt.date | None
    low_closed: bool
    high: float | dt.date | None
    high_closed: bool
    text: str

    def bounds(self) -> list[tuple[str, float | dt.date]]:
        """The range as the comparisons a value inside it passes: [(">", 0), ("<=", 100)]. The checker's
        pandera checks and the workbook's formulas are both made from these."""
        out = []
        if self.low is not None:
            out.append((">=" if self.low_closed else ">", self.low))
        if self.high is not None:
            out.append(("<=" if self.high_closed else "<", self.high))
        return out

    def excel(self, ref: str) -> str:
        """An Excel condition, TRUE when the value of `ref` lies in the range."""
        parts = [f"{ref}{op}{literal(bound)}" for op, bound in self.bounds()]
        return parts[0] if len(parts) == 1 else f"AND({','.join(parts)})"

    def describe(self, unit: str | None = None) -> str:
        """Chinese wording of the range, as shown to parks: "大于0且不大于100"."""
        u = "" if not unit or unit in ("无", "%") else unit
        pct = "%" if unit == "%" else ""
        parts = []
        if self.low is not None:
            parts.append(("不小于" if self.low_closed else "大于") + f"{_fmt(self.low)}{pct}{u}")
        if self.high is not None:
            parts.append(("不大于" if self.high_closed else "小于") + f"{_fmt(self.high)}{pct}{u}")
        return "且".join(parts) or "任意值"

    def __str__(self) -> str:
        return self.text


def _fmt(v) -> str:
    return v.isoformat() if isinstance(v, dt.date) else number_literal(v)


def _bound(text: str) -> float | dt.date | None:
    if text == "":
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return dt.date.fromisoformat(text)
    value = float(text)
    if math.isnan(value) or math.isinf(value):
        raise ValueError
    return value


def parse_interval(value) -> Interval:
    if isinstance(value, Interval):
        return value
    if not isinstance(value, str):
        raise ValueError("区间应写成字符串，如 \"(0, 100]\" 或 \"[0, )\"")
    m = _INTERVAL.match(value)
    if not m:
        raise ValueError(f"区间“{value}”写法不对，应写成 \"(0, 100]\" 或 \"[0, )\" 的形式")
    try:
        low, high = _bound(m.group(2)), _bound(m.group(3))
    except ValueError:
        raise ValueError(f"区间“{value}”的端点不是数字或日期（YYYY-MM-DD）") from None
    if low is None and high is None:
        raise ValueError(f"区间“{value}”两端都为空，没有意义")
    if low is not None and high is not None and type(low) is not type(high):
        raise ValueError(f"区间“{value}”两端类型不一致")
    if low is not None and high is not None and low > high:
        raise ValueError(f"区间“{value}”的下限大于上限")
    return Interval(low, m.group(1) == "[", high, m.group(4) == "]", value.strip())
