"""The templates in a real spreadsheet program: headless LibreOffice recalculates every formula."""

import math
import random

import numpy as np
import pandas as pd
import pytest

from consolidator.check.derive import recompute
from consolidator.samples import clean_return
from consolidator.write.template import (
    filled_workbook_bytes,
    template_filename,
    workbook_bytes,
)

from .conftest import libreoffice_resave, load_values

pytestmark = pytest.mark.libreoffice

ERROR_VALUES = ("#VALUE!", "#NAME?", "#DIV/0!", "#REF!", "#N/A", "#NUM!", "#NULL!", "Err:")


def cell_by_name(wb, fid):
    (sheet, coord), = wb.defined_names[f"fld_{fid}"].destinations
    return wb[sheet][coord.replace("$", "")]


def row_check_text(wb, fid):
    cell = cell_by_name(wb, fid)
    return cell.parent.cell(row=cell.row, column=7).value or ""


def all_check_texts(wb):
    out = []
    for ws in wb.worksheets:
        for row in ws.iter_rows(min_col=7, max_col=7):
            for c in row:
                if isinstance(c.value, str) and ("【错误】" in c.value or "【请核实】" in c.value):
                    out.append((ws.title, c.coordinate, c.value))
    return out


def error_cells(wb):
    return [(ws.title, c.coordinate, c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if isinstance(c.value, str) and c.value.startswith(ERROR_VALUES)]


def frame_for(form, sample):
    row = {}
    for fid, value in sample.values.items():
        f = form.fields[fid]
        row[fid] = float(value) if f.is_numeric and value is not None else value
    counts = {}
    for e in sample.enterprises:
        counts[e["category"]] = counts.get(e["category"], 0) + 1
    for c in form.enterprise_list.categories:
        row[f"list_count__{c.id}"] = counts.get(c.label, 0)
    frame = pd.DataFrame([row])
    for f in form.fields.values():
        if f.id not in frame:
            frame[f.id] = np.nan if f.is_numeric else None
    return recompute(form, frame)


@pytest.fixture(scope="module")
def blank(soffice, forms, tmp_path_factory):
    src = tmp_path_factory.mktemp("blank-src")
    out = tmp_path_factory.mktemp("blank-out")
    result = {}
    for cid, form in forms.items():
        path = src / template_filename(form)
        path.write_bytes(workbook_bytes(form))
        result[cid] = load_values(libreoffice_resave(soffice, path, out))
    return result


def test_blank_templates_show_no_error_and_no_warning(blank, forms):
    for cid, wb in blank.items():
        assert error_cells(wb) == []
        assert all_check_texts(wb) == []
        for f in forms[cid].derived_fields():
            assert cell_by_name(wb, f.id).value in (None, ""), f.id


def test_defined_names_and_identity_survive_a_save_in_libreoffice(blank, forms):
    for cid, wb in blank.items():
        for fid in forms[cid].fields:
            assert f"fld_{fid}" in wb.defined_names, fid
        meta = {r[0].value: r[1].value for r in wb["_meta"].iter_rows()}
        assert meta["category"] == cid


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_formulas_give_the_checkers_values(soffice, forms, tmp_path, seed):
    for cid, form in forms.items():
        sample = clean_return(form, random.Random(seed))
        src = tmp_path / f"{cid}.xlsx"
        src.write_bytes(filled_workbook_bytes(form, sample.values, sample.enterprises))
        wb = load_values(libreoffice_resave(soffice, src, tmp_path / "out"))
        expected = frame_for(form, sample).iloc[0]
        assert error_cells(wb) == []
        assert all_check_texts(wb) == [], "a clean return must not warn"
        for f in form.derived_fields():
            got, want = cell_by_name(wb, f.id).value, expected[f.id]
            if f.is_numeric:
                assert isinstance(got, (int, float)), (f.id, got)
                assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9), (f.id, got, want)
            else:
                assert got == want, f.id


def plant(values):
    v = dict(values)
    v["lead_revenue_2024"] = round(v["revenue_2024"] * 1.2, 2)
    v["profit_2023"] = round(v["revenue_2023"] * 0.5, 2)
    v["developed_area_total"] = round(v["managed_area"] * 1.1, 2)
    v["listed_count"] += 1
    v["focus_industry"] = "不存在的产业"
    v["lead_industry_2"], v["lead_subfield_2"] = "光伏", None
    v["lead_industry_3"], v["lead_subfield_3"] = None, "高效电池"
    v["revenue_2025"] = round(v["revenue_2024"] * 4, 2)
    v["srdi_count"] = v["little_giant_count"] - 1
    v["declaration_accepted"] = "否"
    return v


def test_in_sheet_warnings_agree_with_the_rules(soffice, forms, tmp_path):
    for cid, form in forms.items():
        sample = clean_return(form, random.Random(7))
        sample.values = plant(sample.values)
        src = tmp_path / f"{cid}.xlsx"
        src.write_bytes(filled_workbook_bytes(form, sample.values, sample.enterprises))
        wb = load_values(libreoffice_resave(soffice, src, tmp_path / "out"))
        frame = frame_for(form, sample)
        violated = {r.key for r in form.rules if bool(r.check.violations(frame).iloc[0])}
        assert {
            "lead_revenue_le_revenue[year=2024]", "profit_margin[year=2023]", "developed_le_managed",
            "list_count_matches[category=listed]", "focus_is_lead_industry", "lead_subfield_required[index=2]",
            "lead_industry_order[index=3]", "revenue_yoy[year=2025,prev_year=2024]", "little_giant_le_srdi",
            "declaration_accepted",
        } <= violated
        for rule in form.rules:
            shown = rule.message in row_check_text(wb, rule.target)
            assert shown == (rule.key in violated), rule.key


def test_an_explained_warning_is_no_longer_shown(soffice, forms, tmp_path):
    form = forms["green_safety"]
    sample = clean_return(form, random.Random(8))
    sample.values["profit_2023"] = round(sample.values["revenue_2023"] * 0.5, 2)
    sample.values["profit_note"] = "2023年处置土地收益一次性计入利润总额。"
    src = tmp_path / "explained.xlsx"
    src.write_bytes(filled_workbook_bytes(form, sample.values, sample.enterprises))
    wb = load_values(libreoffice_resave(soffice, src, tmp_path / "out"))
    rule = next(r for r in form.rules if r.key == "profit_margin[year=2023]")
    assert rule.message not in row_check_text(wb, "profit_2023")
    # an error cannot be explained away
    assert all_check_texts(wb) == []
