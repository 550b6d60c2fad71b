"""The workbook's in-sheet checks against the checker, cell by cell, in a real spreadsheet program.

Returns are filled with every kind of fault a park makes outside the enterprise list (empty required
cells, "—" for nothing, text in number cells, a fraction in a whole-number cell, numbers outside their
range or their plausible range, a 10-digit mobile, a malformed address, too long a text, a missing heading,
an overwritten formula, broken rules, "核实无误" as a reason) and with what the checker accepts ("1,709.6",
full-width digits, "约100", units, a real reason); headless LibreOffice recalculates them; the 校验提示 texts
it shows are read back and mapped to the checks they stand for (write/template: Build.row_checks, each with
its finding code and field), and compared with the errors and warnings `check` finds in the same saved
file: the same (sheet, cell, code), nothing more, nothing less, and no error value anywhere.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from consolidator.check.batch import check_batch
from consolidator.read.sources import Source
from consolidator.read.workers import read_one
from consolidator.samples import clean_return
from consolidator.write.template import filled_workbook_bytes
from consolidator.write.template.build import build
from consolidator.write.template.checks import MARKS, _cascades

from .conftest import load_values

pytestmark = pytest.mark.libreoffice

ERROR_VALUES = ("#VALUE!", "#NAME?", "#DIV/0!", "#REF!", "#N/A", "#NUM!", "#NULL!", "Err:")
INTRO_300 = "园区坚持创新驱动发展战略，着力推进主导产业集群化发展，" * 13  # about 350 characters


def _faults_of_kind(v: dict, form) -> list[tuple[dict, dict]]:
    """Three returns' changes (values, computed cells overwritten) on a clean return's values `v`."""
    empty_and_types = {
        "head_name": None, "profit_2024": None, "filler_type": None,
        "county": "无", "tax_paid_2023": "—",  # nothing, as the checker reads it
        "revenue_2023": "约一百", "hitech_count": "很多", "total_enterprises": 4390.5,
        "fill_date": "2026年13月1日",
        # accepted as the checker reads them: no hint
        "lead_revenue_2025": f"{v['lead_revenue_2025']:,.2f}", "city_gdp_2024": _full_width(v["city_gdp_2024"]),
        "industrial_land_area": f"约{v['industrial_land_area']}", "value_added_2023": f" {v['value_added_2023']} ",
        "new_enterprises": f"{v['new_enterprises']}个", "managed_area": f"{v['managed_area']}公顷",
    }
    ranges_and_texts = {
        "value_added_2025": -5, "managed_area": 60000, "managed_area_note": "核实无误",
        "revenue_2025": 25000, "revenue_note": "2025年并入周边两个园区，统计范围扩大。",
        "industrial_floor_area": 900, "floor_area_ratio_note": "经核实，数据准确无误。",
        "head_phone": "1391234567", "contact_phone": "0512-6668123",
        "head_email": "head#park.gov.cn", "contact_email": "li@example",
        "park_intro": INTRO_300, "report_text": v["report_text"].replace("三、实践成效", "三、成效"),
        "fill_date": "2025-12-01",
        "little_giant_count": v["srdi_count"] + 1, "little_giant_count_note": "投产确认",
        "total_enterprises": 1,  # every count exceeds it: one finding on 全部企业数量 (check/cascade.py)
    }
    rules = {
        "lead_revenue_2024": round(v["revenue_2024"] * 1.2, 2), "profit_2023": round(v["revenue_2023"] * 0.5, 2),
        "declaration_accepted": "否", "focus_industry": "不存在的产业",
        "lead_industry_2": "光伏", "lead_subfield_2": None, "lead_subfield_3": "高效电池",
        "listed_count": v["listed_count"] + 1, "champion_count": v["total_enterprises"] + 10,
        "developed_area_2024": round(v["developed_area_total"] * 1.5, 2),
        "contact_phone": "+86 139 1234 5678", "head_phone": "(0512)66681234转123",
        "revenue_2023": round(v["revenue_2024"] / 3.5, 2),  # and so its lead revenue and profit exceed it
    }
    overwritten = {"value_added_share_2024": 0.2, "tax_per_mu_2023": 551.03}
    if "import_export" in form.fields:
        empty_and_types["import_export"] = "12.5亿元"  # in a 万元 cell: 125000
        ranges_and_texts["international_cooperation"] = "　"
    if "green_park_title" in form.fields:
        empty_and_types["green_park_title"] = "有"
        overwritten["carbon_intensity"] = 9.5
    returns = [(empty_and_types, {}), (ranges_and_texts, {}), (rules, overwritten)]
    if "green_factory_count" in form.fields:  # a cascade of the category's own rule only
        over = v["total_enterprises"] + 5
        returns.append(({"green_factory_count": over, "green_supply_chain_count": over}, {}))
    return returns


def _full_width(x: float) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in f"{x}")


def _overwrite(values: dict):
    def edit(wb, layout):
        for fid, value in values.items():
            sheet, coord = layout.cells[fid]
            wb[sheet][coord].value = value
    return edit


def recalculate(soffice, paths: list[Path], out: Path) -> list[Path]:
    """Open every file in headless LibreOffice (one start), recalculate, save as .xlsx into out."""
    exe, profile = soffice
    out.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([exe, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--convert-to",
                             "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), *map(str, paths)],
                            capture_output=True, text=True, timeout=600)
    saved = [out / p.name for p in paths]
    assert result.returncode == 0 and all(p.exists() for p in saved), result.stderr
    return saved


def shown_in_sheet(path: Path, form) -> tuple[set, list]:
    """(sheet, cell, code) of every check whose 校验提示 LibreOffice shows, and the error values it shows."""
    b = build(form)
    wb = load_values(path)
    shown, broken = set(), []
    for (sheet, row), checks in b.row_checks.items():
        text = wb[sheet].cell(row=row, column=7).value or ""
        if isinstance(text, str) and text.startswith(ERROR_VALUES):
            broken.append((sheet, row, text))
            continue
        for ch in checks:
            if MARKS[ch.severity] + ch.message + ("" if ch.detail else " ") in text:
                shown.add((sheet, b.layout.cells[ch.fid][1], ch.code))
    for ws in wb.worksheets:
        for line in ws.iter_rows():
            for c in line:
                if isinstance(c.value, str) and c.value.startswith(ERROR_VALUES):
                    broken.append((ws.title, c.coordinate, c.value))
    return shown, broken


def found_by_checker(path: Path, forms, form) -> set:
    """(sheet, cell, code) of every error and warning `check` reports on the form's sheets for the file,
    of the kinds the sheet can evaluate."""
    raw = read_one(Source(path.name, None, path), forms)
    result = check_batch([raw], forms)
    b = build(form)
    codes = {ch.code for checks in b.row_checks.values() for ch in checks}
    sheets = {s for s, _ in b.layout.cells.values()}
    # a cascade (check/cascade.py) carries the code of its first failing rule; the sheet, one text for the
    # family, the code of the family's first rule
    family = {(b.layout.cells[common][1], r.id): members[0].id for common, members in _cascades(b).values()
              for r in members}
    return {(f.sheet, f.cell, family.get((f.cell, f.code), f.code)) for f in result.findings
            if f.severity in ("error", "warning") and f.code in codes | set(family.values()) and f.sheet in sheets}


@pytest.fixture(scope="module")
def planted(soffice, forms, tmp_path_factory):
    src = tmp_path_factory.mktemp("agreement-src")
    paths, meta = [], []
    for cid, form in forms.items():
        for k, (changes, overwritten) in enumerate(_faults_of_kind(clean_return(form, random.Random(11)).values, form)):
            sample = clean_return(form, random.Random(11))
            sample.values.update(changes)
            path = src / f"{cid}-{k}.xlsx"
            path.write_bytes(filled_workbook_bytes(form, sample.values, sample.enterprises,
                                                   edit=_overwrite(overwritten)))
            paths.append(path)
            meta.append((cid, k))
    clean = []
    for cid, form in forms.items():
        sample = clean_return(form, random.Random(12))
        path = src / f"{cid}-clean.xlsx"
        path.write_bytes(filled_workbook_bytes(form, sample.values, sample.enterprises))
        clean.append(path)
        meta.append((cid, "clean"))
    saved = recalculate(soffice, paths + clean, tmp_path_factory.mktemp("agreement-out"))
    return list(zip(meta, saved))


def test_the_sheet_shows_exactly_what_the_checker_finds(planted, forms):
    bad, agreed, total_codes = [], 0, set()
    for (cid, k), path in planted:
        form = forms[cid]
        shown, broken = shown_in_sheet(path, form)
        found = found_by_checker(path, forms, form)
        assert broken == [], (cid, k, broken)
        agreed += len(shown & found)
        total_codes |= {c for _, _, c in found}
        for item in sorted(found - shown):
            bad.append(f"{cid}-{k}: the checker finds {item}, the sheet shows nothing")
        for item in sorted(shown - found):
            bad.append(f"{cid}-{k}: the sheet shows {item}, the checker finds nothing")
    assert bad == [], "\n".join(bad)
    assert agreed >= 70, agreed
    # every kind of in-sheet check was planted at least once
    kinds = {"required", "type_number", "type_integer", "type_date", "choice", "range", "plausible",
             "format_phone", "format_email", "max_chars", "report_headings", "formula_mismatch",
             "explanation_invalid", "lead_revenue_le_revenue", "profit_margin", "declaration_accepted",
             "focus_is_lead_industry", "lead_subfield_required", "lead_industry_order", "list_count_matches",
             "count_le_total", "developed_area_by_year", "revenue_yoy", "lead_revenue_share", "development_rate"}
    assert kinds <= total_codes, kinds - total_codes


def test_a_clean_return_shows_no_hint_and_a_blank_template_none(planted, forms):
    for (cid, k), path in planted:
        if k != "clean":
            continue
        shown, broken = shown_in_sheet(path, forms[cid])
        assert shown == set() and broken == []


def test_an_overwritten_formula_is_an_error_in_the_sheet_as_for_the_checker(planted, forms):
    """0.20 typed over 增加值占比 is red (an error), not orange: the plausibility of a computed indicator is
    judged on the value its parts give."""
    for (cid, k), path in planted:
        if k != 2:
            continue
        shown, _ = shown_in_sheet(path, forms[cid])
        cells = {c: code for _, c, code in shown}
        form = forms[cid]
        b = build(form)
        cell = b.layout.cells["value_added_share_2024"][1]
        assert cells.get(cell) == "formula_mismatch"
        assert not any(ch.severity == "warning" and (s, b.layout.cells[ch.fid][1], ch.code) in shown
                       for (s, _), checks in b.row_checks.items() for ch in checks if ch.fid == "value_added_share_2024")


# ---- the helper cells, text by text -----------------------------------------------------------------
NUMBERS = ["1,709.6", "１２３", "约100", "大约5", "近8", "逾12", " 12 ", "—", "无", "/", "n/a", "不适用", "1e3", ".5",
           "5.", "-3", "+4", "1,2,3", "12.5.3", "1-2", "abc", "12%", "35%", "1,000.", "1,000.5", "12,345,678",
           "1234,567", "7个", "7家", "3.5个", "０．５", "1 000", "十", "1e", "e5", "--5", "2E2", "1,00", "约", "12.5亿元",
           "3000万元", "12万元", "45公顷", "12万吨", "0.35", "1e999", "1,234,567.891", "+1,234"]
# Known difference, left out: digits of other scripts ("٣"), which Python's \d reads and the sheet does not.
NOTES = ["核实无误", "经核实，数据准确无误。", "数据无误", "已核实，数据真实准确可靠", "统计口径调整", "投产确认",
         "新厂投产，确认无误", "确认无误。新厂投产", "核实", "无", "2025年并入周边两个园区。", "情况属实",
         "经认真核对，以上数据准确", "该数据已复核无问题", "重新核实过该数据准确", "数据准确无误，系新项目投产所致",
         "abc", "ABCD", "1234", "口径", "因疫情影响停产三个月", "本项数据真实", "确认过", "经反复核实确认数据无误",
         "核实无误核实无误核实无误核实无误核实无误", "核实无误！！！", "“核实无误”", "核 实 无 误", "经核实：准确。",
         "已检查，填报正确", "以上情况属实可靠", "数值无差错", "园区扩区", "（已说明）", "经核实，扩区所致"]
PHONES = ["13912345678", "1391234567", "139123456789", "0512-66681234", "051266681234", "66681234",
          "+86 139 1234 5678", "86 13912345678", "(0512)66681234", "0512-66681234转123", "12345678901",
          "14012345678", "0755-8888888", "021-12345678", "400-123-4567", "13912345678/13812345678",
          "0086-13912345678", "１３９１２３４５６７８", "010 1234 5678", "0512—66681234"]
EMAILS = ["a@b.cn", "name@example.com", "wang#example.com", "li@example", "a@@b.com", "a b@c.com", " x@y.org ",
          "x@y..com", "x@.com", "x@y.c", "x@y.c1", "first.last+tag@sub.domain.gov.cn", "x@y-z.com", "用户@y.com",
          "x@y.com.", "X@Y.COM", "x＠y.com", "x@y．com", "@y.com", "x@"]


def _cell_value(wb, name):
    (sheet, coord), = wb.defined_names[name].destinations
    return wb[sheet][coord.replace("$", "")].value


@pytest.fixture(scope="module")
def helpers(soffice, forms, tmp_path_factory):
    """Ten returns whose number cells, 情况说明, phone numbers and addresses hold the texts above."""
    form = forms["green_safety"]
    numeric = [f for f in form.input_fields() if f.is_numeric]
    notes = [f for f in form.input_fields() if f.explains]
    src = tmp_path_factory.mktemp("helpers-src")
    paths, planted = [], []
    for k in range(10):
        sample = clean_return(form, random.Random(20 + k))
        given = {}
        for i, f in enumerate(numeric):
            given[f.id] = NUMBERS[(k * len(numeric) + i) % len(NUMBERS)]
        for i, f in enumerate(notes):
            given[f.id] = NOTES[(k * len(notes) + i) % len(NOTES)]
        for fid, texts, j in (("head_phone", PHONES, 0), ("contact_phone", PHONES, 1), ("head_email", EMAILS, 0),
                              ("contact_email", EMAILS, 1)):
            given[fid] = texts[(2 * k + j) % len(texts)]
        sample.values.update(given)
        path = src / f"helpers-{k}.xlsx"
        path.write_bytes(filled_workbook_bytes(form, sample.values, sample.enterprises))
        paths.append(path)
        planted.append(given)
    saved = recalculate(soffice, paths, tmp_path_factory.mktemp("helpers-out"))
    return form, list(zip(planted, [load_values(p) for p in saved]))


def test_numbers_are_read_as_the_checker_reads_them(helpers):
    from consolidator.read.normalize import read_value

    form, books = helpers
    bad = []
    for given, wb in books:
        for fid, text in given.items():
            f = form.fields[fid]
            if not f.is_numeric:
                continue
            got = read_value(f, text)
            want = 0 if got.value is None and not got.problem else {"type_number": 2, "type_integer": 3}.get(
                got.problem, 1)
            st, num = _cell_value(wb, f"st_{fid}"), _cell_value(wb, f"num_{fid}")
            if st != want or (want == 1 and abs(num - got.value) > 1e-9 * max(1, abs(got.value))):
                bad.append(f"{fid} ({f.unit}) {text!r}: sheet {st}/{num!r}, checker {want}/{got.value!r}")
    assert bad == [], "\n".join(bad)


def test_reasons_phones_and_addresses_are_judged_as_the_checker_judges_them(helpers):
    from consolidator.check.explain import is_explanation
    from consolidator.rules.formats import email_ok, phone_ok

    form, books = helpers
    bad = []
    for given, wb in books:
        for fid, text in given.items():
            f = form.fields[fid]
            if f.explains:
                got, want = _cell_value(wb, f"ok_{fid}"), is_explanation(text.strip())
            elif f.format in ("phone", "email"):
                got = _cell_value(wb, f"fmt_{fid}")
                want = (phone_ok if f.format == "phone" else email_ok)(text.strip())
            else:
                continue
            if got is not want:
                bad.append(f"{fid} {text!r}: sheet {got!r}, checker {want!r}")
    assert bad == [], "\n".join(bad)
