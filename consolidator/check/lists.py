"""The enterprise lists of a batch, validated together: formats, duplicates, exclusive and expected
categories, and the same enterprise claimed by several parks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from sys import intern
from typing import NamedTuple

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute

from ..findings import WARNING, Finding, make_finding
from ..returns import TextCodes
from ..rules.formats import industry_problem, uscc_problem
from ..rules.model import EnterpriseList, Form
from .checks import RowCheck, format_check, has_text
from .explain import explain_list
from .results import CheckedReturn
from .schema import validate


# ---- the frame and its schema ------------------------------------------------------------------
def list_frame(current: list[tuple[int, CheckedReturn]]) -> pd.DataFrame:
    """Every list row of the batch: the returns' normalised columns (read.normalize.normalise_list),
    concatenated, with the return's number (`ret`) and the worksheet row (`row`) of each (the sheet and
    column letters of a row are its return's: ret.raw.enterprises). A column the returns hold as pyarrow
    arrays becomes an Arrow column made of those arrays (no copy); a flag column, numpy booleans; a column of
    repeated texts the returns hold as TextCodes, a Categorical (where it has no None)."""
    rets = [(i, r.raw.enterprises) for i, r in current if r.raw.enterprises.rows]
    names = list(rets[0][1].columns) if rets else []
    lengths = [len(e.rows) for _, e in rets]
    # (32-bit numbers: a batch's returns and a sheet's rows are far fewer than 2**31; half the memory of 64)
    ret_ids = np.repeat(np.array([i for i, _ in rets], dtype=np.int32), lengths)
    rows = np.concatenate([_worksheet_rows(e.rows) for _, e in rets]) if rets else np.empty(0, np.int32)
    arrow = [n for n in names if any(isinstance(e.columns[n], pyarrow.Array) for _, e in rets)]
    coded = {n: c for n in names if n not in arrow and (c := _categories(e.columns[n] for _, e in rets)) is not None}
    texts = [n for n in names if n not in arrow and n not in coded]
    # texts as Python objects, said so: letting pandas infer a string dtype scans every column again
    block = np.empty((len(rows), len(texts)), dtype=object)
    for k, name in enumerate(texts):
        block[:, k] = [v for _, e in rets for v in e.columns[name]]
    frame = pd.DataFrame(block, columns=texts, dtype=object, copy=False)
    frame.insert(0, "ret", ret_ids)
    frame.insert(1, "row", rows)
    for name in names:  # the other columns in the rules' order, each after those before it
        if name in coded:
            frame.insert(2 + names.index(name), name, coded[name])
        elif name in arrow:  # a return that holds the column as a list (made by hand) joins as an array of its type
            kind = next(e.columns[name].type for _, e in rets if isinstance(e.columns[name], pyarrow.Array))
            chunks = pyarrow.chunked_array([c if isinstance(c, pyarrow.Array) else pyarrow.array(c, kind)
                                            for c in (e.columns[name] for _, e in rets)], type=kind)
            column = chunks.to_numpy() if pyarrow.types.is_boolean(chunks.type) else pd.arrays.ArrowExtensionArray(chunks)
            frame.insert(2 + names.index(name), name, column)
    return frame


def _worksheet_rows(rows) -> np.ndarray:
    if isinstance(rows, range):  # (numpy would read a range number by number)
        return np.arange(rows.start, rows.stop, rows.step, dtype=np.int32)
    return np.asarray(rows, dtype=np.int32)


def _categories(columns) -> pd.Categorical | None:
    """A column every return holds as TextCodes of one table, with no None, as a Categorical made from their
    numbers (one byte or two a row, where the texts' pointers take eight); None for any other column. Its
    categories are the batch's whole table of list texts, in the order first read, unused ones included: the
    frame's readers compare, isin() and tolist() it as texts; a groupby on it would list every category."""
    joined = TextCodes.joined(columns)
    if joined is None:
        return None
    table, codes = joined
    if (codes == 0).any():  # a missing text: kept as None (a Categorical's would be NaN)
        return None
    return pd.Categorical.from_codes(codes - 1, categories=pd.Index(table[1:], dtype=object), validate=False)


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
    its name where the code is not valid): one numbering pass over the texts (_ids), then every comparison
    is on integers (a national round lists most of a million rows). The names and codes stay in the list
    frame until rows are picked for findings (`texts`)."""

    valid: pd.DataFrame  # ret, row, key_id, cat_id (the category's number: cat_code)
    columns: dict[str, str]  # role -> the list's column (rules: enterprise_list.columns[].role)
    code_ok: np.ndarray
    cat_code: dict[str, int]
    pair: np.ndarray  # (return, enterprise) as one integer
    lists: pd.DataFrame
    keys: int  # how many enterprises: every key_id is below it

    @cached_property
    def repeated(self) -> np.ndarray:
        """The positions in `valid` of the rows whose enterprise is listed more than once in the batch: only
        these can repeat a (return, enterprise), so only these are hashed to find out (a hash table of every
        row costs ~17 MB at a national round)."""
        key_id = self.valid["key_id"].to_numpy()
        return np.flatnonzero((np.bincount(key_id, minlength=self.keys) > 1)[key_id])

    def texts(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Picked rows of `valid` with their enterprise's name and credit code (`key`, "" without a key column)."""
        pick = _positions(self.lists.index, rows.index.to_numpy())
        key = _picked(self.lists[self.columns["key"]], pick) if self.columns["key"] else ""
        return rows.assign(name=_picked(self.lists[self.columns["name"]], pick), key=key)


_STEP = 65536  # rows of an Arrow column joined at a time to pick from


def _picked(column: pd.Series, pick: np.ndarray) -> np.ndarray:
    """The texts at positions `pick` of a list column, as Python objects. An Arrow column (a chunk per return)
    is picked from a block of rows at a time: Arrow's take on the whole column first joins all its chunks
    (at a national round ~35 MB for the names)."""
    if not isinstance(column.dtype, pd.ArrowDtype):
        return column.take(pick).to_numpy(dtype=object)
    whole = pyarrow.array(column.array)  # (its chunked array, as it is)
    out = np.empty(len(pick), dtype=object)
    order = np.argsort(pick, kind="stable")
    ranked = pick[order]
    for start in np.unique(ranked // _STEP) * _STEP:
        at = slice(*np.searchsorted(ranked, [start, start + _STEP]))
        block = _joined(whole.slice(start, _STEP))
        out[order[at]] = block.take(ranked[at] - start).to_numpy(zero_copy_only=False)
    return out


def _joined(arr):
    """An Arrow column's chunks as one array (an array as it is)."""
    return arr.combine_chunks() if isinstance(arr, pyarrow.ChunkedArray) else arr


def _ids(texts: pd.Series) -> tuple[np.ndarray, int]:
    """Each text's number among the distinct texts of its column (a null: -1), and how many there are.
    An Arrow column is numbered by Arrow, no Python string made, and by sorting rather than hashing:
    Arrow's hash table of a million distinct credit codes costs ~110 bytes a code at its peak, the sort
    ~40 (the column joined once, its order, and the numbers). The numbers follow the texts' order, not
    first sight as factorize's do, which no caller relies on (_keyed only compares them)."""
    if not isinstance(texts.dtype, pd.ArrowDtype):
        ids, uniques = pd.factorize(texts)
        return ids, len(uniques)
    arr = _joined(pyarrow.array(texts.array))
    valid = arr.is_valid().to_numpy(zero_copy_only=False) if arr.null_count else None
    present = arr.drop_null() if arr.null_count else arr
    del arr  # (with nulls, the column without them is all that is read from here)
    if not len(present):
        return np.full(len(texts), -1, dtype=np.int64), 0
    order = pyarrow.compute.sort_indices(present).to_numpy()
    new = np.ones(len(present), dtype=bool)  # the first of each run of equal texts in sorted order
    for at in range(0, len(present), _STEP):  # compared a block at a time: no sorted copy of the column
        ranked = present.take(order[at:at + _STEP + 1])
        new[at + 1:at + len(ranked)] = pyarrow.compute.not_equal(ranked[1:], ranked[:-1]).to_numpy(zero_copy_only=False)
    del present, ranked  # the texts are read: their joined copy goes before the numbers are made
    rank = np.cumsum(new)  # (in place from here: each array at a national round is ~6 MB)
    rank -= 1
    number = np.empty(len(new), dtype=np.int64)
    number[order] = rank
    del order, rank
    if valid is not None:
        ids = np.full(len(valid), -1, dtype=np.int64)
        ids[valid] = number
        return ids, int(new.sum())
    return number, int(new.sum())


def _keyed(lists: pd.DataFrame, bad_code: set, spec: EnterpriseList) -> _Keyed:
    columns = {role: spec.column(role) for role in ("category", "name", "key")}
    keep = lists[columns["category"]].notna().to_numpy() & has_text(lists[columns["name"]])
    if columns["key"]:
        code_id, n_codes = _ids(lists[columns["key"]])
        code_ok = has_text(lists[columns["key"]])
        code_ok[_positions(lists.index, np.fromiter(bad_code, np.int64, len(bad_code)))] = False
    else:
        code_id, n_codes, code_ok = np.zeros(len(lists), np.int64), 0, np.zeros(len(lists), bool)
    by_name = keep & ~code_ok  # keyed by the name: its number after the codes'
    name_id, n_names = _ids(pd.Series(_picked(lists[columns["name"]], np.flatnonzero(by_name)), dtype=object))
    key_id = code_id  # an array of its own (_ids): numbered in place, the codes' numbers then the names'
    key_id[by_name] = n_codes + name_id
    kept = (lambda a: a) if keep.all() else (lambda a: a[keep])  # most lists keep every row: no copies then
    key_id, code_ok, ret, index = kept(key_id), kept(code_ok), kept(lists["ret"].to_numpy()), kept(lists.index)
    cat_code, cat_id = _category_ids(lists[columns["category"]], kept)
    valid = pd.DataFrame({"ret": ret, "row": kept(lists["row"].to_numpy()), "key_id": key_id, "cat_id": cat_id},
                         index=index, copy=False)
    pair = ret.astype(np.int64) * max(n_codes + n_names, 1) + key_id  # every key below n_codes + n_names
    return _Keyed(valid, columns, code_ok, cat_code, pair, lists, max(n_codes + n_names, 1))


def _category_ids(column: pd.Series, kept) -> tuple[dict[str, int], np.ndarray]:
    """Each kept row's category as a number, and the numbers of the categories: a Categorical's own codes, or
    for texts a dict of the few distinct ones (no hash table of the rows, nor their texts as a copy)."""
    if isinstance(column.dtype, pd.CategoricalDtype):  # its categories are the batch's whole table: those used,
        codes = kept(column.cat.codes.to_numpy()).astype(np.intp)  # numbered from 0 (they multiply in _duplicates)
        used = np.flatnonzero(np.bincount(codes, minlength=len(column.cat.categories)))
        number = np.zeros(len(column.cat.categories), dtype=np.int32)
        number[used] = np.arange(len(used))
        return {column.cat.categories[c]: i for i, c in enumerate(used.tolist())}, number[codes]
    category = kept(column.to_numpy())
    cat_code = {c: i for i, c in enumerate(dict.fromkeys(category))}  # first seen first (texts or not)
    return cat_code, np.fromiter(map(cat_code.__getitem__, category), np.int32, len(category))


def _positions(index: pd.Index, labels: np.ndarray) -> np.ndarray:
    """The positions of `labels` in a list frame's index: the labels themselves in the index list_frame makes
    (get_indexer would hash the whole index: ~35 MB at a national round)."""
    plain = isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1
    return labels if plain else index.get_indexer(labels)


def _duplicates(k: _Keyed, emit) -> None:
    """The same enterprise twice under one category of one return."""
    # (return, enterprise, category) as one integer: duplicated() on three columns costs three times the memory
    maybe = k.repeated
    same = pd.Series(k.pair[maybe] * max(len(k.cat_code), 1) + k.valid["cat_id"].to_numpy()[maybe], copy=False)
    dup = same.duplicated().to_numpy()
    if dup.any():
        involved = same.isin(same[dup]).to_numpy()
        first_row = pd.Series(k.valid["row"].to_numpy()[maybe[involved]]).groupby(
            same[involved].to_numpy(), sort=False).transform("first")
        for row, other in zip(k.texts(k.valid.iloc[maybe[dup]]).itertuples(), first_row[dup[involved]].tolist()):
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
                for row in k.texts(k.valid[hit(a, b)]).itertuples():
                    emit(code, row, k.columns["name"], value=row.name, a=spec.category(a).label,
                         b=spec.category(b).label)


def _claimed_by_several(k: _Keyed, current: dict[int, CheckedReturn], emit) -> dict[str, list[int]]:
    """The same credit code in the lists of several returns: one finding per return and enterprise that
    says how many other parks claim it (never which: a park learns nothing of another), and the returns
    of each such code, kept once per enterprise for the office (report, summary)."""
    # only an enterprise listed more than once can be claimed by several: the rows of the others are not hashed
    maybe = k.repeated[k.code_ok[k.repeated]]  # of those, each valid code once a return (the first row of it)
    maybe = maybe[~pd.Series(k.pair[maybe], copy=False).duplicated().to_numpy()]
    shared = np.zeros(len(k.valid), dtype=bool)
    shared[maybe] = pd.Series(k.valid["key_id"].to_numpy()[maybe], copy=False).duplicated(keep=False).to_numpy()
    if not shared.any():
        return {}
    shared = k.texts(k.valid[shared])
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
