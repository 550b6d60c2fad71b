"""The pandera schema of a Form: built once from the rules, tried here on hand-made frames."""

import math

import numpy as np
import pandas as pd
import pandera.pandas as pa

from consolidator.check.checks import RowCheck
from consolidator.check.lists import list_schema
from consolidator.check.schema import ENTERED, form_schema, validate


def hand_made(form, **values):
    """A one-row frame with every column the schema reads: numbers NaN and texts None unless given."""
    row = {}
    for f in form.fields.values():
        row[f.id] = values.get(f.id, math.nan if f.is_numeric else None)
        if f.is_derived and f.is_numeric:
            row[f.id + ENTERED] = values.get(f.id + ENTERED, math.nan)
    for c in form.enterprise_list.categories:
        row[f"list_count__{c.id}"] = values.get(f"list_count__{c.id}", 0)
    frame = pd.DataFrame([row], index=[7])
    for f in form.fields.values():
        if not f.is_numeric:
            frame[f.id] = frame[f.id].astype(object)
    return frame


def failed(form, frame):
    fc = validate(form_schema(form).schema, frame)
    return sorted(zip(fc["column"], fc["check"]))


def test_one_schema_per_form_built_once_without_a_batch(forms):
    form = forms["green_safety"]
    assert form_schema(form) is form_schema(form)
    assert form_schema(forms["open_cooperation"]).schema is not form_schema(form).schema


def test_declarations_become_builtin_and_registered_checks(forms):
    schema = form_schema(forms["green_safety"]).schema
    revenue = [c.name for c in schema.columns["revenue_2025"].checks]
    assert "greater_than" in revenue  # range (0, ): pandera's own comparison
    assert "in_range" in revenue  # plausible [1, 20000]
    assert [c.name for c in schema.columns["head_phone"].checks] == ["phone"]
    assert [c.name for c in schema.columns["contact_email"].checks] == ["email"]
    assert "max_chars" in [c.name for c in schema.columns["park_intro"].checks]
    assert schema.columns["revenue_2025"].nullable is False  # required
    row_checks = {c.name for c in schema.checks}
    assert isinstance(schema.checks[0], RowCheck)
    assert {"lead_revenue_le_revenue", "developed_le_managed", "list_count_matches", "formula_mismatch"} <= row_checks
    form = forms["green_safety"]
    lists = list_schema(form.enterprise_list, form.rules_dir)
    assert [c.name for c in lists.columns["credit_code"].checks] == ["filled", "uscc"]
    assert [c.name for c in lists.columns["industry"].checks] == ["filled", "industry"]


def test_a_hand_made_frame_fails_where_the_rules_say(forms):
    form = forms["green_safety"]
    frame = hand_made(form, revenue_2025=-5.0, lead_revenue_2025=3.0, head_phone="12345", contact_email="x@y",
                      tax_per_mu_2025=30.0, **{"tax_per_mu_2025" + ENTERED: 300.0}, list_count__hitech=2,
                      hitech_count=3.0)
    got = failed(form, frame)
    assert ("revenue_2025", "range") in got
    assert ("lead_revenue_2025", "lead_revenue_le_revenue[year=2025]") in got  # a rule: one failure, on its target
    assert ("head_phone", "format_phone") in got and ("contact_email", "format_email") in got
    assert ("tax_per_mu_2025", "formula_mismatch:tax_per_mu_2025") in got
    assert ("hitech_count", "list_count_matches[category=hitech]") in got
    assert ("revenue_2024", "not_nullable") in got  # required and empty
    assert sum(1 for column, check in got if check.startswith("lead_revenue_le_revenue")) == 1


def test_a_clean_frame_passes(forms):
    from consolidator.check.schema import with_recomputed

    from .conftest import raw_return, sample

    form = forms["open_cooperation"]
    s = sample(form, 5)
    raw = raw_return(form, s.values, s.enterprises)
    entered = hand_made(form, **{k: v for k, v in raw.values.items() if v is not None})
    counts = pd.Series(raw.enterprises.columns["category"]).value_counts()
    for c in form.enterprise_list.categories:
        entered[f"list_count__{c.id}"] = np.int64(counts.get(c.id, 0))
    frame = with_recomputed(form, entered.drop(columns=[c for c in entered if c.endswith(ENTERED)]))
    assert failed(form, frame) == []


def test_failures_of_a_row_check_are_reported_on_its_target_only():
    frame = pd.DataFrame({"a": [1.0, 5.0, 2.0], "b": [2.0, 3.0, 1.0], "c": ["x", "y", "z"]}, index=[10, 11, 12])
    check = RowCheck(lambda d: d["a"] <= d["b"], target="a", name="a_le_b", error="a_le_b[x]")
    schema = pa.DataFrameSchema({"a": pa.Column(nullable=True)}, checks=[check])
    fc = validate(schema, frame)
    assert fc[["column", "check", "index"]].values.tolist() == [["a", "a_le_b[x]", 11], ["a", "a_le_b[x]", 12]]


def test_a_check_that_cannot_run_is_a_bug_not_a_pass():
    import pytest

    def broken(series):
        raise ZeroDivisionError("boom")

    schema = pa.DataFrameSchema({"a": pa.Column(checks=[pa.Check(broken, error="range")])})
    with pytest.raises(RuntimeError, match="boom"):
        validate(schema, pd.DataFrame({"a": [1.0]}))


def test_a_list_column_one_return_holds_as_a_list_joins_the_arrow_column(forms):
    """The reader keeps names and codes as Arrow arrays; a return whose column is a Python list (made by hand)
    joins the list frame's Arrow column as an array of the same type, in any position of the batch."""
    from consolidator.check.batch import check_batch

    from .conftest import raw_return, sample

    form = forms["green_safety"]
    name = form.enterprise_list.column("name")

    def batch(as_list: int | None):
        raws = [raw_return(form, s.values, s.enterprises, file=f"{i}.xlsx")
                for i, s in enumerate([sample(form, 3), sample(form, 4)])]
        if as_list is not None:
            raws[as_list].enterprises.columns[name] = raws[as_list].enterprises.column(name)
        return check_batch(raws, forms)

    expected = batch(None)
    for k in (0, 1):
        got = batch(k)
        assert isinstance(got.lists[name].dtype, pd.ArrowDtype)
        assert got.lists[name].tolist() == expected.lists[name].tolist()
        assert [f.message for f in got.findings] == [f.message for f in expected.findings]


def test_repeated_list_texts_are_numbers_in_the_batchs_table(forms):
    """The main process keeps a list's categories and industries as TextCodes (two bytes a row, one table of
    texts for the batch), pickled as plain texts; in the list frame they are Categoricals, except a column
    with a missing text or one a return holds as a list (made by hand), which stays texts. The findings and
    the frame's values are the same either way."""
    import pickle

    from consolidator.check.batch import check_batch
    from consolidator.returns import TextCodes

    from .conftest import raw_return, sample

    form = forms["green_safety"]
    spec = form.enterprise_list
    raw_col, industry = spec.column("category") + "_raw", next(c.id for c in spec.columns if c.format == "industry")

    def batch(coded: bool, hand_made: int | None = None, missing: bool = False):
        samples = [sample(form, 3), sample(form, 4), sample(form, 5)]
        if missing:  # a category text that names none: its id is None
            samples[2].enterprises[0] = {**samples[2].enterprises[0], spec.column("category"): "不认识的类别"}
        raws = [raw_return(form, s.values, s.enterprises, file=f"{i}.xlsx") for i, s in enumerate(samples)]
        raws[1].enterprises.columns[industry][2] = "不存在的行业"  # a finding on a coded column
        if coded:
            pool: dict = {}
            raws = [r.share(pool) for r in raws]
        if hand_made is not None:
            e = raws[hand_made].enterprises
            e.columns[raw_col] = list(e.columns[raw_col])
        return raws, check_batch(raws, forms)

    plain_raws, plain = batch(False)
    raws, coded = batch(True)
    column = raws[0].enterprises.columns[raw_col]
    assert isinstance(column, TextCodes) and column.table is raws[2].enterprises.columns[industry].table
    assert column.codes.itemsize == 2 and list(column) == plain_raws[0].enterprises.column(raw_col)
    assert pickle.loads(pickle.dumps(column)) == list(column) and type(pickle.loads(pickle.dumps(column))) is list
    assert raws[0].enterprises.records() == plain_raws[0].enterprises.records()
    assert isinstance(coded.lists[raw_col].dtype, pd.CategoricalDtype)
    assert coded.lists[raw_col].tolist() == plain.lists[raw_col].tolist()
    assert [f.message for f in coded.findings] == [f.message for f in plain.findings]
    assert any(f.code == "format_industry" for f in coded.findings)
    for k in (0, 2):  # a hand-made list anywhere in the batch: the column stays texts
        _, mixed = batch(True, hand_made=k)
        assert mixed.lists[raw_col].dtype == object
        assert mixed.lists[raw_col].tolist() == plain.lists[raw_col].tolist()
    category = spec.column("category")
    assert isinstance(coded.lists[category].dtype, pd.CategoricalDtype)
    (_, plain_missing), (_, missing) = batch(False, missing=True), batch(True, missing=True)
    assert missing.lists[category].dtype == object and None in missing.lists[category].tolist()
    assert missing.lists[category].tolist() == plain_missing.lists[category].tolist()
    assert [f.message for f in missing.findings] == [f.message for f in plain_missing.findings]
    assert any(f.code == "list_category" for f in missing.findings)


def test_text_codes_grow_past_two_bytes_and_keep_anything_but_texts_as_a_list():
    from consolidator.returns import TextCodes

    pool: dict = {}
    first = TextCodes.of(["甲", "乙", None, "甲"], pool)
    assert list(first) == ["甲", "乙", None, "甲"] and first[1:3] == ["乙", None] and first[3] == "甲"
    many = TextCodes.of([f"行业{i}" for i in range(70_000)], pool)
    assert many.codes.itemsize == 4 and many[-1] == "行业69999" and len(many) == 70_000
    assert list(first) == ["甲", "乙", None, "甲"]  # the table only grows
    odd = [1.0, "甲"]
    assert TextCodes.of(odd, pool) is odd


def test_a_lists_worksheet_rows_are_a_range_where_they_follow_each_other(forms):
    from array import array

    from consolidator.check.batch import check_batch

    from .conftest import raw_return, sample

    form = forms["green_safety"]
    s, t = sample(form, 3), sample(form, 4)  # two parks
    plain = raw_return(form, s.values, s.enterprises, file="a.xlsx")
    assert isinstance(plain.enterprises.rows, range) and len(plain.enterprises.rows) == len(s.enterprises)
    gapped = raw_return(form, t.values, t.enterprises, file="b.xlsx")
    e = gapped.enterprises
    e.rows = array("i", [r + (r > e.rows[1]) for r in e.rows])  # a row left empty after the second
    result = check_batch([plain, gapped], forms)
    rows = result.lists.groupby("ret")["row"].agg(list).to_dict()
    assert rows[0] == list(plain.enterprises.rows) and rows[1] == list(e.rows) and rows[1][2] == rows[1][1] + 2


def test_a_hand_made_list_with_a_number_for_a_category_is_checked(forms):
    """A list made by hand (not read) may hold any value: the categories are numbered without comparing them."""
    from consolidator.check.batch import check_batch

    from .conftest import raw_return, sample

    form = forms["green_safety"]
    s = sample(form, 3)
    raw = raw_return(form, s.values, s.enterprises, file="a.xlsx")
    raw.enterprises.columns[form.enterprise_list.column("category")][0] = 1
    result = check_batch([raw], forms)
    assert {f.code for f in result.findings} == {"list_count_matches"}
