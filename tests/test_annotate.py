"""The annotated copy sent back to a park (write/annotate.py), opened as Excel would: 问题清单 first with a
link per problem, problem cells coloured by severity and commented beside the cell, the reasons printed,
and the original untouched."""

import hashlib
import io
import re
import warnings
import zipfile

import openpyxl
import pytest

from consolidator.check.batch import check_batch
from consolidator.findings import ERROR, WARNING
from consolidator.mail.compose import DEFAULT_TEMPLATES
from consolidator.mail.plan import plan_feedback
from consolidator.read.roster import Park
import consolidator.write.annotate_direct as direct
from consolidator.write.annotate import LIST_SHEET, annotate, annotate_with_openpyxl
from consolidator.write.styles import ERROR_FILL, WARNING_FILL
from consolidator.write.template import filled_workbook_bytes

from .conftest import layout_of, raw_return, sample

PARK = Park("P1", "甲园区", "江苏省苏州市", "工业园区", "green_safety", "王伟", "p1@x.cn", 2)


@pytest.fixture(scope="module", params=["direct", "openpyxl"])
def case(request, forms, tmp_path_factory):
    """A return with errors (an overwritten formula, a bad e-mail, all enterprises 1: a cascade) and a
    warning, sent through the feedback as the office does it; the copy made on the package itself (direct) or
    through openpyxl (what a package the direct way does not handle gets)."""
    form = forms["green_safety"]
    s = sample(form, 17, park_name=PARK.name)
    s.values["total_enterprises"] = 1
    s.values["contact_email"] = "wang#park.cn"
    s.values["lead_revenue_2025"] = s.values["revenue_2025"] * 0.2  # under 30%: a warning
    path = tmp_path_factory.mktemp("annotate") / "甲园区.xlsx"

    def overwrite(wb, layout):  # a number typed over the formula cell
        sheet, coord = layout.cells["tax_per_mu_2025"]
        wb[sheet][coord] = 551.03

    path.write_bytes(filled_workbook_bytes(form, s.values, s.enterprises, edit=overwrite))
    values = dict(s.values, tax_per_mu_2025=551.03)
    raw = raw_return(form, values, s.enterprises, file=path.name, park_id="P1")
    raw.source.path = path
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    result = check_batch([raw], forms, [PARK])
    made = []

    def direct_way(data, problems):
        copy = package_way(data, problems)
        made.append(copy)
        return copy

    def refused(data, problems):
        raise direct.Unhandled("refused by the test")

    package_way = direct.annotate_package
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(direct, "annotate_package", direct_way if request.param == "direct" else refused)
        (out,), _ = plan_feedback(result, forms, DEFAULT_TEMPLATES, {"office": "省工信厅"})
    assert len(made) == (request.param == "direct")  # the direct way made it (an Unhandled would fall back)
    (name, data), = out.attachments
    return {"form": form, "path": path, "before": before, "findings": result.returns[0].findings,
            "data": data, "name": name, "mail": out}


def _open(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return openpyxl.load_workbook(io.BytesIO(data))


def _problems(case):
    return [f for f in case["findings"] if f.severity in (ERROR, WARNING)]


def test_the_original_stays_untouched(case):
    assert hashlib.sha256(case["path"].read_bytes()).hexdigest() == case["before"]
    assert LIST_SHEET not in _open(case["path"].read_bytes()).sheetnames
    assert case["name"].endswith("_问题标注.xlsx")


def test_problem_list_comes_first_and_links_every_problem_to_its_cell(case):
    wb = _open(case["data"])
    assert wb.sheetnames[0] == LIST_SHEET and wb.active.title == LIST_SHEET
    assert wb.sheetnames[1:] == _open(case["path"].read_bytes()).sheetnames
    ws = wb[LIST_SHEET]
    assert [c.value for c in ws[3]] == ["序号", "类型", "位置", "栏目", "填写内容", "应为", "问题说明", "怎么改"]
    rows = list(ws.iter_rows(min_row=4))
    problems = _problems(case)
    assert len(rows) == len(problems)
    assert {r[6].value for r in rows} == {f.message for f in problems}
    for r in rows:
        f = next(f for f in problems if f.message == r[6].value)
        assert r[1].value == ("错误" if f.severity == ERROR else "需要核实")
        if f.cell:
            link = r[2].hyperlink
            sheet, cell = re.fullmatch(r"'(.+)'!([A-Z]+\d+)", link.location).groups()
            assert sheet == f.sheet and sheet in wb.sheetnames
            assert cell == f.cell or cell in wb[sheet].merged_cells  # a merged cell: its first cell
    cascade = next(f for f in problems if f.field == "total_enterprises" and f.code == "count_le_total")
    row = next(r for r in rows if r[6].value == cascade.message)
    sheet, coord = layout_of(case["form"]).cells["total_enterprises"]
    assert row[2].hyperlink.location == f"'{sheet}'!{coord}"


def _fill(cell):
    return cell.fill.fgColor.rgb[-6:] if cell.fill is not None and cell.fill.fill_type == "solid" else None


def test_fills_follow_the_checkers_severity(case):
    wb = _open(case["data"])
    worst = {}
    for f in _problems(case):
        if f.cell:
            key = (f.sheet, f.cell)
            worst[key] = ERROR if ERROR in (worst.get(key), f.severity) else f.severity
    assert ERROR in worst.values() and WARNING in worst.values()
    for (sheet, coord), severity in worst.items():
        ws = wb[sheet]
        cell = ws[coord]
        want = ERROR_FILL if severity == ERROR else WARNING_FILL
        assert _fill(cell) == want.fgColor.rgb[-6:], (sheet, coord, severity)
        # no conditional format of the return paints over it
        assert not [cf for cf in ws.conditional_formatting for rng in cf.sqref.ranges if coord in rng]
    formula = next(f for f in _problems(case) if f.code == "formula_mismatch" and f.field == "tax_per_mu_2025")
    assert formula.severity == ERROR and _fill(wb[formula.sheet][formula.cell]) == ERROR_FILL.fgColor.rgb[-6:]
    # the cell that causes the cascade is the one marked
    sheet, coord = layout_of(case["form"]).cells["total_enterprises"]
    assert _fill(wb[sheet][coord]) == ERROR_FILL.fgColor.rgb[-6:] and wb[sheet][coord].comment is not None
    # the list's 类型 column says it in the same colours
    for r in wb[LIST_SHEET].iter_rows(min_row=4):
        assert _fill(r[1]) == (ERROR_FILL if r[1].value == "错误" else WARNING_FILL).fgColor.rgb[-6:]


def _shapes(data):
    """(row, column, anchor, style) of every comment box of the copy."""
    out = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.endswith(".vml"):
                for shape in z.read(name).decode("utf-8").split("<v:shape ")[1:]:
                    style = re.search(r'style="([^"]+)"', shape).group(1)
                    anchor = [int(x) for x in re.search(r"<x:Anchor>([^<]+)</x:Anchor>", shape).group(1).split(",")]
                    row, col = (int(re.search(rf"<x:{t}>(\d+)</x:{t}>", shape).group(1)) for t in ("Row", "Column"))
                    out.append((row, col, anchor, style))
    return out


def test_comments_are_placed_beside_their_cells_and_sized_to_their_text(case):
    wb = _open(case["data"])
    commented = [(ws.title, c.coordinate) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.comment]
    shapes = _shapes(case["data"])
    assert len(shapes) == len(commented) >= 3
    positions = set()
    for row, col, (left_col, _, top_row, _, right_col, _, bottom_row, _), style in shapes:
        assert left_col >= col + 1 and top_row == row  # right of its cell, level with it
        assert right_col > left_col and bottom_row >= top_row
        positions.add((left_col, top_row))
        assert "margin-left:59.25pt;margin-top:1.5pt" not in style  # openpyxl's one place for all
    assert len(positions) == len(shapes)
    for sheet, coord in commented:
        assert wb[sheet][coord].comment.text.startswith(("【错误】", "【需要核实】"))
    heights = {float(re.search(r"height:([\d.]+)pt", s[3]).group(1)) for s in shapes}
    assert len(heights) > 1  # a longer reason gets a taller box


def test_the_reasons_print(case):
    wb = _open(case["data"])
    ws = wb[LIST_SHEET]
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.print_title_rows == "$3:$3" or ws.print_title_rows == "3:3"
    assert ws.print_area
    marked = {f.sheet for f in _problems(case) if f.cell}
    original = _open(case["path"].read_bytes())
    for name in marked:
        assert wb[name].page_setup.cellComments == "atEnd"
        # in colour: the template's sheets print in black and white, which in Excel and WPS prints no marks
        assert original[name].page_setup.blackAndWhite and not wb[name].page_setup.blackAndWhite, name


def test_the_mail_and_the_copy_agree(case):
    body = case["mail"].body
    wb = _open(case["data"])
    rows = list(wb[LIST_SHEET].iter_rows(min_row=4, values_only=True))
    assert sum("错误" == r[1] for r in rows) == sum(f.severity == ERROR for f in _problems(case))
    assert body.count("该类企业数量不能大于全部企业数量") == 1


def test_a_file_that_is_not_a_workbook_gets_no_copy():
    assert annotate(b"not a workbook", []) is None


def test_merged_borders_made_once_give_the_copy_openpyxl_gives(case, monkeypatch):
    """Loading a return, the covered cells of each merged range get its borders; annotate does it once per
    combination instead of once per cell. The copy must be the one openpyxl's own way makes, part for part
    (but the time stamp of docProps/core.xml)."""
    import contextlib

    import consolidator.write.annotate as module

    data, findings = case["path"].read_bytes(), case["findings"]

    def parts(copy):
        with zipfile.ZipFile(io.BytesIO(copy)) as z:
            return {i.filename: z.read(i) for i in z.infolist() if i.filename != "docProps/core.xml"}

    fast = parts(annotate_with_openpyxl(data, findings))
    monkeypatch.setattr(module, "_merged_borders_remembered", contextlib.nullcontext)
    assert parts(annotate_with_openpyxl(data, findings)) == fast
    assert module.MergedCellRange.format is not module._format_merged  # put back after loading


def test_a_return_saved_by_libreoffice_is_annotated_on_its_own_package(case, soffice, tmp_path):
    """A return as another program writes it (shared strings, its own part names and styles): the copy is made
    the direct way, and LibreOffice opens it with 问题清单 first, the cells filled and every comment there."""
    import subprocess

    from .conftest import libreoffice_resave

    resaved = libreoffice_resave(soffice, case["path"], tmp_path / "lo")
    problems = _problems(case)
    copy = direct.annotate_package(resaved.read_bytes(), problems)  # no Unhandled: no fall back to openpyxl
    wb = _open(copy)
    assert wb.sheetnames[0] == LIST_SHEET and wb.sheetnames[1:] == _open(resaved.read_bytes()).sheetnames
    assert [ws.sheet_view.tabSelected for ws in wb.worksheets] == [True] + [False] * (len(wb.worksheets) - 1)
    marked = {(f.sheet, f.cell) for f in problems if f.cell}
    for sheet, coord in marked:
        first = next((str(r).split(":")[0] for r in wb[sheet].merged_cells.ranges if coord in r), coord)
        assert _fill(wb[sheet][first]) in (ERROR_FILL.fgColor.rgb[-6:], WARNING_FILL.fgColor.rgb[-6:])
        assert wb[sheet][first].comment.author == "报送检查"
    (tmp_path / "copy.xlsx").write_bytes(copy)
    exe, profile = soffice
    subprocess.run([exe, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--convert-to", "ods",
                    "--outdir", str(tmp_path / "ods"), str(tmp_path / "copy.xlsx")], capture_output=True, timeout=180)
    with zipfile.ZipFile(tmp_path / "ods" / "copy.ods") as z:
        content = z.read("content.xml").decode("utf-8")
    assert content.count("<office:annotation") == len({p for p in marked}) and "问题清单" in content


def _small_return(edit=None) -> bytes:
    """A small workbook: a sheet 表 with numbers in B2:B6 under a conditional format B2>5, and a page set-up."""
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import PatternFill

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "表"
    for r in range(2, 7):
        ws.cell(row=r, column=2, value=r * 2)
    ws.conditional_formatting.add("B2:B6", FormulaRule(formula=["B2>5"], fill=PatternFill(bgColor="FFC7CE", fill_type="solid")))
    ws.page_setup.orientation = "portrait"
    buf = io.BytesIO()
    wb.save(buf)
    if edit is None:
        return buf.getvalue()
    src, out = zipfile.ZipFile(io.BytesIO(buf.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            dst.writestr(info, edit(body.decode("utf-8")).encode("utf-8") if info.filename == "xl/worksheets/sheet1.xml"
                         else body)
    return out.getvalue()


def _problem_at(cell: str):
    from consolidator.findings import make_finding

    return make_finding("required", file="小.xlsx", sheet="表", cell=cell, label="数值")


@pytest.mark.parametrize("way", ["direct", "openpyxl"])
def test_a_conditional_format_keeps_its_meaning_when_its_first_cell_is_marked(way):
    """A conditional format's formula is relative to the first cell of its ranges: with B2 marked, the format
    goes on over B3:B6, its formula written from B3 (not B2>5 there, which would test each cell's neighbour)."""
    data = _small_return()
    make = direct.annotate_package if way == "direct" else annotate_with_openpyxl
    ws = _open(make(data, [_problem_at("B2")]))["表"]
    (cf,) = list(ws.conditional_formatting)
    assert str(cf.sqref).split() == ["B3", "B4", "B5", "B6"] and cf.rules[0].formula == ["B3>5"]


def test_xml_written_otherwise_is_marked_the_same():
    """Line breaks inside tags, LibreOffice's tabSelected="true", the page set-up of a custom view before the
    sheet's own: the cell is still filled, 问题清单 alone selected, the sheet's own set-up prints the comments."""
    def edit(xml):
        xml = xml.replace("<worksheet ", "<worksheet\n ", 1).replace('<c r="B3"', '<c\n r="B3"')
        xml = xml.replace('<sheetView ', '<sheetView tabSelected="true" ', 1) if "tabSelected" not in xml else \
            xml.replace('tabSelected="1"', 'tabSelected="true"')
        custom = ('<customSheetViews><customSheetView guid="{00000000-0000-0000-0000-000000000001}">'
                  '<pageSetup orientation="landscape"/></customSheetView></customSheetViews>')
        return xml.replace("</sheetData>", "</sheetData>" + custom, 1)

    copy = direct.annotate_package(_small_return(edit), [_problem_at("B3")])
    wb = _open(copy)
    assert [ws.sheet_view.tabSelected for ws in wb.worksheets] == [True, False]
    assert _fill(wb["表"]["B3"]) == ERROR_FILL.fgColor.rgb[-6:] and wb["表"]["B3"].comment is not None
    with zipfile.ZipFile(io.BytesIO(copy)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
    own = sheet[sheet.index("</customSheetViews>"):]
    assert 'cellComments="atEnd"' in own and 'cellComments' not in sheet[:sheet.index("</customSheetViews>")]


@pytest.mark.parametrize("way", ["direct", "openpyxl"])
def test_more_than_1023_comments_on_a_sheet_take_vml_blocks_of_their_own(forms, way, soffice, tmp_path):
    """A list of 1,100 rows with a bad credit code each: 1,100 comment boxes on the list sheet, whose shape ids
    run on into a second VML block; every box's id is in a block its part's idmap lists, and no block (nor
    id) is another sheet's. LibreOffice opens the copy with every comment."""
    form = forms["green_safety"]
    s = sample(form, 3, park_name=PARK.name)
    first = s.enterprises[0]
    s.enterprises += [dict(first, name=f"测试企业{k}有限公司", credit_code=f"BAD{k:05d}") for k in range(1100)]
    path = tmp_path / "甲园区.xlsx"
    path.write_bytes(filled_workbook_bytes(form, s.values, s.enterprises))
    raw = raw_return(form, s.values, s.enterprises, file=path.name, park_id="P1")
    result = check_batch([raw], forms, [PARK])
    problems = [f for f in result.returns[0].findings if f.severity in (ERROR, WARNING)]
    assert sum(f.code == "format_uscc" for f in problems) == 1100 and {f.sheet for f in problems} != {problems[0].sheet}
    make = direct.annotate_package if way == "direct" else annotate_with_openpyxl
    copy = make(path.read_bytes(), problems)
    blocks_seen, ids_seen = set(), []
    with zipfile.ZipFile(io.BytesIO(copy)) as z:
        for name in (n for n in z.namelist() if n.endswith(".vml")):
            text = z.read(name).decode("utf-8")
            (data,) = re.findall(r'<o:idmap v:ext="edit" data="([^"]+)"', text)
            blocks = {int(b) for b in data.split(",")}
            ids = [int(i) for i in re.findall(r'<v:shape id="_x0000_s(\d+)"', text)]
            assert {i // 1024 for i in ids} <= blocks and not blocks & blocks_seen
            blocks_seen |= blocks
            ids_seen += ids
    assert len(ids_seen) == len(set(ids_seen)) >= 1100 and len(blocks_seen) >= 3
    commented = sum(1 for ws in _open(copy).worksheets for row in ws.iter_rows() for c in row if c.comment)
    assert commented == len(ids_seen)
    (tmp_path / "copy.xlsx").write_bytes(copy)
    from .conftest import libreoffice_resave

    back = libreoffice_resave(soffice, tmp_path / "copy.xlsx", tmp_path / "lo")
    assert sum(1 for ws in _open(back.read_bytes()).worksheets for row in ws.iter_rows() for c in row
               if c.comment) == commented


@pytest.mark.parametrize("head, views, after, selected", [
    ("", '<sheetView tabSelected="1" workbookViewId="0"/>', "", True),
    ("", '<sheetView tabSelected="true" workbookViewId="0"/>', "", True),
    ("", '<sheetView workbookViewId="0"/>', "", False),
    # views after a head longer than one read, a selection far into them
    ('<sheetPr codeName="' + "x" * 40000 + '"/>', '<sheetView workbookViewId="0"' + " " * 30000 + 'tabSelected="1"/>',
     "", True),
    # the word in the sheet's cells, after its views: not a view's
    ("", '<sheetView workbookViewId="0"/>', '<c r="A1" t="inlineStr"><is><t>tabSelected="1"</t></is></c>', False),
])
def test_a_selected_tab_is_found_in_the_sheet_views_alone(head, views, after, selected):
    """Only a sheet's head is expanded to see whether it is the selected tab (its views come before its cells)."""
    from consolidator.write.annotate_direct import _selected

    xml = (f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{head}'
           f"<sheetViews>{views}</sheetViews><sheetData><row r=\"1\">{after}</row>{'<row/>' * 20000}</sheetData>"
           "</worksheet>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", xml)
    assert _selected(zipfile.ZipFile(out), "xl/worksheets/sheet1.xml") is selected


def test_a_tab_unselected_keeps_a_cell_that_reads_like_a_selection():
    """Only the sheet's views are changed: a park's cell whose text reads tabSelected="1" stays as written."""
    from consolidator.write.annotate_direct import _unselected

    cell = '<c r="A1" t="inlineStr"><is><t>tabSelected="1"</t></is></c>'
    xml = (f'<worksheet><sheetViews><sheetView tabSelected="true" workbookViewId="0"/></sheetViews>'
           f'<sheetData><row r="1">{cell}</row></sheetData></worksheet>')
    assert _unselected(xml) == xml.replace('tabSelected="true"', 'tabSelected="0"')


def test_formats_added_to_one_styles_text_are_not_those_of_another():
    """What an addition makes of a styles text is kept by the text: a copy with other styles gets its own
    indices and counts, and the same styles give the same text whether made afresh or kept."""
    from consolidator.write.annotate_direct import _Styles

    def styles(fonts: int) -> str:
        return ('<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                f'<fonts count="{fonts}">' + "<font/>" * fonts + '</fonts><fills count="1"><fill/></fills>'
                '<borders count="1"><border/></borders><cellXfs count="1"><xf/></cellXfs></styleSheet>')

    bold = '<font><b val="1"/></font>'
    one, three, again = _Styles(styles(1)), _Styles(styles(3)), _Styles(styles(1))
    assert one.add("fonts", "font", bold) == 1 and three.add("fonts", "font", bold) == 3
    assert again.add("fonts", "font", bold) == 1 and again.text == one.text
    assert '<fonts count="2">' in one.text and '<fonts count="4">' in three.text
    assert one.add("fonts", "font", "<font><i/></font>") == 2 and '<fonts count="3">' in one.text
    assert '<fonts count="2">' in again.text  # the other copy's own addition is not this one's
