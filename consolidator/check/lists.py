"""The enterprise lists of a batch, validated together: formats, duplicates, exclusive and expected
categories, and the same enterprise claimed by several parks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from sys import intern
from typing import NamedTuple

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ..findings import WARNING, Finding, make_finding
from ..rules.formats import industry_problem, uscc_problem
from ..rules.model import EnterpriseList, Form
from .checks import RowCheck, format_check
from .explain import explain_list
from .results import CheckedReturn
from .schema import validate


# ---- the frame and its schema ------------------------------------------------------------------
def list_frame(current: list[tuple[int, CheckedReturn]]) -> pd.DataFrame:
    """Every list row of the batch: the returns' normalised columns (read.normalize.normalise_list),
    concatenated, with the return's number (`ret`) and the worksheet row (`row`) of each (the sheet and
    column letters of a row are its return's: ret.raw.enterprises)."""
    rets = [(i, r.raw.enterprises) for i, r in current if r.raw.enterprises.rows]
    names = list(rets[0][1].columns) if rets else []
    ret_ids = np.concatenate([np.full(len(e.rows), i, dtype=np.int64) for i, e in rets]) if rets else []
    rows = [n for _, e in rets for n in e.rows]
    # texts as Python objects, said so: letting pandas infer a string dtype scans every column again
    block = np.empty((len(rows), len(names)), dtype=object)
    for k, name in enumerate(names):
        block[:, k] = [v for _, e in rets for v in e.columns[name]]
    frame = pd.DataFrame(block, columns=names, dtype=object, copy=False)
    frame.insert(0, "ret", np.asarray(ret_ids, dtype=np.int64))
    frame.insert(1, "row", np.array(rows, dtype=np.int64))
    return frame


@lru_cache(maxsize=8)
def list_schema(spec: EnterpriseList, rules_dir: str) -> pa.DataFrameSchema:
    """The list's columns as the rules declare them: `required` (the registered check `filled`), the
    choice of a category (a RowCheck: the text names a category of the form), and `format` (the
    registered uscc and industry checks)."""
    columns: dict[str, list[pa.Check]] = {}
    row_checks = []
    for c in spec.columns:
        text = text_column(c)
        if c.required:
            columns.setdefault(text, []).append(pa.Check.filled(error=f"{_REQUIRED}{c.id}", ignore_na=False))
        if c.format:
            columns.setdefault(c.id, []).append(format_check(c.format, rules_dir, ignore_na=False))
        if c.type == "choice":
            row_checks.append(RowCheck(lambda d, c=c: d[c.id].notna() | (d[text_column(c)] == ""), target=c.id,
                                       name="list_category", error="list_category"))
    return pa.DataFrameSchema({name: pa.Column(checks=checks, nullable=True) for name, checks in columns.items()},
                              checks=row_checks, name="enterprise_list")


_REQUIRED = "list_incomplete:"  # + the column id


def text_column(c) -> str:
    """The frame column holding a list column's text as typed (a choice column's own holds the id)."""
    return f"{c.id}_raw" if c.type == "choice" else c.id


# ---- failures to findings ----------------------------------------------------------------------------
def _list_cell(letters: dict[str, str], col: str, row: int) -> str:
    return f"{letters[col]}{row}" if col in letters else ""


def _list_located(ret: CheckedReturn, col: str, row: int) -> dict[str, str]:
    e = ret.raw.enterprises  # cells and labels repeat across a batch's lists: one object each (sys.intern)
    return dict(ret.locate(), sheet=e.sheet, cell=intern(_list_cell(e.letters, col, row)), field=f"list.{col}",
                label=intern(f"企业清单第{row}行"))


class _ListFailure(NamedTuple):
    row: pd.Series  # the list frame's row
    col: str  # the list column (rules: enterprise_list.columns[].id)
    label: str
    rules_dir: str

    @property
    def text(self) -> str:
        return self.row[self.col]


def _uscc_reason(c: _ListFailure) -> str:
    if c.row[c.col + "_numeric"]:
        return "以数字形式保存，后几位已丢失，请把单元格设为文本格式后重新填写"
    return uscc_problem(c.text)


def _industry_severity(text: str, rules_dir: str) -> str | None:
    """A name that is no section or division name may be a class name (not listed): a warning."""
    return WARNING if industry_problem(text, rules_dir) == "unknown" else None


# what fills each code's message template (catalogue: findings.CATALOGUE)
LIST_DETAILS = {
    "list_incomplete": lambda c: dict(missing=c.label),
    "list_category": lambda c: dict(value=c.row[c.col + "_raw"]),
    "format_uscc": lambda c: dict(value=c.text, reason=_uscc_reason(c)),
    "format_industry": lambda c: dict(value=c.text, severity=_industry_severity(c.text, c.rules_dir)),
}


def _schema_findings(lists: pd.DataFrame, failures: pd.DataFrame, current: dict[int, CheckedReturn],
                     spec: EnterpriseList, rules_dir: str) -> None:
    """Each failed list check as its finding: a missing value names the column as the rules label it."""
    labels = {c.id: c.label for c in spec.columns}
    for index, column, check in zip(failures["index"].tolist(), failures["column"].tolist(),
                                    failures["check"].tolist()):
        row = lists.loc[index]
        ret = current[row["ret"]]
        code, _, col = check.partition(":")
        col = col or column.removesuffix("_raw")
        details = LIST_DETAILS[code](_ListFailure(row, col, labels[col], rules_dir))
        ret.findings.append(make_finding(code, row=row["row"], **details, **_list_located(ret, col, row["row"])))


def check_lists(lists: pd.DataFrame, current: dict[int, CheckedReturn],
                forms: dict[str, Form]) -> dict[str, list[int]]:
    """The list findings of every current return; returns the enterprises claimed by several returns
    (credit code -> the returns' numbers in the batch)."""
    if lists.empty:
        return {}
    form = next(iter(forms.values()))  # the list is declared once, in common.yaml
    failures = validate(list_schema(form.enterprise_list, form.rules_dir), lists)
    _schema_findings(lists, failures, current, form.enterprise_list, form.rules_dir)
    key = form.enterprise_list.column("key")
    bad_code = set(failures.loc[(failures["check"] == "format_uscc") & (failures["column"] == key), "index"].tolist())
    shared = _across_rows(lists, bad_code, current, form.enterprise_list)
    for ret in current.values():  # a list row's 情况说明 explains its warnings
        explain_list(ret)
    return shared


def _across_rows(lists: pd.DataFrame, bad_code: set, current: dict[int, CheckedReturn],
                 spec: EnterpriseList) -> dict[str, list[int]]:
    """Duplicates, exclusive and expected categories within a return, and enterprises claimed by several."""
    k = _keyed(lists, bad_code, spec)

    def emit(code: str, item, col: str, **kw) -> Finding:
        ret = current[item.ret]
        ret.findings.append(make_finding(code, **kw, **_list_located(ret, col, item.row)))
        return ret.findings[-1]

    _duplicates(k, emit)
    _category_pairs(k, current, emit)
    return _claimed_by_several(k, current, emit)


@dataclass
class _Keyed:
    """The list rows that name a category and an enterprise, each enterprise keyed by its credit code (by
    its name where the code is not valid): one hashing pass over the texts, then every comparison is
    on integers (a national round lists most of a million rows)."""

    valid: pd.DataFrame  # ret, row, category, name, code (the columns of those roles), key, key_id, cat_id
    columns: dict[str, str]  # role -> the list's column (rules: enterprise_list.columns[].role)
    code_ok: np.ndarray
    cat_code: dict[str, int]
    pair: np.ndarray  # (return, enterprise) as one integer


def _keyed(lists: pd.DataFrame, bad_code: set, spec: EnterpriseList) -> _Keyed:
    columns = {role: spec.column(role) for role in ("category", "name", "key")}
    keep = lists[columns["category"]].notna().to_numpy() & (lists[columns["name"]].to_numpy() != "")
    valid = lists.loc[keep, ["ret", "row", columns["category"], columns["name"]]]
    valid.columns = ["ret", "row", "category", "name"]
    codes = lists.loc[keep, columns["key"]].to_numpy(dtype=object) if columns["key"] else np.full(len(valid), "")
    valid = valid.assign(code=codes)
    code_ok = (codes != "") & ~valid.index.isin(list(bad_code))
    key = codes.copy()
    key[~code_ok] = ["名称:" + n for n in valid["name"].to_numpy(dtype=object)[~code_ok]]
    key_id, keys = pd.factorize(key)
    cat_id, cats = pd.factorize(valid["category"])
    valid = valid.assign(key=key, key_id=key_id, cat_id=cat_id)
    pair = valid["ret"].to_numpy() * max(len(keys), 1) + key_id
    return _Keyed(valid, columns, code_ok, {c: i for i, c in enumerate(cats)}, pair)


def _duplicates(k: _Keyed, emit) -> None:
    """The same enterprise twice under one category of one return."""
    group = ["ret", "cat_id", "key_id"]
    dup = k.valid.duplicated(group, keep="first")
    if dup.any():
        first_row = k.valid.groupby(group, sort=False)["row"].transform("first")
        for row, other in zip(k.valid[dup].itertuples(), first_row[dup]):
            emit("list_duplicate", row, k.columns["name"], row=row.row, other=other, value=row.name)


def _category_pairs(k: _Keyed, current: dict[int, CheckedReturn], emit) -> None:
    """Categories that exclude each other, and titles expected to come with another (rules: exclusive,
    expected_subset), for the returns of each list declaration."""
    specs = list({id(r.form.enterprise_list): r.form.enterprise_list for r in current.values()}.values())
    which = np.zeros(max(current) + 1, dtype=np.int64)
    for i, r in current.items():
        which[i] = next(n for n, spec in enumerate(specs) if spec is r.form.enterprise_list)
    spec_of = which[k.valid["ret"].to_numpy()]
    cat_id = k.valid["cat_id"].to_numpy()

    def pair_in(rows: np.ndarray) -> np.ndarray:  # hashed (numpy's isin sorts)
        return pd.Series(k.pair, copy=False).isin(k.pair[rows]).to_numpy()

    for n, spec in enumerate(specs):
        def rows_of(c: str, mine: np.ndarray = spec_of == n) -> np.ndarray:
            return mine & (cat_id == k.cat_code.get(c, -2))

        for code, pairs, hit in (("list_exclusive", spec.exclusive, lambda a, b: rows_of(a) & pair_in(rows_of(b))),
                                 ("list_expected_subset", spec.expected_subset,
                                  lambda a, b: rows_of(a) & ~pair_in(rows_of(b)))):
            for a, b in pairs:
                for row in k.valid[hit(a, b)].itertuples():
                    emit(code, row, k.columns["name"], value=row.name, a=spec.category(a).label,
                         b=spec.category(b).label)


def _claimed_by_several(k: _Keyed, current: dict[int, CheckedReturn], emit) -> dict[str, list[int]]:
    """The same credit code in the lists of several returns: one finding per return and enterprise that
    says how many other parks claim it (never which: a park learns nothing of another), and the returns
    of each such code, kept once per enterprise for the office (report, summary)."""
    coded = k.code_ok & ~pd.Series(k.pair).duplicated().to_numpy()
    shared = coded.copy()
    shared[coded] = pd.Series(k.valid["key_id"].to_numpy()[coded]).duplicated(keep=False).to_numpy()
    if not shared.any():
        return {}
    shared = k.valid[shared]
    rets_of = shared.groupby("key", sort=False)["ret"].agg(list).to_dict()
    said: dict[str, str] = {}  # an enterprise's message is the same in every park's finding: made once
    for row in shared.itertuples():
        message = said.get(row.key)
        f = emit("enterprise_in_two_parks", row, k.columns["key"], value=row.name, credit_code=row.key,
                 count=len(rets_of[row.key]) - 1)
        if message is None:
            said[row.key] = f.message
        else:
            current[row.ret].findings[-1] = replace(f, message=message)
    return rets_of
