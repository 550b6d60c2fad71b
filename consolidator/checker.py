"""Check a batch of returns: the pure core (no file access, no printing).

read (reader.py) -> check (this module) -> report / summarize

The returns of a batch become one frame per category (a row per return, a column per field);
the rules of rules/ are compiled into one pandera schema per category and the whole frame is
validated in one lazy pass. Enterprise lists are validated the same way, all rows of all returns
at once. Every failure becomes a Finding located to the sheet and cell where the park will find it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Callable

import numpy as np
import pandas as pd
import pandera.pandas as pa

from . import findings as F
from .compute import recompute
from .expr import is_missing
from .findings import ERROR, EXPLAINED, INFO, WARNING, Finding, display
from .form import Field, Form, Rule
from .normalize import FORMAT_CHECKS, industry_problem, nfkc, normalise_return
from .reader import RawReturn
from .roster import Park, park_key

STATUS_PASSED, STATUS_WARNINGS, STATUS_ERRORS = "通过", "有警告", "有错误"
STATUS_UNREADABLE, STATUS_SUPERSEDED, STATUS_MISSING = "无法读取", "已被替代", "未提交"
STATUSES = (STATUS_PASSED, STATUS_WARNINGS, STATUS_ERRORS, STATUS_UNREADABLE, STATUS_SUPERSEDED, STATUS_MISSING)

# words that say only "the data is right": an explanation made of nothing else explains nothing
_NON_EXPLANATION = re.compile(
    r"(经|已|再次|重新|认真|反复)?(核实|核查|核对|确认|复核|检查)?(过)?(该|此|以上|上述|本项)?(数据|数值|情况|填报|填写)?"
    r"(无误|无问题|没有问题|准确|正确|属实|真实|无差错|无错误|可靠)?")


def is_explanation(text: str | None) -> bool:
    """True when the 情况说明 gives a reason, not just "核实无误"."""
    if text is None:
        return False
    core = re.sub(r"[\s\W_]+", "", nfkc(str(text)))
    if len(core) < 4:
        return False
    rest = core
    while rest:
        m = _NON_EXPLANATION.match(rest)
        if not m or m.end() == 0:
            break
        rest = rest[m.end():]
    return len(rest) >= 4


@dataclass
class CheckedReturn:
    raw: RawReturn
    form: Form | None
    park: Park | None = None
    park_name: str = ""
    city: str = ""
    status: str = ""
    superseded_by: str | None = None
    values: dict[str, Any] = field(default_factory=dict)  # typed values (derived: recomputed)
    findings: list[Finding] = field(default_factory=list)
    fill_date: dt.date | None = None

    @property
    def file(self) -> str:
        return self.raw.source.display

    @property
    def current(self) -> bool:
        return self.status not in (STATUS_SUPERSEDED, STATUS_UNREADABLE)

    def counts(self) -> dict[str, int]:
        out = {ERROR: 0, WARNING: 0, EXPLAINED: 0, INFO: 0}
        for f in self.findings:
            out[f.severity] += 1
        return out


@dataclass
class ParkStatus:
    key: str
    name: str
    city: str
    category: str
    park: Park | None
    status: str
    current: CheckedReturn | None
    files: list[CheckedReturn]


@dataclass
class BatchResult:
    returns: list[CheckedReturn]
    parks: list[ParkStatus]
    findings: list[Finding]
    skipped: list[Finding]
    frames: dict[str, pd.DataFrame]  # category -> typed values of the current returns (index: return no.)
    lists: pd.DataFrame  # every list row of the current returns

    @property
    def exit_code(self) -> int:
        bad = any(r.status in (STATUS_ERRORS, STATUS_UNREADABLE) for r in self.returns)
        return 1 if bad else 0

    def status_counts(self) -> dict[str, int]:
        counts = {s: 0 for s in STATUSES}
        for p in self.parks:
            counts[p.status] += 1
        counts[STATUS_SUPERSEDED] = sum(r.status == STATUS_SUPERSEDED for r in self.returns)
        return counts


# ---- step 1: normalise each return ----------------------------------------------------------------
def _base(ret: CheckedReturn, f: Field | None = None) -> dict[str, Any]:
    out = dict(file=ret.file, park=ret.park_name, city=ret.city,
               category=ret.form.category_name if ret.form else "")
    if f is not None:
        cell = ret.raw.cells.get(f.id)
        out.update(field=f.id, label=f.display_label, sheet=cell.sheet if cell else "", cell=cell.coord if cell else "")
    return out


def _normalise(ret: CheckedReturn) -> None:
    """Typed values (normally made by the reading workers; made here for a return built in memory)."""
    raw = ret.raw
    if raw.values is None:
        normalise_return(raw, ret.form)  # the enterprise list with it
    ret.values = raw.values  # adopted, not copied: the recomputed derived values are added to it


# ---- step 2: which return of a park counts ------------------------------------------------------------
def _attach_parks(checked: list[CheckedReturn], roster: list[Park] | None) -> None:
    by_id = {p.park_id: p for p in roster or []}
    by_name = {park_key(p.name): p for p in roster or []}
    for ret in checked:
        park = None
        if ret.raw.park_id and ret.raw.park_id in by_id:
            park = by_id[ret.raw.park_id]
        name = ret.values.get("park_name") if ret.form else None
        if park is None and name:
            park = by_name.get(park_key(name))
        if park is None and not ret.raw.readable:
            hits = [p for p in roster or [] if park_key(p.name) in park_key(ret.file)]
            park = max(hits, key=lambda p: len(p.name)) if hits else None
        ret.park = park
        ret.park_name = park.name if park else (name or "")
        ret.city = park.city if park else str(ret.values.get("province_city") or "")
        fill = ret.values.get("fill_date")
        ret.fill_date = fill if isinstance(fill, dt.date) else None


def _newest_wins(checked: list[CheckedReturn]) -> None:
    groups: dict[str, list[CheckedReturn]] = defaultdict(list)
    for ret in checked:
        if ret.raw.readable:
            key = ret.park.park_id if ret.park else "name:" + park_key(ret.park_name or ret.file)
            groups[key].append(ret)
    for rets in groups.values():
        rets.sort(key=lambda r: (r.fill_date or dt.date.min, r.raw.source.mtime, r.file))
        newest = rets[-1]
        for old in rets[:-1]:
            old.status = STATUS_SUPERSEDED
            old.superseded_by = newest.file
            old.findings = [F.make("superseded", newer=newest.file, **_base(old))]


# ---- step 3: one frame and one schema per category ----------------------------------------------------
def _frame(form: Form, rets: list[tuple[int, CheckedReturn]]) -> pd.DataFrame:
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


def char_count(text: str) -> int:
    """Characters other than whitespace (str.split's whitespace is the regex \\s)."""
    return sum(map(len, text.split()))


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


def _view(frame: pd.DataFrame) -> pd.DataFrame:
    """What pandera validates: nothing is coerced, so no copy of the data (pandera's default), but
    a frame of its own, since pandera registers its schema on the frame until it is collected and
    the batch's frames live until the interpreter shuts down (where the registry is already gone)."""
    return frame.copy(deep=False)


def _validate(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    try:
        schema.validate(_view(frame), lazy=True, inplace=True)
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


def _findings_for(ret: CheckedReturn, form: Form, failed: list[str], info: dict[str, _CheckInfo],
                  entered: pd.DataFrame, i: int) -> None:
    for code in failed:
        ci = info[code]
        f = form.fields[ci.field]
        cell = ret.raw.cells.get(f.id)
        typed = display(cell.raw) if cell else ""
        base = _base(ret, f)
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


def _explain(ret: CheckedReturn, form: Form) -> None:
    """A warning on a row whose 情况说明 gives a reason is explained; "核实无误" is not a reason."""
    out, invalid = [], set()
    for f in ret.findings:
        note_field = form.fields[f.field].note_field if f.field in form.fields else None
        if f.severity == WARNING and note_field:
            note = ret.values.get(note_field)
            if is_explanation(note):
                f = Finding(**{**f.as_dict(), "severity": EXPLAINED, "message": f.message + f"（已说明：{note}）"})
            elif note and note_field not in invalid:
                invalid.add(note_field)
                nf = form.fields[note_field]
                out.append(F.make("explanation_invalid", value=str(note), **_base(ret, nf)))
        out.append(f)
    ret.findings = out


# ---- enterprise lists --------------------------------------------------------------------------------
def _list_frame(current: list[tuple[int, CheckedReturn]]) -> pd.DataFrame:
    """Every list row of the batch: the returns' normalised columns, concatenated (a row's sheet
    and column letters are its return's: ret.raw.enterprises)."""
    names = ("category_raw", "category", "category_label", "name", "credit_code", "code_problem", "industry")
    ret_ids: list[int] = []
    rows: list[int] = []
    numeric: list[bool] = []
    texts: dict[str, list] = {k: [] for k in names}
    for i, ret in current:
        e = ret.raw.enterprises
        if not e.rows:
            continue
        ret_ids.extend([i] * len(e.rows))
        rows.extend(e.rows)
        numeric.extend(e.columns["code_numeric"])
        for k in names:
            texts[k].extend(e.columns[k])
    # texts as Python objects, said so: letting pandas infer a string dtype scans every column again
    block = np.empty((len(rows), len(names)), dtype=object)
    for k, name in enumerate(names):
        block[:, k] = texts[name]
    frame = pd.DataFrame(block, columns=list(names), dtype=object, copy=False)
    frame.insert(0, "ret", np.array(ret_ids, dtype=np.int64))
    frame.insert(1, "row", np.array(rows, dtype=np.int64))
    frame.insert(2, "code_numeric", np.array(numeric, dtype=bool))
    return frame


def _list_cell(letters: dict[str, str], col: str, row: int) -> str:
    return f"{letters[col]}{row}" if col in letters else ""


def _industry_ok(s: pd.Series) -> pd.Series:
    """GB/T 4754 codes and names, judged once per distinct text (a list repeats a few dozen of them)."""
    good = [t for t in s.unique() if isinstance(t, str) and industry_problem(t) is None]
    return s.isin(good)


LIST_SCHEMA = pa.DataFrameSchema({
    "category": pa.Column(checks=[pa.Check(lambda s: s.notna(), error="list_category", ignore_na=False)],
                          nullable=True),
    "name": pa.Column(checks=[pa.Check(lambda s: pd.Series(s.to_numpy() != "", index=s.index), error="list_incomplete",
                                       ignore_na=False)]),
    "code_problem": pa.Column(checks=[pa.Check(lambda s: s.isna(), error="format_uscc", ignore_na=False)],
                              nullable=True),
    "industry": pa.Column(checks=[pa.Check(lambda s: _industry_ok(s), error="format_industry", ignore_na=False)]),
})


def warm_up() -> None:
    """Load what pandera loads on its first validation (its pandas backends), ahead of the batch."""
    LIST_SCHEMA.validate(pd.DataFrame({"category": ["x"], "name": ["x"], "code_problem": [None], "industry": ["C39"]}))


def _check_lists(lists: pd.DataFrame, current: dict[int, CheckedReturn]) -> None:
    if lists.empty:
        return
    try:
        LIST_SCHEMA.validate(_view(lists), lazy=True, inplace=True)
        failures = pd.DataFrame(columns=["index", "check"])
    except pa.errors.SchemaErrors as exc:
        failures = exc.failure_cases
        failures = failures[failures["index"].notna()]
    for _, fail in failures.iterrows():
        row = lists.loc[fail["index"]]
        ret = current[row["ret"]]
        code = fail["check"]
        col = {"list_category": "category", "list_incomplete": "name", "format_uscc": "credit_code",
               "format_industry": "industry"}[code]
        e = ret.raw.enterprises
        base = dict(_base(ret), sheet=e.sheet, cell=_list_cell(e.letters, col, row["row"]),
                    field=f"list.{col}", label=f"企业清单第{row['row']}行")
        if code == "list_category":
            if not row["category_raw"]:
                ret.findings.append(F.make("list_incomplete", row=row["row"], missing="企业类别", **base))
            else:
                ret.findings.append(F.make("list_category", row=row["row"], value=row["category_raw"], **base))
        elif code == "list_incomplete":
            ret.findings.append(F.make("list_incomplete", row=row["row"], missing="企业名称", **base))
        elif code == "format_uscc":
            if row["credit_code"] == "":
                ret.findings.append(F.make("list_incomplete", row=row["row"], missing="统一社会信用代码", **base))
            elif row["code_numeric"]:
                ret.findings.append(F.make("format_uscc", value=row["credit_code"], reason="以数字形式保存，后几位已丢失，"
                                           "请把单元格设为文本格式后重新填写", **base))
            else:
                ret.findings.append(F.make("format_uscc", value=row["credit_code"], reason=row["code_problem"], **base))
        elif code == "format_industry":
            if not row["industry"]:
                ret.findings.append(F.make("list_incomplete", row=row["row"], missing="行业分类", **base))
            else:
                kind = industry_problem(row["industry"])
                ret.findings.append(F.make("format_industry", value=row["industry"],
                                           severity=WARNING if kind == "unknown" else None, **base))
    keep = lists["category"].notna().to_numpy() & (lists["name"].to_numpy() != "")
    valid = lists.loc[keep, ["ret", "row", "category", "name", "credit_code", "code_problem"]]
    code_ok = valid["code_problem"].isna().to_numpy()
    key = valid["credit_code"].to_numpy(dtype=object, copy=True)
    key[~code_ok] = ["名称:" + n for n in valid["name"].to_numpy(dtype=object)[~code_ok]]
    # one hashing pass over the texts; every comparison below is on integers
    key_id, keys = pd.factorize(key)
    cat_id, cats = pd.factorize(valid["category"])
    valid = valid.assign(key=key, key_id=key_id, cat_id=cat_id)
    cat_code = {c: k for k, c in enumerate(cats)}
    pair = valid["ret"].to_numpy() * max(len(keys), 1) + key_id  # (return, enterprise) as one integer

    def list_finding(code: str, item, col: str, **kw) -> None:
        ret = current[item.ret]
        e = ret.raw.enterprises
        ret.findings.append(F.make(code, **kw, **dict(_base(ret), sheet=e.sheet,
                                                     cell=_list_cell(e.letters, col, item.row),
                                                     field=f"list.{col}", label=f"企业清单第{item.row}行")))

    # duplicates within a return and category (vectorised: lists hold tens of thousands of rows)
    group = ["ret", "cat_id", "key_id"]
    dup = valid.duplicated(group, keep="first")
    if dup.any():
        first_row = valid.groupby(group, sort=False)["row"].transform("first")
        for row, other in zip(valid[dup].itertuples(), first_row[dup]):
            list_finding("list_duplicate", row, "name", row=row.row, other=other, value=row.name)
    # categories that exclude each other, and titles expected to come with another
    specs = list({id(r.form.enterprise_list): r.form.enterprise_list for r in current.values()}.values())
    which = np.zeros(max(current) + 1, dtype=np.int64)
    for i, r in current.items():
        which[i] = next(k for k, spec in enumerate(specs) if spec is r.form.enterprise_list)
    spec_of = which[valid["ret"].to_numpy()]
    for k, spec in enumerate(specs):
        mine = spec_of == k

        def rows_of(c: str, mine: np.ndarray = mine) -> np.ndarray:
            return mine & (cat_id == cat_code.get(c, -2))

        def pair_in(rows: np.ndarray) -> np.ndarray:  # hashed (numpy's isin sorts)
            return pd.Series(pair, copy=False).isin(pair[rows]).to_numpy()

        for a, b in spec.exclusive:
            both = rows_of(a) & pair_in(rows_of(b))
            for row in valid[both].itertuples():
                list_finding("list_exclusive", row, "name", value=row.name, a=spec.category(a).label,
                             b=spec.category(b).label)
        for a, b in spec.expected_subset:
            alone = rows_of(a) & ~pair_in(rows_of(b))
            for row in valid[alone].itertuples():
                list_finding("list_expected_subset", row, "name", value=row.name, a=spec.category(a).label,
                             b=spec.category(b).label)
    # the same enterprise claimed by two parks: one row per park and code, then a repeated code
    coded = code_ok & ~pd.Series(pair).duplicated().to_numpy()
    shared = coded.copy()
    shared[coded] = pd.Series(key_id[coded]).duplicated(keep=False).to_numpy()
    if shared.any():
        shared = valid[shared]
        rets_of = shared.groupby("key")["ret"].agg(list).to_dict()
        for row in shared.itertuples():
            others = "、".join(current[o].park_name or current[o].file for o in rets_of[row.key] if o != row.ret)
            list_finding("enterprise_in_two_parks", row, "credit_code", value=row.name, credit_code=row.key,
                         others=others)


# ---- the batch ---------------------------------------------------------------------------------------
def check_batch(raws: list[RawReturn], forms: dict[str, Form], roster: list[Park] | None = None,
                skipped: list[Finding] | None = None) -> BatchResult:
    """Check every return of a batch together. Pure: reads nothing, writes nothing."""
    checked: list[CheckedReturn] = []
    for raw in raws:
        ret = CheckedReturn(raw, forms.get(raw.category) if raw.category else None)
        if raw.readable and ret.form is not None:
            _normalise(ret)
        else:
            ret.status = STATUS_UNREADABLE
        ret.findings = list(raw.findings)
        checked.append(ret)
    _attach_parks(checked, roster)
    for ret in checked:  # the findings of reading were made before the park was known
        ret.findings = [Finding(**{**f.as_dict(), "park": ret.park_name, "city": ret.city,
                                   "category": ret.form.category_name if ret.form else ""}) for f in ret.findings]
    _newest_wins(checked)

    current = [(i, r) for i, r in enumerate(checked) if r.raw.readable and r.status != STATUS_SUPERSEDED]
    frames: dict[str, pd.DataFrame] = {}
    for cid, form in forms.items():
        rets = [(i, r) for i, r in current if r.form is form]
        if not rets:
            continue
        entered = _frame(form, rets)
        frame = recompute(form, entered)
        for f in form.derived_fields():  # keep what the park entered where the parts are missing
            if f.is_numeric:
                frame[f.id] = frame[f.id].fillna(entered[f.id])
            else:
                frame[f.id] = frame[f.id].where(frame[f.id].notna(), entered[f.id])
        skip = _flags(rets, list(form.fields), lambda r: r.raw.unreadable)
        bad = _flags(rets, [fid for fid, f in form.fields.items() if f.format in FORMAT_CHECKS],
                     lambda r: r.raw.format_bad)
        schema, info = build_schema(form, frame, entered, skip, bad)
        failures = _validate(schema, frame)
        by_ret: dict[int, list[str]] = defaultdict(list)
        for k, code in zip(failures["index"].tolist(), failures["check"].tolist()):
            by_ret[int(k)].append(code)
        derived = [f.id for f in form.derived_fields()]
        recomputed = zip(*[[None if is_missing(v) else v for v in frame[fid].tolist()] for fid in derived])
        not_calculated = _not_calculated(form, entered, frame)
        for (i, ret), values in zip(rets, recomputed):  # the frame's rows are the returns, in order
            ret.values.update(zip(derived, values))
            if not_calculated[i]:
                ret.findings.append(F.make("formula_not_calculated", **_base(ret)))
            if i in by_ret:
                _findings_for(ret, form, by_ret[i], info, entered, i)
            _explain(ret, form)
        frames[cid] = frame
    lists = _list_frame(current)
    _check_lists(lists, dict(current))
    batch_findings = _roster_findings(checked, roster, forms)
    for ret in checked:
        if ret.status:
            continue
        sev = {f.severity for f in ret.findings}
        ret.status = STATUS_ERRORS if ERROR in sev else STATUS_WARNINGS if WARNING in sev else STATUS_PASSED
        order = {t: i for i, t in enumerate(_sheet_order(ret))}
        ret.findings.sort(key=lambda f: (F.SEVERITY_ORDER[f.severity], order.get(f.sheet, len(order)),
                                         _cell_order(f.cell)))
    parks = _park_statuses(checked, roster, forms)
    all_findings = [f for r in checked for f in r.findings] + batch_findings
    return BatchResult(checked, parks, all_findings, list(skipped or []), frames, lists)


def _sheet_order(ret: CheckedReturn) -> list[str]:
    """The park's sheet names in the order of the form (its own names, where it renamed them)."""
    if ret.form is None:
        return []
    seen = dict.fromkeys(map(_SHEET, ret.raw.cells.values()))  # the reader keeps the form's order
    if ret.raw.enterprises.rows:
        seen.setdefault(ret.raw.enterprises.sheet, None)
    return list(seen)


_SHEET = attrgetter("sheet")


def _cell_order(cell: str) -> tuple[int, str]:
    m = re.match(r"([A-Z]+)(\d+)", cell or "")
    return (int(m.group(2)), m.group(1)) if m else (0, "")


def _not_calculated(form: Form, entered: pd.DataFrame, frame: pd.DataFrame) -> pd.Series:
    """Returns whose formula cells hold no values although their parts are filled: the workbook was
    saved by a program that does not calculate (its cached results are empty)."""
    derived = [f.id for f in form.derived_fields() if f.is_numeric]
    if not derived:
        return pd.Series(False, index=frame.index)
    return entered[derived].isna().all(axis=1) & frame[derived].notna().any(axis=1)


def _flags(rets: list[tuple[int, CheckedReturn]], columns: list[str], which) -> pd.DataFrame:
    """A boolean frame (return x field), True where `which(return)` names the field: built from the
    few names each return gives, not by asking every return about every field."""
    pos = {fid: k for k, fid in enumerate(columns)}
    out = np.zeros((len(rets), len(columns)), dtype=bool)
    for row, (_, ret) in enumerate(rets):
        for fid in which(ret):
            if fid in pos:
                out[row, pos[fid]] = True
    return pd.DataFrame(out, index=[i for i, _ in rets], columns=columns)


def _roster_findings(checked: list[CheckedReturn], roster: list[Park] | None, forms: dict[str, Form]) -> list[Finding]:
    out: list[Finding] = []
    if roster is None:
        return out
    for ret in checked:
        if ret.status == STATUS_SUPERSEDED or not ret.raw.readable:
            continue
        if ret.park is None:
            ret.findings.append(F.make("park_not_in_roster", value=ret.park_name or ret.file, **_base(ret)))
        elif ret.form and ret.park.category and ret.park.category != ret.form.category_id:
            ret.findings.append(F.make("category_mismatch", value=ret.form.category_name,
                                       expected=forms[ret.park.category].category_name, **_base(ret)))
    seen = {r.park.park_id for r in checked if r.park}
    for park in roster:
        if park.park_id not in seen:
            out.append(F.make("not_submitted", value=park.name, park=park.name, city=park.city,
                              category=forms[park.category].category_name if park.category in forms else ""))
    return out


def _park_statuses(checked: list[CheckedReturn], roster: list[Park] | None, forms) -> list[ParkStatus]:
    groups: dict[str, list[CheckedReturn]] = defaultdict(list)
    for ret in checked:
        key = ret.park.park_id if ret.park else ("name:" + park_key(ret.park_name) if ret.park_name else "file:" + ret.file)
        groups[key].append(ret)
    out = []
    for key, rets in groups.items():
        cur = next((r for r in rets if r.current), None)
        status = cur.status if cur else (STATUS_UNREADABLE if any(r.status == STATUS_UNREADABLE for r in rets)
                                         else STATUS_SUPERSEDED)
        first = cur or rets[0]
        cat = first.form.category_name if first.form else (forms[first.park.category].category_name
                                                             if first.park and first.park.category in forms else "")
        out.append(ParkStatus(key, first.park_name or first.file, first.city, cat, first.park, status, cur, rets))
    for park in roster or []:
        if park.park_id not in groups:
            cat = forms[park.category].category_name if park.category in forms else ""
            out.append(ParkStatus(park.park_id, park.name, park.city, cat, park, STATUS_MISSING, None, []))
    order = {p.park_id: p.row for p in roster or []}
    out.sort(key=lambda p: (order.get(p.park.park_id, 10**9) if p.park else 10**9, p.name))
    return out
