"""One frame and one pandera schema per category, and the failures turned into findings.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
import pandera.pandas as pa

from .. import findings as F
from ..expr.text import char_count
from ..findings import Finding, display
from ..rules.formats import FORMAT_CHECKS
from ..rules.model import Field, Form, Rule
from .results import CheckedReturn


# ---- step 3: one frame and one schema per category ----------------------------------------------------
def frame_of(form: Form, rets: list[tuple[int, CheckedReturn]]) -> pd.DataFrame:
    """A row per return, a column per field (and per list category: the rows the list holds),
    built column by column: numbers as float64, everything else as Python objects."""
    index = [i for i, _ in rets]
    fids = list(form.fields)
    table = zip(*[list(map(r.values.get, fids)) for _, r in rets])  # read row by row (each dict once), then turned
    cols: dict[str, Any] = {}
    for f, col in zip(form.fields.values(), table):
        if f.is_numeric:
            try:
                cols[f.id] = np.array([np.nan if x is None else x for x in col], dtype=float)
            except (TypeError, ValueError):
                cols[f.id] = pd.to_numeric(pd.Series(col, dtype=object), errors="coerce").to_numpy(dtype=float)
        else:
            cols[f.id] = pd.array(col, dtype=object)
    counts = [Counter(r.raw.enterprises.columns.get("category", ())) for _, r in rets]
    for c in form.enterprise_list.categories:
        cols[f"list_count__{c.id}"] = np.array([n.get(c.id, 0) for n in counts], dtype=np.int64)
    return pd.DataFrame(cols, index=index)


@dataclass(frozen=True)
class _CheckInfo:
    kind: str  # required | range | plausible | format | max_chars | headings | rule | formula
    field: str
    rule: Rule | None = None


def _interval_mask(f: Field, interval) -> Callable[[pd.Series], pd.Series]:
    def check(s: pd.Series) -> pd.Series:
        return s.map(lambda v: v is None or (isinstance(v, float) and math.isnan(v)) or interval.contains(v)).astype(bool)

    def check_num(s: pd.Series) -> pd.Series:
        v = s.to_numpy(dtype=float, na_value=np.nan)
        ok = np.ones(len(v), dtype=bool)
        with np.errstate(invalid="ignore"):
            if interval.low is not None:
                ok &= (v >= interval.low) if interval.low_closed else (v > interval.low)
            if interval.high is not None:
                ok &= (v <= interval.high) if interval.high_closed else (v < interval.high)
        return pd.Series(ok | np.isnan(v), index=s.index)

    return check_num if f.is_numeric else check


def _text_check(fn: Callable[[str], bool]) -> Callable[[pd.Series], pd.Series]:
    return lambda s: s.map(lambda v: v is None or (isinstance(v, float) and math.isnan(v)) or fn(str(v))).astype(bool)


def build_schema(form: Form, frame: pd.DataFrame, entered: pd.DataFrame, skip_required: pd.DataFrame,
                 format_bad: pd.DataFrame | None = None) -> tuple[pa.DataFrameSchema, dict[str, _CheckInfo]]:
    """The pandera schema of a category for this batch's frame. Cross-field rules and formula
    checks are column checks on their target column that read the batch frame they close over,
    so each failure is one row of failure_cases (not one per column of the frame). Phone and
    e-mail formats are judged per value while reading (normalize.FORMAT_CHECKS, in the workers);
    `format_bad` carries those verdicts, without it the check judges the values itself."""
    info: dict[str, _CheckInfo] = {}
    columns: dict[str, list[pa.Check]] = defaultdict(list)

    def add(fid: str, kind: str, fn, rule: Rule | None = None, key: str | None = None):
        code = f"{kind}|{key or fid}"
        info[code] = _CheckInfo(kind, fid, rule)
        columns[fid].append(pa.Check(fn, error=code, ignore_na=False))

    required = [f.id for f in form.fields.values() if f.required and not f.is_derived]
    # filled, or left for the finding that says why the value could not be read
    answered = _filled_frame(frame, required) | skip_required.reindex(columns=required, fill_value=False)
    for f in form.fields.values():
        if f.required and not f.is_derived:
            add(f.id, "required", lambda s, fid=f.id: answered[fid])
        if f.range is not None:
            add(f.id, "range", _interval_mask(f, f.range))
        if f.plausible is not None:
            add(f.id, "plausible", _interval_mask(f, f.plausible))
        if f.format in FORMAT_CHECKS:
            if format_bad is not None:
                add(f.id, f"format_{f.format}", lambda s, fid=f.id: ~format_bad[fid])
            else:
                add(f.id, f"format_{f.format}", _text_check(FORMAT_CHECKS[f.format]))
        if f.max_chars:
            add(f.id, "max_chars", _text_check(lambda t, n=f.max_chars: char_count(t) <= n))
        if f.headings:
            add(f.id, "headings", _text_check(lambda t, h=f.headings: all(x in t for x in h)))
        if f.is_derived and f.is_numeric:
            tol = f.tolerance or 0.0
            add(f.id, "formula", lambda s, fid=f.id, tol=tol: _formula_ok(entered[fid], frame[fid], tol))
    for rule in form.rules:
        add(rule.target, "rule", lambda s, r=rule: ~r.check.violations(frame), rule=rule, key=rule.key)
    schema = pa.DataFrameSchema({fid: pa.Column(checks=checks, nullable=True, required=False)
                                 for fid, checks in columns.items()}, coerce=False)
    return schema, info


def _filled_frame(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """True where a value is given (texts are stripped when read: normalize.read_value), for all the
    columns at once: numbers as one float block, everything else as one block of objects."""
    numeric = [c for c in columns if pd.api.types.is_numeric_dtype(frame[c].dtype)]
    other = [c for c in columns if c not in set(numeric)]
    out = np.zeros((len(frame), len(columns)), dtype=bool)
    pos = {c: k for k, c in enumerate(columns)}
    if numeric:
        out[:, [pos[c] for c in numeric]] = ~np.isnan(frame[numeric].to_numpy(dtype=float, na_value=np.nan))
    if other:
        values = frame[other].to_numpy(dtype=object)
        out[:, [pos[c] for c in other]] = ~pd.isna(values) & (values != "")
    return pd.DataFrame(out, index=frame.index, columns=columns)


def _formula_ok(entered: pd.Series, computed: pd.Series, tol: float) -> pd.Series:
    both = entered.notna() & computed.notna()
    return ~both | ((entered - computed).abs() <= tol + 1e-9 * computed.abs())


def view(frame: pd.DataFrame) -> pd.DataFrame:
    """What pandera validates: nothing is coerced, so no copy of the data (pandera's default), but
    a frame of its own, since pandera registers its schema on the frame until it is collected and
    the batch's frames live until the interpreter shuts down (where the registry is already gone)."""
    return frame.copy(deep=False)


def validate(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    try:
        schema.validate(view(frame), lazy=True, inplace=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        return fc[fc["index"].notna() & fc["check"].astype(str).str.contains("|", regex=False)]
    return pd.DataFrame(columns=["column", "check", "failure_case", "index"])


# ---- step 4: failures to findings --------------------------------------------------------------------
def _trap(f: Field, entered: float, computed: float) -> str:
    if not computed or not entered:
        return ""
    ratio = entered / computed
    for trap in f.traps:
        if abs(ratio / trap.factor - 1) < 0.03:
            return f"{trap.message}。"
    return ""


def findings_for(ret: CheckedReturn, form: Form, failed: list[str], info: dict[str, _CheckInfo],
                  entered: pd.DataFrame, i: int) -> None:
    for code in failed:
        ci = info[code]
        f = form.fields[ci.field]
        cell = ret.raw.cells.get(f.id)
        typed = display(cell.raw) if cell else ""
        base = ret.locate(f)
        if ci.kind == "required":
            ret.findings.append(F.make("required", **base))
        elif ci.kind == "range":
            ret.findings.append(F.make("range", value=typed or display(ret.values.get(f.id)),
                                       expected=f.range.describe(f.unit), **base))
        elif ci.kind == "plausible":
            value = ret.values.get(f.id)
            side = "low" if f.plausible.low is not None and value is not None and value <= f.plausible.low else "high"
            hint = dict(f.plausible_hints).get(side, "")
            ret.findings.append(F.make("plausible", value=typed or display(value), expected=f.plausible.describe(f.unit),
                                       hint=hint, **base))
        elif ci.kind in ("format_phone", "format_email"):
            ret.findings.append(F.make(ci.kind, value=typed, **base))
        elif ci.kind == "max_chars":
            text = str(ret.values.get(f.id) or "")
            ret.findings.append(F.make("max_chars", count=char_count(text), limit=f.max_chars,
                                       value=text[:40] + ("…" if len(text) > 40 else ""), expected=f"≤{f.max_chars}字",
                                       **base))
        elif ci.kind == "headings":
            text = str(ret.values.get(f.id) or "")
            missing = [h for h in f.headings if h not in text]
            ret.findings.append(F.make("report_headings", missing="、".join(missing), expected="、".join(f.headings),
                                       **base))
        elif ci.kind == "formula":
            value, computed = entered.at[i, f.id], ret.values.get(f.id)
            ret.findings.append(F.make("formula_mismatch", value=display(value), expected=display(round(computed, 4)),
                                       trap=_trap(f, value, computed), **base))
        elif ci.kind == "rule":
            rule = ci.rule
            values = "，".join(f"{form.fields[n].display_label}={display(ret.values.get(n))}"
                              for n in rule.check.names if n in form.fields)
            expected = rule.check.describe(lambda n: form.fields[n].display_label,
                                           lambda c: form.enterprise_list.category(c).label)
            ret.findings.append(Finding(code=rule.id, severity=rule.severity, message=rule.message,
                                        value=values, expected=expected, **{
                                            k: str(v) for k, v in base.items()}))


