"""One root cause, one finding (check/cascade.py): a rule failing for several fields against one common
field is one finding on the common field's cell, which lists the fields it contradicts."""

import datetime as dt

from consolidator.check.batch import check_batch
from consolidator.check.cascade import common_fields
from consolidator.check.history import histories
from consolidator.check.results import STATUS_ERRORS
from consolidator.findings import display
from consolidator.read.roster import Park
from consolidator.rules import load_forms

from .conftest import layout_of, raw_return, sample

COUNTS = ["new_enterprises", "listed_count", "unicorn_count", "hitech_count", "champion_count",
          "little_giant_count", "srdi_count", "green_factory_count", "green_supply_chain_count"]


def _run(forms, *raws, roster=None):
    return check_batch(list(raws), forms, roster)


def _cell(form, fid):
    return layout_of(form).cells[fid]


def test_the_common_field_is_read_from_the_rules(forms):
    form = forms["green_safety"]
    families = common_fields(form)
    by_rule = {}
    for (rule_id, target), (rule, common) in families.items():
        assert rule.target == target and rule.id == rule_id
        by_rule.setdefault(rule_id, set()).add(common)
    assert by_rule["count_le_total"] == by_rule["green_count_le_total"] == {"total_enterprises"}
    assert by_rule["developed_area_by_year"] == {"developed_area_total"}
    # each year against its own year, one rule instance per category, a single check: nothing in common
    for rule_id in ("lead_revenue_le_revenue", "profit_margin", "revenue_yoy", "list_count_matches",
                    "little_giant_le_srdi", "developed_le_managed"):
        assert rule_id not in by_rule


def test_a_new_rule_written_for_several_fields_is_grouped_without_code(rules_copy):
    """Rules-driven: a rule added to the rule files groups the same way, no field id named in the code."""
    path = rules_copy / "common.yaml"
    text = path.read_text(encoding="utf-8")
    rule = ("  - id: area_le_managed\n    severity: error\n    for_each:\n"
            "      item: [industrial_land_area, developed_area_total]\n"
            "    check: \"{item} <= managed_area\"\n    target: \"{item}\"\n"
            "    message: 该面积不能大于实际管理面积。\n")
    path.write_text(text.replace("rules:\n", "rules:\n" + rule, 1), encoding="utf-8")
    mine = load_forms(rules_copy)
    form = mine["green_safety"]
    assert {common for (rid, _), (_, common) in common_fields(form).items() if rid == "area_le_managed"} == {
        "managed_area"}
    s = sample(form, 3)
    s.values["managed_area"] = 1.0
    result = _run(mine, raw_return(form, s.values, s.enterprises))
    hits = [f for f in result.findings if f.code == "area_le_managed"]
    assert [(f.field, (f.sheet, f.cell)) for f in hits] == [("managed_area", _cell(form, "managed_area"))]
    assert form.fields["industrial_land_area"].display_label in hits[0].message


def test_all_enterprises_zero_is_one_finding_on_its_cell(forms):
    form = forms["green_safety"]
    s = sample(form, 11)
    s.values["total_enterprises"] = 0
    result = _run(forms, raw_return(form, s.values, s.enterprises))
    on_counts = [f for f in result.findings if f.code in ("count_le_total", "green_count_le_total")]
    assert len(on_counts) == 1
    f = on_counts[0]
    assert (f.field, f.sheet, f.cell, f.severity, f.value) == (
        "total_enterprises", *_cell(form, "total_enterprises"), "error", "0")
    above = [fid for fid in COUNTS if fid in form.fields and (s.values.get(fid) or 0) > 0]
    assert len(above) >= 2
    for fid in above:  # every field it contradicts, with its value and cell
        coord = _cell(form, fid)[1]
        assert f"{form.fields[fid].display_label}为{display(s.values[fid])}（{coord}）" in f.message
    assert "该类企业数量不能大于全部企业数量" in f.message
    top = max(above, key=lambda fid: s.values[fid])
    assert f.expected == f"不小于{display(s.values[top])}（{form.fields[top].display_label}）"
    assert result.returns[0].status == STATUS_ERRORS


def test_only_the_fields_above_the_total_are_listed(forms):
    form = forms["open_cooperation"]
    s = sample(form, 12)
    counts = {fid: s.values[fid] for fid in COUNTS if fid in form.fields}
    ranked = sorted(counts, key=counts.get)
    total = counts[ranked[len(ranked) // 2]]  # about half the counts are above it
    s.values["total_enterprises"] = total
    result = _run(forms, raw_return(form, s.values, s.enterprises))
    (f,) = [f for f in result.findings if f.code == "count_le_total"]
    for fid, n in counts.items():
        assert (form.fields[fid].display_label + "为") in f.message if n > total else \
            (form.fields[fid].display_label + "为") not in f.message


def test_a_single_failure_stays_on_its_own_cell(forms):
    form = forms["open_cooperation"]
    s = sample(form, 5)
    # every count within the total but one (its list no longer matches it either: another rule's finding)
    s.values["total_enterprises"] = max(s.values[fid] or 0 for fid in COUNTS if fid in form.fields)
    s.values["hitech_count"] = s.values["total_enterprises"] + 1
    result = _run(forms, raw_return(form, s.values, s.enterprises))
    hits = [f for f in result.findings if f.code == "count_le_total"]
    assert [(f.field, (f.sheet, f.cell)) for f in hits] == [("hitech_count", _cell(form, "hitech_count"))]
    assert hits[0].message == "该类企业数量不能大于全部企业数量。"


def test_a_corrected_return_fixes_the_one_grouped_problem(forms):
    """The superseded return's own findings are grouped too, so the history says one problem was fixed."""
    form = forms["green_safety"]
    park = Park("P1", "甲园区", "江苏省苏州市", "工业园区", "green_safety", "联系人", "p1@x.cn", 2)
    first = sample(form, 21, park_name=park.name)
    first.values["total_enterprises"] = 0
    second = sample(form, 21, park_name=park.name)
    raws = [raw_return(form, first.values, first.enterprises, file="甲.xlsx", park_id="P1",
                       mtime=dt.datetime(2026, 11, 20, 9)),
            raw_return(form, second.values, second.enterprises, file="甲(修改版).xlsx", park_id="P1",
                       mtime=dt.datetime(2026, 11, 22, 9))]
    result = _run(forms, *raws, roster=[park])
    old = next(r for r in result.returns if r.file == "甲.xlsx")
    assert [f.field for f in old.version_findings if f.code == "count_le_total"] == ["total_enterprises"]
    history = histories(result)["P1"]
    fixed = [(f.code, f.field) for f in history.fixed if f.code in ("count_le_total", "green_count_le_total")]
    assert fixed == [("count_le_total", "total_enterprises")]


def test_the_feedback_mail_lists_the_grouped_finding_once(forms, tmp_path):
    from consolidator.mail.compose import DEFAULT_TEMPLATES
    from consolidator.mail.plan import plan_feedback
    from consolidator.write.template import filled_workbook_bytes

    form = forms["green_safety"]
    park = Park("P1", "甲园区", "江苏省苏州市", "工业园区", "green_safety", "联系人", "p1@x.cn", 2)
    s = sample(form, 11, park_name=park.name)
    s.values["total_enterprises"] = 1
    path = tmp_path / "甲.xlsx"
    path.write_bytes(filled_workbook_bytes(form, s.values, s.enterprises))
    raw = raw_return(form, s.values, s.enterprises, file=path.name, park_id="P1")
    raw.source.path = path
    result = _run(forms, raw, roster=[park])
    (out,), _ = plan_feedback(result, forms, DEFAULT_TEMPLATES, {"office": "省工信厅"})
    assert out.body.count("该类企业数量不能大于全部企业数量") == 1
    assert form.fields["total_enterprises"].display_label in out.body
