"""rules/ drives every output: a field added to a rule file, with no code change, reaches the template,
the checker, the summary, the evaluation sheet and the docs; the roles, sections and charts the code
reads are declared in rules/common.yaml and checked when the rules are loaded."""

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest

from consolidator.check.batch import check_batch
from consolidator.read.normalize import normalise_return
from consolidator.read.sources import Source
from consolidator.read.workbook import read_return
from consolidator.rules import RuleFileError, load_forms
from consolidator.write.catalogue import render
from consolidator.write.evaluation import build_evaluation
from consolidator.write.summary import build_summary
from consolidator.write.template import (
    build_workbook,
    field_name,
    filled_workbook_bytes,
)
from consolidator.write.xlsx import workbook_to_bytes

from .conftest import sample

NEW_FIELD = """      - id: pv_capacity
        label: 分布式光伏装机容量（万千瓦）
        unit: 万千瓦
        type: number
        required: true
        range: "[0, 500]"
"""
LABEL = "分布式光伏装机容量（万千瓦）"


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def extended(rules_copy):
    """rules/ with a number field added to the block 绿色安全情况 of green_safety.yaml."""
    _edit(rules_copy / "green_safety.yaml", "      - {id: green_factory_count,", NEW_FIELD + "      - {id: green_factory_count,")
    return load_forms(rules_copy)


def _read(form, forms, values, enterprises, name):
    data = filled_workbook_bytes(form, values, enterprises)
    raw = read_return(Source(name, dt.datetime(2026, 11, 20, 9, 0), Path(name), data=data), forms)
    normalise_return(raw, form)
    return raw


def test_a_new_field_reaches_every_output_without_code(extended):
    forms = extended
    green = forms["green_safety"]
    assert green.fields["pv_capacity"].block == "green_safety"

    wb, layout = build_workbook(green)  # the template: a named input cell
    assert field_name("pv_capacity") in wb.defined_names and "pv_capacity" in layout.cells

    good, bad = sample(green, 11, pv_capacity=120.5), sample(green, 12, pv_capacity=9999)
    raws = [_read(green, forms, s.values, s.enterprises, f"{n}.xlsx") for n, s in (("甲", good), ("乙", bad))]
    result = check_batch(raws, forms)
    by_file = {r.file: r for r in result.returns}
    hits = [f for f in by_file["乙.xlsx"].findings if f.field == "pv_capacity"]
    assert [f.code for f in hits] == ["range"] and hits[0].value in ("9999", 9999, "9999.0")
    assert not [f for f in by_file["甲.xlsx"].findings if f.field == "pv_capacity"]
    assert by_file["甲.xlsx"].values["pv_capacity"] == 120.5

    summary = openpyxl.load_workbook(io.BytesIO(workbook_to_bytes(build_summary(result, forms)[0])))
    headers = [c.value for row in summary[green.category_name].iter_rows(max_row=5) for c in row]
    assert LABEL in headers

    rets = [by_file["甲.xlsx"]]
    book = openpyxl.load_workbook(io.BytesIO(build_evaluation(rets, forms)[0]))
    column_a = [c.value for c in book.worksheets[1]["A"]]
    own, after = column_a.index("四、绿色安全情况"), column_a.index("五、工业园区简介")
    rows = [[c.value for c in row] for row in book.worksheets[1].iter_rows(min_row=own + 1, max_row=after)]
    assert any(LABEL in row and 120.5 in row for row in rows)  # in its section, with its value

    assert "`pv_capacity`" in render(forms) and LABEL in render(forms)


def test_a_role_naming_an_unknown_field_is_a_rule_file_error(rules_copy):
    _edit(rules_copy / "common.yaml", "  city: province_city", "  city: province_town")
    lines = (rules_copy / "common.yaml").read_text(encoding="utf-8").splitlines()
    with pytest.raises(RuleFileError) as err:
        load_forms(rules_copy)
    message = str(err.value)
    assert "common.yaml" in message and "roles.city" in message and "province_town" in message
    assert "province_town" in lines[err.value.line - 1]


@pytest.mark.parametrize("old, new, fragments", [
    ("  fill_date: fill_date", "  fill_date: park_name", ["roles.fill_date", "date"]),
    ("  practice_name: practice_name  #", "  practice_nam: practice_name  #", ["roles.practice_nam", "不认识的键"]),
    ("  identifying: [park_name,", "  identifying: [park_nam,", ["evaluation.identifying[0]", "park_nam"]),
    ("  region: [province_city, county]", "  region: [province_city, countie]", ["evaluation.region[1]", "countie"]),
    ("  list_identifying: [name, credit_code]", "  list_identifying: [name, credit]",
     ["evaluation.list_identifying[1]", "credit"]),
    ("  list_identifying: [name, credit_code]", "  list_identifying: [category]",
     ["evaluation.list_identifying[0]", "类别"]),
    ("- field: focus_industry", "- field: focus_industri", ["evaluation.sections[0].rows[1].field", "focus_industri"]),
    ('format: "{lead_industry}（{lead_subfield}）"', 'format: "{lead_industry}（{lead_subfeld}）"',
     ["evaluation.sections[0].rows[2].format", "lead_subfeld"]),
    ("blocks: [land, enterprises]", "blocks: [land, enterprise]", ["evaluation.sections[3].blocks[1]", "enterprise"]),
    ("{title: 七、专家评分, show: scoring}", "{title: 七、专家评分, show: score}", ["evaluation.sections[7].show"]),
    ("{title: 七、专家评分, show: scoring}", "{title: 七、专家评分, show: text, field: report_text}", ["show: scoring"]),
    ("{title: 五、工业园区简介, show: text, field: park_intro}", "{title: 五、工业园区简介, show: text}",
     ["evaluation.sections[5]", "field"]),
    ("- {family: revenue, year: 2025}", "- {family: revenu, year: 2025}", ["summary.charts[0].family", "revenu"]),
    ("- {family: revenue, year: 2025}", "- {family: revenue, year: 2022}", ["summary.charts[0].year", "2025"]),
    ("- {family: revenue, year: 2025}", "- {family: park_name}", ["summary.charts[0].family", "数字"]),
    ("    summary_group: block", "    summary_group: blocks", ["sheets[4].summary_group", "取值不在允许范围内"]),
])
def test_what_the_code_reads_from_common_yaml_is_checked(rules_copy, old, new, fragments):
    _edit(rules_copy / "common.yaml", old, new)
    with pytest.raises(RuleFileError) as err:
        load_forms(rules_copy)
    assert "common.yaml" in str(err.value) and err.value.line
    for fragment in fragments:
        assert fragment in str(err.value)


def test_sections_and_charts_follow_the_rule_files(rules_copy):
    """Reordering the sections, renaming one and charting another field changes the outputs, not the code."""
    _edit(rules_copy / "common.yaml", "    - {title: 五、工业园区简介, show: text, field: park_intro}\n", "")
    _edit(rules_copy / "common.yaml", "    - {title: 二、主要指标（近三年）, show: years}",
          "    - {title: 园区简介, show: text, field: park_intro}\n    - {title: 二、主要指标（近三年）, show: years}")
    _edit(rules_copy / "common.yaml", "- {family: tax_per_mu, year: 2025}", "- {family: profit, year: 2024, title: 利润}")
    forms = load_forms(rules_copy)
    green = forms["green_safety"]
    assert [s.title for s in green.evaluation.sections][:3] == ["一、创新实践概述", "园区简介", "二、主要指标（近三年）"]
    assert [(c.field, c.title) for c in green.summary.charts] == [("revenue_2025", "2025年营业收入（亿元）"),
                                                                  ("profit_2024", "利润")]
    s = sample(green, 5)
    result = check_batch([_read(green, forms, s.values, s.enterprises, "甲.xlsx")], forms)
    book = openpyxl.load_workbook(io.BytesIO(build_evaluation(result.returns, forms)[0]))
    column_a = [c.value for c in book.worksheets[1]["A"]]
    assert column_a.index("园区简介") < column_a.index("二、主要指标（近三年）")
    summary = openpyxl.load_workbook(io.BytesIO(workbook_to_bytes(build_summary(result, forms)[0])))
    assert [c.value for c in summary["图表"][1]][:3] == ["园区", "2025年营业收入（亿元）", "利润"]
    assert summary["图表"]["C2"].value == pytest.approx(s.values["profit_2024"])


def test_a_field_format_uscc_or_industry_is_checked(rules_copy):
    """`format: uscc` and `format: industry` work on a field as on a list column."""
    _edit(rules_copy / "green_safety.yaml", "      - {id: green_factory_count,", """      - id: operator_code
        label: 运营主体统一社会信用代码
        type: text
        format: uscc
      - id: main_industry
        label: 园区主要行业
        type: text
        format: industry
      - {id: green_factory_count,""")
    forms = load_forms(rules_copy)
    green = forms["green_safety"]
    s = sample(green, 13, operator_code="91320594MA1XXXXXX1", main_industry="C99")
    result = check_batch([_read(green, forms, s.values, s.enterprises, "甲.xlsx")], forms)
    got = {f.field: f for f in result.returns[0].findings if f.field in ("operator_code", "main_industry")}
    assert got["operator_code"].code == "format_uscc" and "校验位" in got["operator_code"].message
    assert got["main_industry"].code == "format_industry" and got["main_industry"].severity == "error"


@pytest.mark.parametrize("old, new, fragment", [
    ("type: choice, required: true, role: category}", "type: choice, required: true}", "role: category"),
    ("required: true, role: name}", "required: true}", "role: name"),
    ("source: added, role: key}", "source: added, role: name}", "只能有一列 role: name"),
    ("type: text, required: true, role: name}", "type: text, required: true, role: key}", "format: uscc"),
])
def test_the_list_columns_roles_are_checked(rules_copy, old, new, fragment):
    _edit(rules_copy / "common.yaml", old, new)
    with pytest.raises(RuleFileError) as err:
        load_forms(rules_copy)
    assert "common.yaml" in str(err.value) and fragment in str(err.value)


def test_a_list_column_added_to_the_rules_is_read_checked_and_summarised(rules_copy):
    _edit(rules_copy / "common.yaml", "    - {id: industry, label: 行业分类,",
          "    - {id: contact, label: 企业联系人, type: text, required: true}\n    - {id: industry, label: 行业分类,")
    forms = load_forms(rules_copy)
    green = forms["green_safety"]
    s = sample(green, 14)
    for k, e in enumerate(s.enterprises):
        e["contact"] = "" if k == 0 else "王经理"
    result = check_batch([_read(green, forms, s.values, s.enterprises, "甲.xlsx")], forms)
    missing = [f for f in result.returns[0].findings if f.code == "list_incomplete"]
    assert len(missing) == 1 and "企业联系人" in missing[0].message and missing[0].field == "list.contact"
    summary = openpyxl.load_workbook(io.BytesIO(workbook_to_bytes(build_summary(result, forms)[0])))
    assert "企业联系人" in [c.value for c in next(summary["企业清单汇总"].iter_rows(max_row=1))]


def test_instructions_speak_only_of_the_categorys_own_fields(forms):
    """The shared 填写说明 must not explain 水耗 (a green_safety field) in the open-cooperation template."""
    texts = {cid: " ".join(p.text for s in f.sheets for b in s.blocks for p in b.paragraphs) for cid, f in forms.items()}
    assert "水耗" in texts["green_safety"] and "水耗" not in texts["open_cooperation"]
