import re

import pytest

from consolidator.rules import RuleFileError, load_forms
from consolidator.write.catalogue import render
from consolidator.write.template import build_workbook, field_name

from .conftest import SEEDS

SEED_FILES = {"green_safety": "000_090372f2aa8451fd.txt", "open_cooperation": "001_1dc7d2c8f4f9f500.txt"}
FOOTNOTE = re.compile(r"\[footnoteRef:(\d+)\]\s*\[\1:\s*(.*?)\]")

# Seed lines that are layout, not text: what must be found instead.
LAYOUT_LINES = {
    "、": [],  # a stray character in the green form's table
    "政府/事业单位央国企民企其他": ["政府/事业单位", "央国企", "民企", "其他"],
    "填写日期：年月日": ["填写日期"],
    "填写单位名称：（加盖单位公章）": ["填写单位名称", "（加盖单位公章）"],
    "创新实践名称：": ["创新实践名称"],
    "工业园区名称：": ["工业园区名称"],
}


def squash(text: str) -> str:
    return re.sub(r"[\s\u3000]+", "", text)


def seed_text(category: str) -> str:
    return (SEEDS / SEED_FILES[category]).read_text(encoding="utf-8")


def workbook_text(form) -> str:
    wb, _ = build_workbook(form)
    parts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            parts += [str(c.value) for c in row if isinstance(c.value, (str, int))]
        parts += [dv.formula1 or "" for dv in ws.data_validations.dataValidation]
    return squash("\n".join(parts))


@pytest.mark.parametrize("category", SEED_FILES)
def test_every_line_of_the_official_form_is_in_the_template(forms, category):
    text = seed_text(category).replace("[bookmark: _GoBack]", "")
    text = FOOTNOTE.sub("", text)
    have = workbook_text(forms[category])
    missing = []
    for line in text.splitlines():
        line = squash(line)
        if not line:
            continue
        for needle in LAYOUT_LINES.get(line, [line]):
            if needle not in have:
                missing.append(needle)
    assert missing == []


@pytest.mark.parametrize("category", SEED_FILES)
def test_footnotes_are_the_forms_own_words(forms, category):
    seed = {int(n): t.strip() for n, t in FOOTNOTE.findall(seed_text(category))}
    form = forms[category]
    ours = {}
    for f in form.fields.values():
        if f.footnote:
            ours[f.footnote.number] = f.footnote.text
    for s in form.sheets:
        for b in s.blocks:
            if b.footnote:
                ours[b.footnote.number] = b.footnote.text
    assert ours == seed


@pytest.mark.parametrize("category", SEED_FILES)
def test_form_labels_are_exact(forms, category):
    seed = squash(seed_text(category))
    wrong = [f.label for f in forms[category].fields.values()
             if f.source == "form" and squash(f.label) not in seed]
    assert wrong == []


def test_footnote_formulas_have_inputs_for_their_parts(forms):
    green = forms["green_safety"]
    expected = {
        "value_added_share_2025": "value_added_2025 / city_gdp_2025 * 100",
        "tax_per_mu_2023": "tax_paid_2023 / (developed_area_2023 * 15)",
        "floor_area_ratio": "industrial_floor_area / industrial_land_area",
        "carbon_intensity": "carbon_emissions / energy_consumption",
        "solid_waste_utilization_rate":
            "solid_waste_utilized / (solid_waste_generated + solid_waste_stock_utilized) * 100",
        "water_intensity": "new_water / above_scale_value_added",
    }
    for fid, formula in expected.items():
        f = green.fields[fid]
        assert f.formula.text == formula
        for part in f.formula.names:
            p = green.fields[part]
            assert p.is_numeric and (p.required or p.is_derived), part


def test_both_categories_share_the_common_part(forms):
    g, o = forms["green_safety"], forms["open_cooperation"]
    assert [s.title for s in g.sheets] == [s.title for s in o.sheets]
    shared = set(g.fields) & set(o.fields)
    assert {"revenue_2025", "park_name", "report_text", "srdi_count"} <= shared
    assert "carbon_intensity" in set(g.fields) - shared
    assert "import_export" in set(o.fields) - shared
    assert {c.id for c in g.enterprise_list.categories} - {c.id for c in o.enterprise_list.categories} == \
        {"green_factory", "green_supply_chain"}


def test_every_count_except_the_total_is_backed_by_a_list(forms):
    for form in forms.values():
        counts = {f.id for f in form.fields.values() if f.type == "integer"} - {"total_enterprises"}
        assert {c.count_field for c in form.enterprise_list.categories} == counts
        keyed = {r.target for r in form.rules if r.id == "list_count_matches"}
        assert keyed == counts


def _edit(path, old, new, count=1):
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


@pytest.mark.parametrize("file, old, new, fragments", [
    ("common.yaml", "            required: true\n            footnote: {number: 0",
     "            requird: true\n            footnote: {number: 0",
     ["common.yaml", "sheets[2].blocks[0].fields[0].requird", "不认识的键", "第"]),
    ("common.yaml", 'plausible: "[1, 20000]"', 'plausible: "[1, 20000"',
     ["common.yaml", "plausible", "区间"]),
    ("common.yaml", "formula: value_added_{year} / city_gdp_{year} * 100",
     "formula: value_added_{year} / city_gdpp_{year} * 100", ["formula", "不存在的字段：city_gdpp_2025"]),
    ("green_safety.yaml", "  direction: 推动", "  directions: 推动", ["green_safety.yaml", "{direction}", "占位符"]),
    ("common.yaml", "- {id: county, label", "- {id: province_city, label", ["字段编号“province_city”重复"]),
    ("common.yaml", "formula: industrial_floor_area / industrial_land_area",
     "formula: floor_area_ratio / industrial_land_area", ["循环引用"]),
    ("common.yaml", "    target: developed_area_total\n    message: 实际开发面积不能",
     "    target: developed_area\n    message: 实际开发面积不能", ["target", "不是字段编号"]),
    ("common.yaml", "    severity: warning\n    per_year: true\n    check: lead_revenue_{year} >= 0.3",
     "    severity: warn\n    per_year: true\n    check: lead_revenue_{year} >= 0.3", ["severity", "取值不在允许范围内"]),
    ("open_cooperation.yaml", "category:\n  id: open_cooperation", "category:\n  id: [open", ["YAML 格式错误", "第"]),
    ("common.yaml", "type: choice\n            choices: [政府", "type: text\n            choices: [政府",
     ["只有单选字段"]),
])
def test_rule_file_mistakes_name_the_file_and_the_key(rules_copy, file, old, new, fragments):
    _edit(rules_copy / file, old, new)
    with pytest.raises(RuleFileError) as err:
        load_forms(rules_copy)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_error_points_at_the_line(rules_copy):
    _edit(rules_copy / "common.yaml", 'plausible: "[1, 20000]"', 'plausible: "[1, 20000"')
    lines = (rules_copy / "common.yaml").read_text(encoding="utf-8").splitlines()
    with pytest.raises(RuleFileError) as err:
        load_forms(rules_copy)
    assert "[1, 20000" in lines[err.value.line - 1]


THIRD = """
category:
  id: digital
  name: 推动数字化转型类
  order: 3
texts:
  unit_notes: 亩均税收按 1公顷=15亩 换算。
  example_practice_name: 《数据驱动智造升级》
  direction: 推动数字化转型。
  background: 本部分说明数字化基础。
blocks:
  - sheet: development
    id: digital
    kind: fields
    title: 数字化情况
    fields:
      - id: cloud_rate
        label: 企业上云率（%）
        unit: "%"
        type: number
        formula: cloud_firms / all_firms * 100
        tolerance: 0.01
        range: "[0, 100]"
        plausible: "[5, 100]"
      - {id: cloud_firms, label: 上云企业数（个）, type: integer, source: added, part_of: cloud_rate, required: true, range: "[0, )"}
      - {id: all_firms, label: 规上工业企业数（个）, type: integer, source: added, part_of: cloud_rate, required: true, range: "(0, )"}
      - {id: smart_factory_count, label: 智能工厂数量（个）, type: integer, required: true, range: "[0, )"}
list_categories:
  - {id: smart_factory, label: 智能工厂, count_field: smart_factory_count}
rules:
  - id: cloud_le_all
    severity: error
    check: cloud_firms <= all_firms
    target: cloud_firms
    message: 上云企业数不能大于规上工业企业数。
"""


def test_a_new_category_is_a_rule_file_and_no_code(rules_copy):
    (rules_copy / "digital.yaml").write_text(THIRD, encoding="utf-8")
    forms = load_forms(rules_copy)
    assert list(forms) == ["green_safety", "open_cooperation", "digital"]
    digital = forms["digital"]
    assert digital.fields["cloud_rate"].formula.names == ["cloud_firms", "all_firms"]
    assert "cloud_rate_note" in digital.fields
    assert any(r.key == "list_count_matches[category=smart_factory]" for r in digital.rules)
    wb, layout = build_workbook(digital)
    sheet, coord = layout.cells["cloud_rate"]
    assert wb[sheet][coord].value.startswith("=IF(")
    assert field_name("smart_factory_count") in wb.defined_names
    assert "智能工厂" in [c.value for row in wb["企业清单"].iter_rows() for c in row]
    assert "推动数字化转型类" in render(forms)
