"""The checker at its pure layer: returns built from values in the test, findings from the catalogue."""

import datetime as dt

import pytest

from consolidator.check.batch import check_batch
from consolidator.check.explain import is_explanation
from consolidator.check.results import (
    STATUS_ERRORS,
    STATUS_MISSING,
    STATUS_PASSED,
    STATUS_SUPERSEDED,
    STATUS_WARNINGS,
)
from consolidator.findings import CATALOGUE, display
from consolidator.read.roster import Park

from .conftest import layout_of, raw_return, sample


def run(forms, *returns, roster=None):
    return check_batch(list(returns), forms, roster)


def flat(result, *, severities=("error", "warning", "explained")):
    return sorted((f.code, f.severity, f.sheet, f.cell, f.field) for f in result.findings if f.severity in severities)


def cell(form, fid):
    return layout_of(form).cells[fid]


def expect(form, code, fid, severity=None):
    sheet, coord = cell(form, fid)
    return (code, severity or CATALOGUE[code].severity, sheet, coord, fid)


@pytest.mark.parametrize("category", ["green_safety", "open_cooperation"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_clean_returns_pass(forms, category, seed):
    form = forms[category]
    s = sample(form, seed)
    result = run(forms, raw_return(form, s.values, s.enterprises))
    assert flat(result) == []
    assert result.returns[0].status == STATUS_PASSED
    assert result.exit_code == 0


# rule id -> (category, changes to a clean return as a function of its values, the target field)
RULE_CASES = {
    "lead_subfield_required": ("green_safety", lambda v: {"lead_industry_2": "光伏", "lead_subfield_2": None},
                               "lead_subfield_2"),
    "lead_industry_order": ("green_safety", lambda v: {"lead_industry_3": None, "lead_subfield_3": "储能"},
                            "lead_industry_3"),
    "focus_is_lead_industry": ("green_safety", lambda v: {"focus_industry": "人工智能"}, "focus_industry"),
    "declaration_accepted": ("open_cooperation", lambda v: {"declaration_accepted": "否"}, "declaration_accepted"),
    "lead_revenue_le_revenue": ("green_safety", lambda v: {"lead_revenue_2024": v["revenue_2024"] + 1},
                                "lead_revenue_2024"),
    "profit_le_revenue": ("open_cooperation", lambda v: {"profit_2023": v["revenue_2023"] * 1.01}, "profit_2023"),
    "lead_revenue_share": ("green_safety", lambda v: {"lead_revenue_2025": v["revenue_2025"] * 0.2},
                           "lead_revenue_2025"),
    "profit_margin": ("green_safety", lambda v: {"profit_2024": -v["revenue_2024"] * 0.25}, "profit_2024"),
    "revenue_yoy": ("open_cooperation", lambda v: {"revenue_2024": v["revenue_2023"] / 3.5}, "revenue_2024"),
    "developed_le_managed": ("green_safety", lambda v: {"managed_area": v["developed_area_total"] - 1},
                             "developed_area_total"),
    "development_rate": ("green_safety", lambda v: {"managed_area": v["developed_area_total"] * 4},
                         "developed_area_total"),
    "developed_area_by_year": ("green_safety", lambda v: {"developed_area_2023": v["developed_area_total"] + 5},
                               "developed_area_2023"),
    "count_le_total": ("open_cooperation", lambda v: {"total_enterprises": v["hitech_count"] - 1}, "hitech_count"),
    "little_giant_le_srdi": ("green_safety", None, "little_giant_count"),
    "green_count_le_total": ("green_safety", None, "green_factory_count"),
    "list_count_matches": ("open_cooperation", lambda v: {"listed_count": v["listed_count"] + 1}, "listed_count"),
}


def test_every_rule_of_the_rule_files_has_a_case(forms):
    ids = {r.id for f in forms.values() for r in f.rules}
    assert ids == set(RULE_CASES)


@pytest.mark.parametrize("rule_id", sorted(RULE_CASES))
def test_each_rule_fails_where_it_should(forms, rule_id):
    category, change, target = RULE_CASES[rule_id]
    form = forms[category]
    s = sample(form, 5)
    if rule_id == "little_giant_le_srdi":  # keep the list consistent: drop provincial rows
        srdi = form.enterprise_list.category("srdi").label
        giants = s.values["little_giant_count"]
        kept = [e for e in s.enterprises if e["category"] != srdi][:]
        kept += [e for e in s.enterprises if e["category"] == srdi][: giants - 1]
        s.enterprises[:] = kept
        s.values["srdi_count"] = giants - 1
    elif rule_id == "green_count_le_total":
        # only this count above the total: several above it are one finding on the total (test_cascade.py)
        others = [r.target for r in form.rules if r.id == "count_le_total"]
        total = max(3, *(s.values[t] or 0 for t in others))
        rows = [{"category": "国家级绿色工厂", "name": f"绿色工厂{i}有限公司", "credit_code": f"91320594{i:09d}",
                 "industry": "C38"} for i in range(total + 1)]
        from consolidator.rules.formats import uscc_check_char
        for r in rows:
            r["credit_code"] += uscc_check_char(r["credit_code"])
        s.enterprises[:] = [e for e in s.enterprises if e["category"] != "国家级绿色工厂"] + rows
        s.values["green_factory_count"] = total + 1
        s.values["total_enterprises"] = total
    else:
        s.values.update(change(s.values))
    rule = next(r for r in form.rules if r.id == rule_id)
    result = run(forms, raw_return(form, s.values, s.enterprises))
    assert expect(form, rule_id, target, rule.severity) in flat(result)


def test_rule_finding_carries_values_and_a_readable_expectation(forms):
    form = forms["green_safety"]
    s = sample(form, 1)
    s.values["lead_revenue_2024"] = s.values["revenue_2024"] + 10
    f = next(f for f in run(forms, raw_return(form, s.values, s.enterprises)).findings
             if f.code == "lead_revenue_le_revenue")
    # said in words, with the number it is compared with
    assert f.expected == f"不大于{display(s.values['revenue_2024'])}（2024年营业收入（亿元））"
    assert f.value.startswith("2024年主导产业营业收入（亿元）=")
    assert f.message == "2024年主导产业营业收入不能大于营业收入。"
    assert (f.park, f.label) == (s.values["park_name"], "2024年主导产业营业收入（亿元）")


def test_a_rule_finding_names_a_blank_part_as_not_filled(forms):
    form = forms["green_safety"]
    s = sample(form, 5, lead_subfield_2=None)
    f = next(f for f in run(forms, raw_return(form, s.values, s.enterprises)).findings
             if f.code == "lead_subfield_required")
    assert f.value == f"第2个主导产业={s.values['lead_industry_2']}，第2个对应细分领域=（未填写）"


@pytest.mark.parametrize("fid, raw, code", [
    ("county", None, "required"),
    ("revenue_2023", "待统计", "type_number"),
    ("listed_count", 2.5, "type_integer"),
    ("fill_date", "11月", "type_date"),
    ("filler_type", "国企", "choice"),
    ("head_phone", "1391234567", "format_phone"),
    ("contact_email", "wang#park.cn", "format_email"),
    ("total_enterprises", 0, "range"),
    ("revenue_2025", -5, "range"),
])
def test_field_checks(forms, fid, raw, code):
    form = forms["open_cooperation"]
    s = sample(form, 2, **{fid: raw})
    found = flat(run(forms, raw_return(form, s.values, s.enterprises)))
    assert expect(form, code, fid) in found
    # one problem, one finding: an unreadable value is not also reported as missing
    assert [x for x in found if x[4] == fid and x[0] in ("required", "type_number", "type_integer", "type_date",
                                                          "choice", "range", "format_phone", "format_email")] == \
        [expect(form, code, fid)]


@pytest.mark.parametrize("marker", ["无", "/", "——"])
def test_a_marker_of_nothing_is_read_as_blank_and_said_so(forms, marker):
    """"无" in an optional cell is read as not filled: the note says 空白, not empty quotes."""
    form = forms["green_safety"]
    s = sample(form, 4, lead_subfield_2=marker)
    raw = raw_return(form, s.values, s.enterprises)
    (note,) = [f for f in raw.findings if f.code == "value_normalised" and f.field == "lead_subfield_2"]
    assert raw.values["lead_subfield_2"] is None
    assert f"填写的“{marker}”已按“空白”读取（视为未填写）" in note.message and "“”" not in note.message


def test_required_in_repeated_rows_applies_to_the_first_row_only(forms):
    form = forms["green_safety"]
    s = sample(form, 3, lead_industry_1=None, lead_subfield_1=None, lead_industry_2=None, lead_subfield_2=None,
               lead_industry_3=None, lead_subfield_3=None)
    found = flat(run(forms, raw_return(form, s.values, s.enterprises)))
    required = [x[4] for x in found if x[0] == "required"]
    assert sorted(required) == ["lead_industry_1", "lead_subfield_1"]


@pytest.mark.parametrize("fid, factor, fragment", [
    ("tax_per_mu_2025", 15, "由公顷换算为亩"),
    ("water_intensity", 100, "乘了100%"),
    ("solid_waste_utilization_rate", 0.01, "百分数填成了小数"),
    ("value_added_share_2023", 0.01, "百分数填成了小数"),
    ("floor_area_ratio", 1.7, ""),
])
def test_overwritten_formula_is_recomputed_and_the_trap_named(forms, fid, factor, fragment):
    import pandas as pd

    from consolidator.check.derive import recompute

    form = forms["green_safety"]
    s = sample(form, 4)
    frame = pd.DataFrame([{k: (float(v) if form.fields[k].is_numeric else v) for k, v in s.values.items()}])
    for f in form.fields.values():
        if f.id not in frame:
            frame[f.id] = None
    true_value = float(recompute(form, frame)[fid].iloc[0])
    s.values[fid] = round(true_value * factor, 6)
    result = run(forms, raw_return(form, s.values, s.enterprises))
    f = next(f for f in result.findings if f.code == "formula_mismatch")
    assert (f.field, f.sheet, f.cell) == (fid, *cell(form, fid))
    assert fragment in f.message
    # the park's own consistent value is accepted
    s.values[fid] = round(true_value, 2)
    assert "formula_mismatch" not in {f.code for f in run(forms, raw_return(form, s.values, s.enterprises)).findings}


def test_plausible_warning_names_the_likely_unit_mistake(forms):
    form = forms["green_safety"]
    s = sample(form, 6)
    s.values["carbon_emissions"] = round(s.values["carbon_emissions"] * 12 / 44, 3)
    f = next(f for f in run(forms, raw_return(form, s.values, s.enterprises)).findings if f.code == "plausible")
    assert f.field == "carbon_intensity" and "44/12" in f.message and f.severity == "warning"


def test_explained_warning_and_non_explanations(forms):
    form = forms["green_safety"]
    s = sample(form, 7)
    s.values["profit_2025"] = s.values["revenue_2025"] * 0.35
    s.values["profit_note"] = "2025年处置闲置土地，一次性收益计入利润总额。"
    found = flat(run(forms, raw_return(form, s.values, s.enterprises)))
    assert expect(form, "profit_margin", "profit_2025", "explained") in found
    s.values["profit_note"] = "经核实，数据无误"
    found = flat(run(forms, raw_return(form, s.values, s.enterprises)))
    assert expect(form, "profit_margin", "profit_2025", "warning") in found
    assert expect(form, "explanation_invalid", "profit_note") in found


@pytest.mark.parametrize("text, ok", [
    ("核实无误", False), ("数据无误", False), ("经核实，数据准确无误。", False), ("已确认", False), ("", False),
    (None, False), ("无误", False), ("2025年新增两个大型项目投产，营业收入大幅增长", True),
    ("园区2024年调整了统计口径（纳入托管区）", True), ("经核实无误，系新增托管区域所致", True),
])
def test_is_explanation(text, ok):
    assert is_explanation(text) is ok


def test_text_length_and_report_headings(forms):
    form = forms["open_cooperation"]
    s = sample(form, 8)
    s.values["park_intro"] = "园" * 301
    s.values["report_text"] = s.values["report_text"].replace("二、创新举措", "二、主要做法")
    found = flat(run(forms, raw_return(form, s.values, s.enterprises)))
    assert expect(form, "max_chars", "park_intro") in found
    assert expect(form, "report_headings", "report_text") in found
    s.values["park_intro"] = "园" * 300
    assert expect(form, "max_chars", "park_intro") not in flat(run(forms, raw_return(form, s.values, s.enterprises)))


def _list_codes(result):
    return sorted((f.code, f.severity, f.cell) for f in result.findings if f.field.startswith("list."))


def test_enterprise_list_checks(forms):
    form = forms["green_safety"]
    s = sample(form, 9)
    rows = s.enterprises
    hitech = [i for i, e in enumerate(rows) if e["category"] == "国家高新技术企业"]
    rows.append(dict(rows[hitech[0]]))
    rows[hitech[1]]["credit_code"] = rows[hitech[1]]["credit_code"][:17] + (
        "0" if rows[hitech[1]]["credit_code"][17] != "0" else "1")
    rows[hitech[2]]["credit_code"] = 9.13201157898765e17
    rows[hitech[3]]["industry"] = "C99"
    rows[hitech[4]]["industry"] = "光伏设备及元器件制造"
    s.values["hitech_count"] += 1
    result = run(forms, raw_return(form, s.values, rows))
    first = layout_of(form).list_first_row
    got = _list_codes(result)
    assert ("list_duplicate", "error", f"B{first + len(rows) - 1}") in got
    assert ("format_uscc", "error", f"C{first + hitech[1]}") in got
    assert ("format_uscc", "error", f"C{first + hitech[2]}") in got
    assert ("format_industry", "error", f"D{first + hitech[3]}") in got
    assert ("format_industry", "warning", f"D{first + hitech[4]}") in got
    number = next(f for f in result.findings if f.code == "format_uscc" and f.cell == f"C{first + hitech[2]}")
    assert "以数字形式保存" in number.message


def test_listed_and_unicorn_and_missing_provincial_title(forms):
    form = forms["open_cooperation"]
    s = sample(form, 10)
    from consolidator.rules.formats import uscc_check_char

    code = "91320594MA1MXY312"
    unicorn = {"category": "独角兽企业", "name": "测试独角兽科技有限公司", "credit_code": code + uscc_check_char(code),
               "industry": "I65"}
    s.enterprises.append(unicorn)
    s.values["unicorn_count"] += 1
    s.enterprises.append({**unicorn, "category": "上市企业"})
    s.values["listed_count"] += 1
    srdi = form.enterprise_list.category("srdi").label
    giant = next(e for e in s.enterprises if e["category"] == "国家级专精特新“小巨人”企业")
    s.enterprises[:] = [e for e in s.enterprises if not (e["category"] == srdi and e["name"] == giant["name"])]
    s.values["srdi_count"] -= 1
    codes = {f.code: f.severity for f in run(forms, raw_return(form, s.values, s.enterprises)).findings}
    assert codes.get("list_exclusive") == "error"
    assert codes.get("list_expected_subset") == "warning"


def test_same_enterprise_claimed_by_two_parks(forms):
    form = forms["green_safety"]
    a, b = sample(form, 11), sample(form, 12)
    shared = dict(next(e for e in a.enterprises if e["category"] == "国家高新技术企业"))
    b.enterprises.append(shared)
    b.values["hitech_count"] += 1
    result = run(forms, raw_return(form, a.values, a.enterprises, file="a.xlsx"),
                 raw_return(form, b.values, b.enterprises, file="b.xlsx"))
    hits = [f for f in result.findings if f.code == "enterprise_in_two_parks"]
    assert sorted(f.file for f in hits) == ["a.xlsx", "b.xlsx"]
    assert all(shared["credit_code"] in f.message for f in hits)
    # a park never learns which other park listed it: the message counts, the batch keeps the parks once
    assert all("另有 1 个园区也填报了该企业" in f.message and "a.xlsx" not in f.message + f.value for f in hits)
    assert result.shared == {shared["credit_code"]: [0, 1]}


def test_newest_return_of_a_park_wins(forms):
    form = forms["green_safety"]
    old = sample(form, 13, fill_date=dt.date(2026, 11, 10))
    old.values["lead_revenue_2025"] = old.values["revenue_2025"] * 2
    new = sample(form, 13, fill_date=dt.date(2026, 11, 20))
    # the newer file time loses against the later date the park entered
    result = run(forms, raw_return(form, new.values, new.enterprises, file="修改版.xlsx",
                                   mtime=dt.datetime(2026, 11, 1)),
                 raw_return(form, old.values, old.enterprises, file="原版.xlsx", mtime=dt.datetime(2026, 11, 21)))
    status = {r.file: r.status for r in result.returns}
    assert status == {"修改版.xlsx": STATUS_PASSED, "原版.xlsx": STATUS_SUPERSEDED}
    sup = [f for f in result.findings if f.file == "原版.xlsx"]
    assert [f.code for f in sup] == ["superseded"] and "修改版.xlsx" in sup[0].message
    assert result.exit_code == 0
    # same date: the later file wins
    same = sample(form, 13, fill_date=dt.date(2026, 11, 20))
    result = run(forms, raw_return(form, same.values, same.enterprises, file="早.xlsx", mtime=dt.datetime(2026, 11, 1)),
                 raw_return(form, old.values | {"fill_date": dt.date(2026, 11, 20)}, old.enterprises, file="晚.xlsx",
                            mtime=dt.datetime(2026, 11, 2)))
    assert {r.file: r.status for r in result.returns}["早.xlsx"] == STATUS_SUPERSEDED
    assert result.exit_code == 1


def test_roster_statuses(forms):
    g, o = forms["green_safety"], forms["open_cooperation"]
    a = sample(g, 14, park_name="甲园区")
    b = sample(o, 15, park_name="乙园区")
    c = sample(o, 16, park_name="名单外园区")
    roster = [Park("P1", "甲园区", "江苏省苏州市", "工业园区", "green_safety", "王伟", "a@b.cn", 2),
              Park("P2", "乙 园区", "江苏省无锡市", "新吴区", "green_safety", "李敏", "c@d.cn", 3),
              Park("P3", "丙园区", "江苏省南京市", "江宁区", "open_cooperation", "张磊", "e@f.cn", 4)]
    b.values["revenue_2025"] = b.values["revenue_2024"] * 5  # a warning only
    result = run(forms, raw_return(g, a.values, a.enterprises, file="a.xlsx"),
                 raw_return(o, b.values, b.enterprises, file="b.xlsx"),
                 raw_return(o, c.values, c.enterprises, file="c.xlsx"), roster=roster)
    statuses = {p.name: p.status for p in result.parks}
    assert statuses["甲园区"] == STATUS_PASSED
    assert statuses["乙 园区"] == STATUS_WARNINGS  # matched despite the space, category differs: warning
    assert statuses["丙园区"] == STATUS_MISSING
    codes = {(f.code, f.file or f.park) for f in result.findings}
    assert ("category_mismatch", "b.xlsx") in codes
    assert ("park_not_in_roster", "c.xlsx") in codes
    assert ("not_submitted", "丙园区") in codes
    missing = next(f for f in result.findings if f.code == "not_submitted")
    assert missing.message == "名单中的园区“丙园区”尚未报送。" and missing.value == ""  # nothing was filled in
    assert result.status_counts()[STATUS_MISSING] == 1


def test_a_return_with_errors_sets_the_exit_code(forms):
    form = forms["open_cooperation"]
    s = sample(form, 17, declaration_accepted="否")
    result = run(forms, raw_return(form, s.values, s.enterprises))
    assert result.returns[0].status == STATUS_ERRORS and result.exit_code == 1


def test_the_batch_is_validated_once_per_category(forms, monkeypatch):
    import pandera.pandas as pa

    calls = []
    original = pa.DataFrameSchema.validate

    def counting(self, frame, *args, **kwargs):
        calls.append(len(frame))
        return original(self, frame, *args, **kwargs)

    monkeypatch.setattr(pa.DataFrameSchema, "validate", counting)
    g, o = forms["green_safety"], forms["open_cooperation"]
    returns = [raw_return(g, sample(g, i, park_name=f"园区{i}").values, file=f"g{i}.xlsx") for i in range(5)]
    returns += [raw_return(o, sample(o, i, park_name=f"开放园区{i}").values, file=f"o{i}.xlsx") for i in range(4)]
    run(forms, *returns)
    assert sorted(calls)[-2:] == [4, 5] and len([c for c in calls if c in (4, 5)]) == 2


def test_formulas_saved_without_values_are_recomputed_and_reported(forms):
    form = forms["green_safety"]
    s = sample(form, 18)
    result = run(forms, raw_return(form, s.values, s.enterprises, cached_formulas=False))
    ret = result.returns[0]
    assert [(f.code, f.severity) for f in ret.findings if f.severity != "info"] == [("formula_not_calculated", "warning")]
    assert ret.values["tax_per_mu_2025"] == pytest.approx(
        s.values["tax_paid_2025"] / (s.values["developed_area_total"] * 15))


def test_the_validated_frames_do_not_outlive_the_check(forms, monkeypatch):
    """Each form's validated frame is in reference cycles (closures of pandas and pandera); the command checks with
    the cyclic collector paused and then freezes what is left, so check_batch collects them itself."""
    import gc
    import weakref

    import consolidator.check.batch as batch
    from consolidator.pipeline import gc_paused

    made = []
    recompute = batch.with_recomputed

    def kept(form, entered):
        frame = recompute(form, entered)
        made.append(weakref.ref(frame))
        return frame

    monkeypatch.setattr(batch, "with_recomputed", kept)
    raws = []
    for cid in ("green_safety", "open_cooperation"):
        s = sample(forms[cid])
        s.values["lead_revenue_2025"] = s.values["revenue_2025"] * 1.2  # a failure: pandera raises its errors
        raws.append(raw_return(forms[cid], s.values, s.enterprises, file=f"{cid}.xlsx", cached_formulas=False))
    with gc_paused():
        gc.freeze()  # as pipeline.run_check does
        result = check_batch(raws, forms)
    assert len(made) == 2 and all(r.findings for r in result.returns)
    assert all(ref() is None for ref in made)
    gc.unfreeze()


def test_the_forms_checked_in_a_forked_worker_beside_the_lists_give_what_one_after_the_other_gives(
        forms, monkeypatch, tmp_path):
    """In a batch of FORK_LEAST to FORK_MOST returns the forms are checked in a forked worker while the lists are
    checked here: the findings (of reading, the form and the list, explained or not) and the recomputed values are
    those of checking one after the other, in the same order."""
    import multiprocessing
    import os

    import consolidator.check.batch as batch

    def batch_of():
        raws, shared = [], None
        for cid in ("green_safety", "open_cooperation"):
            form = forms[cid]
            for i in range(6):
                s = sample(form, 30 + i, park_name=f"{form.category_name}园区{i}")
                shared = shared or dict(s.enterprises[0])
                s.enterprises[0] = dict(shared)  # one enterprise in every park's list: a warning on each
                if i % 3 == 0:
                    s.values["lead_revenue_2025"] = s.values["revenue_2025"] * 1.2
                if i % 3 == 1:
                    s.values["revenue_2025"] = s.values["revenue_2025"] * 100  # a plausibility warning
                raw = raw_return(form, s.values, s.enterprises, file=f"{cid}{i}.xlsx", cached_formulas=i != 2)
                if i % 2:  # the row's 情况说明 explains it
                    raw.enterprises.notes[raw.enterprises.rows[0]] = "该企业在两个园区均有生产基地，分别统计各自产值。"
                raws.append(raw)
        return raws

    def outcome(result):
        return [(r.file, r.status, r.findings, dict(r.values)) for r in result.returns], result.shared

    monkeypatch.setattr(batch, "FORK_LEAST", 10**9)
    serial = outcome(check_batch(batch_of(), forms))
    pids = tmp_path / "pids"
    checked = batch._form_checked

    def recorded(group):
        pids.write_text(str(os.getpid()))
        return checked(group)

    monkeypatch.setattr(batch, "FORK_LEAST", 1)
    monkeypatch.setattr(batch, "_form_checked", recorded)
    forked = outcome(check_batch(batch_of(), forms))
    assert forked == serial
    codes = {(f.code, f.severity) for _, _, fs, _ in serial[0] for f in fs}
    assert {("enterprise_in_two_parks", "explained"), ("enterprise_in_two_parks", "warning"),
            ("formula_not_calculated", "warning")} <= codes and any(s == "error" for _, s in codes)
    if "fork" in multiprocessing.get_all_start_methods():
        assert pids.read_text() != str(os.getpid())
        parent = os.getpid()

        def dying(group):  # the worker of one form ends as the out-of-memory killer would end it
            if os.getpid() != parent and group[0].category_id == "green_safety":
                os._exit(9)
            return checked(group)

        monkeypatch.setattr(batch, "_form_checked", dying)
        assert outcome(check_batch(batch_of(), forms)) == serial  # that form checked here instead


def test_fork_call_gives_the_result_raises_the_error_and_says_when_its_worker_died():
    import multiprocessing
    import os

    from consolidator.cores import WorkerDied, fork_call

    def fails(n):
        raise ValueError(f"第{n}个")

    assert fork_call(lambda n: (n * 2, os.getpid()), 21)()[0] == 42
    with pytest.raises(ValueError, match="第3个"):
        fork_call(fails, 3)()
    if "fork" in multiprocessing.get_all_start_methods():
        assert fork_call(lambda n: os.getpid(), 0)() != os.getpid()
        with pytest.raises(WorkerDied, match="exit code 7"):
            fork_call(lambda n: os._exit(n), 7)()
