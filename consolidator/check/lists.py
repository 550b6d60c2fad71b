"""The enterprise lists of a batch, validated together: formats, duplicates, exclusive and expected
categories, and the same enterprise claimed by several parks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from .. import findings as F
from ..findings import WARNING
from ..rules.formats import industry_problem
from .results import CheckedReturn
from .schema import view


# ---- enterprise lists --------------------------------------------------------------------------------
def list_frame(current: list[tuple[int, CheckedReturn]]) -> pd.DataFrame:
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


def check_lists(lists: pd.DataFrame, current: dict[int, CheckedReturn]) -> None:
    if lists.empty:
        return
    try:
        LIST_SCHEMA.validate(view(lists), lazy=True, inplace=True)
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
        base = dict(ret.locate(), sheet=e.sheet, cell=_list_cell(e.letters, col, row["row"]),
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
        ret.findings.append(F.make(code, **kw, **dict(ret.locate(), sheet=e.sheet,
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


