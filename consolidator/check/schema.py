"""One pandera schema per Form, built once from the rules, and the frame it validates.

The frame has a row per return and a column per field: typed values as the reading workers made
them, computed fields recomputed from their parts (what the park entered where the parts are
missing), plus `<field>__entered` (what the park's workbook holds in a computed cell) and
`list_count__<category>` (the rows of each category in the enterprise list). Everything a check
needs is in the frame, so a schema exists without a batch and can be tried on a hand-made frame.

What each field's declaration implies is a column check: `required` is pandera's own null check,
`range` and `plausible` its comparisons, `format`, `max_chars` and `headings` registered checks
(check/checks.py). A cross-field rule is a RowCheck named by its rule id; the recomputation of a
footnote formula is a RowCheck named `formula_mismatch`. Every check's `error` says which finding
it gives (check/failures.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ..returns import TextCodes, value_rows
from ..rules.model import Field, Form, Rule
from .checks import RowCheck, format_check, interval_checks
from .derive import recompute
from .results import CheckedReturn

ENTERED = "__entered"  # suffix of the column holding what the park's workbook holds in a computed cell
FORMULA = "formula_mismatch"
REQUIRED = "not_nullable"  # pandera's name for a null in a column that may not have one


@dataclass(eq=False)
class FormSchema:
    """A Form's pandera schema and what its failures mean: `rules` by rule key (a rule's check error),
    `formulas` by check error, and `order`: each check's place in the form (field by field, a field's
    own checks before the rules on it), which orders the findings of one cell."""

    form: Form
    schema: pa.DataFrameSchema
    rules: dict[str, Rule] = field(default_factory=dict)
    formulas: dict[str, str] = field(default_factory=dict)  # check error -> field id
    order: dict[tuple[str, str], int] = field(default_factory=dict)  # (column, check error) -> rank


_SCHEMAS: WeakKeyDictionary[Form, FormSchema] = WeakKeyDictionary()


def form_schema(form: Form) -> FormSchema:
    """The schema of `form`, built on first use and kept as long as the form (warm_up builds them while
    the workers read)."""
    known = _SCHEMAS.get(form)
    if known is None:
        known = _SCHEMAS[form] = _build(form)
    return known


def _build(form: Form) -> FormSchema:
    columns: dict[str, list[pa.Check]] = {}
    nullable: dict[str, bool] = {}
    out = FormSchema(form, pa.DataFrameSchema())
    seq: dict[tuple[str, str], int] = {}
    row_checks: list[RowCheck] = []
    for f in form.fields.values():
        own = _field_checks(f, form.rules_dir)
        if own or (f.required and not f.is_derived):
            columns.setdefault(f.id, [])
        if f.required and not f.is_derived:
            nullable[f.id] = False
            seq[(f.id, REQUIRED)] = len(seq)
        for check in own:
            columns[f.id].append(check)
            seq[(f.id, check.error)] = len(seq)
        if f.is_derived and f.is_numeric:
            error = f"{FORMULA}:{f.id}"
            out.formulas[error] = f.id
            row_checks.append(RowCheck(_formula_ok(f), target=f.id, name=FORMULA, error=error))
            columns.setdefault(f.id, [])
            seq[(f.id, error)] = len(seq)
    for rule in form.rules:
        out.rules[rule.key] = rule
        row_checks.append(RowCheck(_rule_ok(rule), target=rule.target, name=rule.id, error=rule.key))
        columns.setdefault(rule.target, [])
        seq[(rule.target, rule.key)] = len(seq)
    out.schema = pa.DataFrameSchema(
        {fid: pa.Column(checks=checks, nullable=nullable.get(fid, True), required=False)
         for fid, checks in columns.items()}, checks=row_checks, coerce=False, name=form.category_id)
    out.order = _ranks(seq, list(columns))
    return out


def _field_checks(f: Field, rules_dir: str) -> list[pa.Check]:
    """The checks a field's declaration implies (other than required)."""
    checks = []
    if f.range is not None:
        checks += interval_checks(f.range, "range")
    if f.plausible is not None:
        checks += interval_checks(f.plausible, "plausible")
    if f.format:
        checks.append(format_check(f.format, rules_dir))
    if f.max_chars:
        checks.append(pa.Check.max_chars(limit=f.max_chars, error="max_chars"))
    if f.headings:
        checks.append(pa.Check.contains_all(words=tuple(f.headings), error="report_headings"))
    return checks


def _ranks(seq: dict[tuple[str, str], int], columns: list[str]) -> dict[tuple[str, str], int]:
    """Column by column (in the order columns first appear), each column's checks in the order added."""
    at = {c: i for i, c in enumerate(columns)}
    return {key: k for k, key in enumerate(sorted(seq, key=lambda key: (at[key[0]], seq[key])))}


def _formula_ok(f: Field):
    tol = (f.tolerance or 0.0)

    def ok(frame: pd.DataFrame) -> pd.Series:
        entered = frame[f.id + ENTERED].to_numpy(dtype=float, na_value=np.nan)
        computed = frame[f.id].to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            good = ~(np.abs(entered - computed) > tol + 1e-9 * np.abs(computed))
        return pd.Series(good, index=frame.index)

    return ok


def _rule_ok(rule: Rule):
    return lambda frame: ~rule.check.violations(frame)


# ---- the frame ----------------------------------------------------------------------------------------
def frame_of(form: Form, rets: list[tuple[int, CheckedReturn]]) -> pd.DataFrame:
    """A row per return (index: its number in the batch), a column per field as entered (numbers as
    float64, everything else as Python objects) and per list category (its number of rows)."""
    index = [i for i, _ in rets]
    fids = list(form.fields)
    table = zip(*value_rows([r.values for _, r in rets], fids))  # read row by row (each return once), then turned
    cols: dict[str, Any] = {}
    for f, col in zip(form.fields.values(), table):
        if f.is_numeric:
            try:
                cols[f.id] = np.array(col, dtype=float)  # (None becomes NaN)
            except (TypeError, ValueError):
                cols[f.id] = pd.to_numeric(pd.Series(col, dtype=object), errors="coerce").to_numpy(dtype=float)
        else:  # said to be objects: pandas would infer its string dtype, a copy of every text (Arrow's, with pyarrow)
            cols[f.id] = pd.Series(col, index=index, dtype=object)
    category = form.enterprise_list.column("category")
    counts = _counted([r.raw.enterprises.columns.get(category, ()) for _, r in rets],
                      [c.id for c in form.enterprise_list.categories])
    for c in form.enterprise_list.categories:
        cols[f"list_count__{c.id}"] = counts[c.id]
    return pd.DataFrame(cols, index=index)


def _counted(columns: list, ids: list[str]) -> dict[str, np.ndarray]:
    """How many rows of each return's list column hold each of `ids`: columns that are TextCodes of one table
    (as the main process keeps them) counted by their numbers all at once, others text by text."""
    joined = TextCodes.joined(columns)
    if joined is None:
        counts = [Counter(c) for c in columns]
        return {cid: np.array([n.get(cid, 0) for n in counts], dtype=np.int64) for cid in ids}
    table, codes = joined
    owner = np.repeat(np.arange(len(columns)), [len(c) for c in columns])
    number = {text: k for k, text in enumerate(table) if text in ids}
    return {cid: np.bincount(owner[codes == number[cid]], minlength=len(columns)) if cid in number
            else np.zeros(len(columns), dtype=np.int64) for cid in ids}


def with_recomputed(form: Form, entered: pd.DataFrame) -> pd.DataFrame:
    """The frame the schema validates: computed fields recomputed from their parts (what the park
    entered where the parts are missing), and what was entered beside each computed number."""
    frame = recompute(form, entered)
    for f in form.derived_fields():
        if f.is_numeric:
            frame[f.id] = frame[f.id].fillna(entered[f.id])
            frame[f.id + ENTERED] = entered[f.id]
        else:
            frame[f.id] = frame[f.id].where(frame[f.id].notna(), entered[f.id])
    return frame


# ---- validation ----------------------------------------------------------------------------------------
def view(frame: pd.DataFrame) -> pd.DataFrame:
    """What pandera validates: nothing is coerced, so no copy of the data (pandera's default), but
    a frame of its own, since pandera registers its schema on the frame until it is collected and
    the batch's frames live until the interpreter shuts down (where the registry is already gone)."""
    return frame.copy(deep=False)


def validate(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    """Every failure of one lazy pass: a row per (return, check) with its column and check error."""
    try:
        schema.validate(view(frame), lazy=True, inplace=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        broken = fc[fc["index"].isna()]
        if len(broken):  # a check that raised, or failed as a whole: a bug, never a park's mistake
            raise RuntimeError(f"{schema.name}: checks failed without rows: "
                               + "; ".join(f"{c} {v}" for c, v in zip(broken["check"], broken["failure_case"])))
        return fc
    return pd.DataFrame(columns=["column", "check", "failure_case", "index"])
