import io
import re
import zipfile

import openpyxl
import pytest

from consolidator.rules.workbook import META_SHEET, PROPERTY_PREFIX
from consolidator.write.template import (
    build_workbook,
    field_name,
    template_filename,
    workbook_bytes,
)

from .conftest import ROOT


@pytest.fixture(scope="module")
def built(forms):
    return {cid: build_workbook(f) for cid, f in forms.items()}


def test_committed_templates_match_the_rules(forms):
    for form in forms.values():
        path = ROOT / "workbook_templates" / template_filename(form)
        assert path.exists(), f"{path.name} is missing: run `consolidator template`"
        import hashlib

        same = hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(workbook_bytes(form)).digest()
        assert same, f"{path.name} no longer matches rules/: run `consolidator template` and commit the result"


def test_generation_is_deterministic(forms):
    form = forms["green_safety"]
    assert workbook_bytes(form) == workbook_bytes(form)


def test_rule_change_changes_the_template(rules_copy):
    from consolidator.rules import load_forms

    text = (rules_copy / "common.yaml").read_text(encoding="utf-8")
    (rules_copy / "common.yaml").write_text(text.replace('plausible: "[1, 20000]"', 'plausible: "[1, 30000]"'),
                                            encoding="utf-8")
    changed = load_forms(rules_copy)["green_safety"]
    original = (ROOT / "workbook_templates" / template_filename(changed)).read_bytes()
    assert workbook_bytes(changed) != original


def test_every_field_has_a_defined_name_at_its_cell(forms, built):
    for cid, (wb, layout) in built.items():
        form = forms[cid]
        assert set(layout.cells) == set(form.fields)
        for fid, (sheet, coord) in layout.cells.items():
            dest = list(wb.defined_names[field_name(fid)].destinations)
            assert dest == [(sheet, "$" + re.sub(r"(\d+)", r"$\1", coord))]


def test_only_input_cells_are_unlocked_and_every_sheet_is_protected(forms, built):
    for cid, (wb, layout) in built.items():
        form = forms[cid]
        input_cells = {(s, c) for fid, (s, c) in layout.cells.items() if not form.fields[fid].is_derived}
        list_sheet = wb[form.enterprise_list.sheet_title]
        for ws in wb.worksheets:
            assert ws.protection.sheet, ws.title
            if ws is list_sheet or ws.title == META_SHEET:
                continue
            for row in ws.iter_rows():
                for c in row:
                    unlocked = c.protection.locked is False
                    if (ws.title, c.coordinate) in input_cells:
                        assert unlocked, (ws.title, c.coordinate)
                    elif unlocked:
                        # the other cells of a merged input cell
                        assert any(c.coordinate in rng and (ws.title, rng.start_cell.coordinate) in input_cells
                                   for rng in ws.merged_cells.ranges), (ws.title, c.coordinate)
        assert wb.security.lockStructure


def test_computed_cells_hold_live_formulas_and_are_locked(forms, built):
    for cid, (wb, layout) in built.items():
        for f in forms[cid].derived_fields():
            sheet, coord = layout.cells[f.id]
            cell = wb[sheet][coord]
            assert isinstance(cell.value, str) and cell.value.startswith("=IF("), f.id
            for name in f.formula.names:  # each part as the checker reads it (write/template/calc.py)
                used = [f"{p}_{name}" for p in ("num", "calc", "txt") if f"{p}_{name}" in cell.value]
                assert used and all(n in wb.defined_names for n in used), (f.id, name)
            assert cell.protection.locked is not False


def _validations(wb):
    out = {}
    for ws in wb.worksheets:
        for dv in ws.data_validations.dataValidation:
            for rng in dv.sqref.ranges:
                out[(ws.title, rng.coord.split(":")[0])] = dv
    return out


def test_drop_downs_and_number_validation(forms, built):
    for cid, (wb, layout) in built.items():
        dvs = _validations(wb)
        for f in forms[cid].input_fields():
            dv = dvs.get(layout.cells[f.id])
            if f.type == "choice":
                assert dv is not None and dv.type == "list", f.id
            elif f.is_numeric:
                assert dv is not None and dv.type == "custom" and "ISNUMBER" in dv.formula1, f.id
                assert ("INT(" in dv.formula1) == (f.type == "integer"), f.id
                assert dv.showErrorMessage and dv.error
            elif f.type == "date":
                assert dv is not None and dv.type == "date"
        focus = dvs[layout.cells["focus_industry"]]
        assert focus.formula1 == "choices_focus_industry"
        dest = list(wb.defined_names["choices_focus_industry"].destinations)[0]
        lead_cells = [layout.cells[f"lead_industry_{i}"][1] for i in (1, 2, 3)]
        assert dest == ("一、基本信息", f"${lead_cells[0][0]}${lead_cells[0][1:]}:${lead_cells[2][0]}${lead_cells[2][1:]}")
        list_dv = [dv for dv in wb["企业清单"].data_validations.dataValidation if dv.type == "list"]
        assert len(list_dv) == 1


def test_every_rule_marks_its_target_cell(forms, built):
    for cid, (wb, layout) in built.items():
        for rule in forms[cid].rules:
            sheet, coord = layout.cells[rule.target]
            ws = wb[sheet]
            ranges = [cf.sqref for cf in ws.conditional_formatting]
            assert any(coord in rng for rng in ranges), rule.key
            row = int(re.sub(r"[A-Z]+", "", coord))
            check = ws.cell(row=row, column=7).value
            assert rule.message in check, rule.key


def test_identity_is_carried_in_two_places(forms, built):
    for cid, (wb, _) in built.items():
        meta = wb[META_SHEET]
        assert meta.sheet_state == "veryHidden"
        values = {r[0].value: r[1].value for r in meta.iter_rows()}
        assert values["category"] == cid
        assert values["template_version"] == forms[cid].template_version
        assert values["fingerprint"] == forms[cid].fingerprint
        props = {p.name: p.value for p in wb.custom_doc_props}
        assert props[PROPERTY_PREFIX + "category"] == cid
        assert props[PROPERTY_PREFIX + "template_version"] == forms[cid].template_version


def test_personal_copy_is_filled_locked_and_identified(forms):
    park = {"park_id": "P0007", "park_name": "苏州工业园区", "province_city": "江苏省苏州市", "county": "工业园区"}
    wb, layout = build_workbook(forms["open_cooperation"], park=park)
    for fid in ("park_name", "province_city", "county"):
        sheet, coord = layout.cells[fid]
        cell = wb[sheet][coord]
        assert cell.value == park[fid] and cell.protection.locked is not False
    values = {r[0].value: r[1].value for r in wb[META_SHEET].iter_rows()}
    assert values["park_id"] == "P0007"
    assert {p.name: p.value for p in wb.custom_doc_props}[PROPERTY_PREFIX + "park_id"] == "P0007"


def test_prints_on_a4(built):
    for wb, _ in built.values():
        for ws in wb.worksheets:
            if ws.sheet_state != "visible":
                continue
            assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4  # "9" is A4
            assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
            assert ws.oddFooter.center.text


def test_list_sheet_prints_only_filled_rows(forms):
    data = workbook_bytes(forms["green_safety"])
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/workbook.xml").decode()
    area = re.search(r'<definedName name="_xlnm.Print_Area" localSheetId="4">([^<]*)<', xml).group(1)
    assert area.startswith("OFFSET('企业清单'!$A$1") and "lst_name" in area


def test_template_opens_in_openpyxl_with_every_sheet(forms):
    data = workbook_bytes(forms["green_safety"])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(io.BytesIO(data))
    # in the order they print: the form's cover first, the workbook's own manual after the form
    assert wb.sheetnames == ["封面及承诺声明", "一、基本信息", "二、创新实践概述", "三、发展情况", "企业清单", "填写说明",
                             META_SHEET, "_calc"]


def _nesting(formula: str) -> int:
    depth = deepest = 0
    quoted = False
    for ch in formula:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "()":
            depth += 1 if ch == "(" else -1
            deepest = max(deepest, depth)
    return deepest


def test_formulas_stay_within_excel_limits(built):
    """Excel refuses a formula over 8,192 characters or with more than 64 levels of nesting (LibreOffice
    would take it): every cell formula and every conditional format of the templates stays within."""
    for wb, _ in built.values():
        formulas = [(ws.title, c.coordinate, c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row
                    if isinstance(c.value, str) and c.value.startswith("=")]
        formulas += [(ws.title, str(cf.sqref), f) for ws in wb.worksheets for cf in ws.conditional_formatting
                     for rule in cf.rules for f in rule.formula]
        assert formulas
        too_long = [(s, c, len(f)) for s, c, f in formulas if len(f) > 8192]
        too_deep = [(s, c, _nesting(f)) for s, c, f in formulas if _nesting(f) > 64]
        assert too_long == [] and too_deep == []


def test_the_sheets_show_their_checks_and_counts_on_screen(forms, built):
    """At 100 % zoom: 校验提示 starts about 650 px right (A-F are about 83 Excel units), 三、发展情况 keeps its
    year header in view, the enterprise list's counts stand above the list, and the list has a 情况说明
    column under a name of its own (lst_note) for the park's reasons."""
    from consolidator.rules.layout import COL_CHECK, WIDTHS

    assert sum(WIDTHS[c] for c in range(1, COL_CHECK)) <= 85
    for cid, (wb, layout) in built.items():
        dev = wb["三、发展情况"]
        assert dev.freeze_panes == "A3" and dev["C2"].value == f"{forms[cid].years[0]}年"
        lst = wb["企业清单"]
        lay = layout.enterprise_list
        counts = [p for p in lay.sheet.places if p.kind == "category"]
        assert counts and all(p.row < lay.header and p.col == 1 for p in counts)
        assert lst.cell(row=counts[0].row, column=4).value.startswith("=IF(")
        (sheet, ref), = wb.defined_names["lst_note"].destinations
        assert sheet == "企业清单" and ref == f"${lay.note_letter}${lay.first}:${lay.note_letter}${lay.last}"
        assert lst.cell(row=lay.header, column=len(lay.letters) + 1).value.startswith("情况说明")
        for ws in wb.worksheets:
            if ws.sheet_state == "visible":
                assert ws.page_setup.blackAndWhite, ws.title


def test_the_templates_text_is_utf8_as_excel_writes_it(forms):
    """openpyxl writes every Chinese character as a reference (&#19977;): the package holds the characters
    themselves, and reads back cell for cell as openpyxl wrote it."""
    from consolidator.write.template.build import build_workbook

    form = forms["green_safety"]
    data = workbook_bytes(form)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = {n: z.read(n) for n in z.namelist() if n.endswith(".xml")}
    refs = [int(h, 16) if h else int(d) for body in sheets.values() for h, d in re.findall(rb"&#(?:x([0-9a-fA-F]+)|(\d+));", body)]
    assert all(n < 0xA0 for n in refs)
    assert "三、发展情况".encode() in b"".join(sheets.values())
    wb, _ = build_workbook(form)
    plain = io.BytesIO()
    wb.save(plain)
    assert len(data) < len(plain.getvalue())
    ours, theirs = openpyxl.load_workbook(io.BytesIO(data)), openpyxl.load_workbook(plain)
    for ws in theirs.worksheets:
        assert [[c.value for c in row] for row in ws.iter_rows()] == \
               [[c.value for c in row] for row in ours[ws.title].iter_rows()]


def test_utf8_text_keeps_what_must_stay_a_reference():
    from consolidator.write.xlsx import utf8_text

    body = '<t a="x&#10;y">&#19977;&#x4E09;&#127981;&#65535;&#55296;&#150;&#38;&amp;#19977;</t>'.encode()
    assert utf8_text("xl/worksheets/sheet1.xml", body) == \
        '<t a="x&#10;y">三三🏭&#65535;&#55296;&#150;&#38;&amp;#19977;</t>'.encode()
    png = b"\x89PNG&#19977;"
    assert utf8_text("xl/media/image1.png", png) == png
    assert utf8_text("a.xml", b"&#" + b"9" * 5000 + b";") == b"&#" + b"9" * 5000 + b";"
