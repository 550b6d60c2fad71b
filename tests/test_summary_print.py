"""summary.xlsx and evaluation.xlsx as they print, from the sample data (a roster of 14 parks, returns with
errors, an unreadable file, a park outside the roster).

Without LibreOffice: every sheet is set up for A4 with repeated headers and page numbers per sheet, status
colours follow the status, 分市统计 lists every roster city, the park outside the roster is left out, the
evaluation workbook's park sheets carry their own page count, and --blind hides the region. With it
(rendered to PDF and read back with pdftotext): the page counts are sane, each chart has a page of its own,
and each park's footer counts the pages that park's sheet really prints on.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import zipfile
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from consolidator.cli import main
from consolidator.write.summary import SEVERITY_COLOURS, STATUS_COLOURS

from .conftest import ROOT, require

SAMPLES = ROOT / "sample_data"
ROSTER = SAMPLES / "roster.csv"
OUTSIDE = "宿迁高新技术产业开发区"  # sends a return but is not in the roster
STATUS_ORDER = ["通过", "有警告", "有错误", "无法读取", "未提交"]  # the status chart's series


def summarize(out: Path, *extra: str) -> Path:
    with pytest.raises(SystemExit) as exc:
        main(["summarize", str(SAMPLES / "returns"), "--roster", str(ROSTER), "--out", str(out), *extra])
    assert exc.value.code in (0, 1)
    return out


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    return summarize(tmp_path_factory.mktemp("plain") / "out")


@pytest.fixture(scope="module")
def blind(tmp_path_factory):
    return summarize(tmp_path_factory.mktemp("blind") / "out", "--blind", "--word")


def book(path: Path):
    return openpyxl.load_workbook(path)


def table(ws, first_header: str):
    """The rows under the header row that starts with first_header, as dicts."""
    head = next(r for r in range(1, 6) if ws.cell(row=r, column=1).value == first_header)
    headers = [c.value for c in ws[head]]
    return [dict(zip(headers, r)) for r in ws.iter_rows(min_row=head + 1, values_only=True) if any(r)]


def roster_cities() -> set[str]:
    with open(ROSTER, encoding="utf-8-sig") as fh:
        return {row["所在城市"] for row in csv.DictReader(fh)}


# ---- set up for print (openpyxl) ---------------------------------------------------------------------
def test_every_summary_sheet_is_set_up_for_a4_landscape_with_repeated_headers(plain):
    wb = book(plain / "summary.xlsx")
    for ws in wb.worksheets:
        setup = ws.page_setup
        assert (setup.orientation, setup.paperSize, setup.fitToHeight) == ("landscape", 9, 0), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage and setup.fitToWidth >= 1, ws.title
        assert setup.useFirstPageNumber and setup.firstPageNumber == 1, ws.title  # numbered per sheet
        assert "&A" in ws.oddFooter.center.text and "&P" in ws.oddFooter.center.text, ws.title
        if ws.title != "图表":
            assert ws.print_title_rows, ws.title
    # a table too wide for one page repeats the park's number and name on every page across
    assert wb["汇总"].page_setup.fitToWidth > 1 and wb["汇总"].print_title_cols == "$A:$B"
    for name in ("报送情况", "问题清单", "多园区填报企业", "企业清单汇总"):
        assert wb[name].page_setup.fitToWidth == 1, name


def test_headers_are_unique_and_say_what_repeats(plain):
    wb = book(plain / "summary.xlsx")
    for name in ("汇总", "推动绿色安全发展类", "提高开放合作水平类", "分市统计"):
        ws = wb[name]
        head = next(r for r in range(1, 6) if ws.cell(row=r, column=1).value in ("序号", "城市"))
        headers = [c.value for c in ws[head] if c.value]
        assert [h for h, n in Counter(headers).items() if n > 1] == [], name
    headers = [c.value for c in wb["汇总"][3]]
    assert {"工业园区名称（封面及承诺声明）", "部门及职务（负责人信息）", "部门及职务（联系人信息）",
            "情况说明（营业收入）", "所在省市（一、基本信息）"} <= set(headers)


def _fill(c) -> str:
    return (c.fill.fgColor.rgb or "")[-6:] if c.fill and c.fill.fill_type else ""


def test_status_colours_follow_the_status_in_tables_and_chart(plain):
    wb = book(plain / "summary.xlsx")
    for name, head in (("汇总", "状态"), ("报送情况", "状态")):
        ws = wb[name]
        r0 = next(r for r in range(1, 6) if head in [c.value for c in ws[r]])
        col = [c.value for c in ws[r0]].index(head) + 1
        seen = set()
        for r in range(r0 + 1, ws.max_row + 1):
            c = ws.cell(row=r, column=col)
            if c.value in STATUS_COLOURS:
                colour, fill = STATUS_COLOURS[c.value]
                assert (c.font.color.rgb[-6:], _fill(c)) == (colour, fill), (name, r, c.value)
                seen.add(c.value)
        assert {"通过", "有警告", "有错误"} <= seen, name
    assert STATUS_COLOURS["有错误"][0] == "C00000" and STATUS_COLOURS["通过"][0] == "2E7D32"  # red, green
    ws = wb["问题清单"]
    for r in range(2, ws.max_row + 1):
        c = ws.cell(row=r, column=2)
        assert c.font.color.rgb[-6:] == SEVERITY_COLOURS[c.value][0], (r, c.value)
    # the status chart: each series coloured as its status, whatever order
    charts = zipfile.ZipFile(plain / "summary.xlsx")
    xml = next(charts.read(n).decode() for n in charts.namelist()
               if n.startswith("xl/charts/chart") and "各市报送状态" in charts.read(n).decode())
    series = re.findall(r"<(?:c:)?ser>.*?</(?:c:)?ser>", xml, re.S)
    assert len(series) == len(STATUS_ORDER)
    # counts of parks: whole steps, whole labels
    assert re.search(r'<(?:c:)?majorUnit val="1(?:\.0)?"', xml) and 'formatCode="0"' in xml
    others = [charts.read(n).decode() for n in charts.namelist() if n.startswith("xl/charts/chart")]
    for other in (x for x in others if x != xml):  # the values' charts: grouped thousands, no title twice
        assert 'formatCode="#,##0.##"' in other and len(re.findall(r"<(?:c:)?title>", other)) == 1
    sheet = wb["图表"]
    for s in series:
        ref = re.search(r"<(?:c:)?tx><(?:c:)?strRef><(?:c:)?f>'?图表'?!\$?([A-Z]+)\$?(\d+)</", s)
        name = sheet[f"{ref.group(1)}{ref.group(2)}"].value
        assert re.search(r'<a:srgbClr val="([0-9A-F]{6})"', s).group(1) == STATUS_COLOURS[name][0], name


def test_every_roster_city_is_listed_with_what_was_not_counted(plain):
    wb = book(plain / "summary.xlsx")
    rows = {r["城市"]: r for r in table(wb["分市统计"], "城市")}
    assert roster_cities() <= set(rows)
    status = table(wb["报送情况"], "园区名称")
    parks = [p for p in status if p["所在省市"]]  # a file naming no park is no city's
    cities = [c for c in rows if c != "全省合计"]
    assert sum(rows[c]["园区数"] + rows[c]["未计入园区数"] for c in cities) == len(parks)
    assert rows["全省合计"]["未计入园区数"] == sum(rows[c]["未计入园区数"] for c in cities)
    assert rows["全省合计"]["园区数"] == sum(1 for p in status if p["计入合计"] == "是")
    for city in cities:  # a city whose returns all have errors, or that sent nothing readable, is there too
        here = [p for p in parks if p["所在省市"] == city]
        assert rows[city]["园区数"] == sum(1 for p in here if p["计入合计"] == "是"), city
        reasons = Counter(p["未计入原因"] for p in here if p["未计入原因"])
        told = dict(part.rsplit(" ", 1) for part in (rows[city]["未计入原因"] or "").split("，") if part)
        assert {k: int(v) for k, v in told.items()} == dict(reasons), city
    assert rows["江苏省淮安市"]["未计入原因"] == "无法读取 1" and rows["江苏省扬州市"]["未计入原因"] == "未提交 1"


def test_each_category_sheet_says_what_it_holds(plain):
    wb = book(plain / "summary.xlsx")
    for name in ("推动绿色安全发展类", "提高开放合作水平类"):
        title = wb[name]["A1"].value
        assert f"报送汇总：{name}（本类别园区" in title and "不计入的以灰色显示" in title, title


def test_a_file_no_park_is_told_from_is_not_listed_as_a_park(plain):
    """报送情况: a file that names no park (unreadable, outside the roster) is listed as such, under its own name in
    the file column; an unreadable file of a listed park is named there too."""
    rows = table(book(plain / "summary.xlsx")["报送情况"], "园区名称")
    (lone,) = [r for r in rows if r["园区名称"] == "（未能确定园区）"]
    assert (lone["状态"], lone["最新报送文件"]) == ("无法读取", "报送说明.xlsx")
    assert not any(str(r["园区名称"]).endswith(".xlsx") for r in rows)
    huaian = next(r for r in rows if r["园区名称"] == "淮安经济技术开发区")
    assert huaian["状态"] == "无法读取" and huaian["最新报送文件"]


def test_a_park_outside_the_roster_is_left_out_and_said_so(plain, blind):
    wb = book(plain / "summary.xlsx")
    status = {p["园区名称"]: p for p in table(wb["报送情况"], "园区名称")}
    assert (status[OUTSIDE]["计入合计"], status[OUTSIDE]["未计入原因"]) == ("否", "不在名单中")
    note = wb["报送情况"]["A1"].value
    assert OUTSIDE in note and "未计入合计，也未列入专家评审表" in note
    summary = {r["园区名称"]: r for r in table(wb["汇总"], "序号")}
    assert summary[OUTSIDE]["计入合计"] == "否"
    ev = book(plain / "evaluation.xlsx")
    assert not any(OUTSIDE in n for n in ev.sheetnames)
    assert OUTSIDE not in [c.value for c in ev["评分汇总"]["B"]]
    key = book(blind.parent / "out_评审编号对照表" / "评审编号对照表.xlsx").active
    assert OUTSIDE not in [c.value for c in key["B"]]
    docs = list((blind / "专家评审材料").glob("*.docx"))
    assert len(docs) == len(ev.sheetnames) - 1  # the experts' Word documents are the same parks


def test_each_park_sheet_counts_its_own_pages(plain):
    ev = book(plain / "evaluation.xlsx")
    for ws in ev.worksheets[1:]:
        setup = ws.page_setup
        assert (setup.orientation, setup.paperSize, setup.useFirstPageNumber, setup.firstPageNumber) == \
            ("portrait", 9, True, 1)
        pages = len(ws.row_breaks.brk) + 1
        assert ws.oddFooter.center.text.endswith(f"第 &P 页，共 {pages} 页"), ws.title
        assert "&N" not in ws.oddFooter.center.text  # the workbook's pages, not the park's
    overview = ev["评分汇总"]
    assert overview.print_title_rows and overview.row_dimensions[1].height >= 30  # the headers wrap


def test_blind_hides_the_region_unless_asked_and_says_so(blind, tmp_path):
    ev = book(blind / "evaluation.xlsx")
    texts = [str(c.value) for ws in ev.worksheets[1:] for row in ws.iter_rows() for c in row if c.value]
    assert not any("所在地区" in t for t in texts)
    note = [c.value for c in ev["评分汇总"]["A"] if c.value and "盲评" in str(c.value)]
    assert len(note) == 1 and "所在地区也未显示" in note[0]
    # the key is beside the output folder, never in it (where the workbook for the experts is)
    assert not list(blind.rglob("评审编号对照表*"))
    assert (blind.parent / "out_评审编号对照表" / "评审编号对照表.xlsx").exists()
    shown = summarize(tmp_path / "out", "--blind", "--show-region")
    ev = book(shown / "evaluation.xlsx")
    assert any("所在地区：江苏省" in str(c.value) for c in ev.worksheets[1]["A"] if c.value)
    assert any("所在地区仍然显示" in str(c.value) for c in ev["评分汇总"]["A"] if c.value)


# ---- printed (LibreOffice) ---------------------------------------------------------------------------
def pdf_pages(soffice, xlsx: Path, out: Path) -> list[str]:
    """The text of each page of the workbook printed to PDF by LibreOffice."""
    require(shutil.which("pdftotext") is not None, "poppler's pdftotext", "apt-get install poppler-utils")
    exe, profile = soffice
    result = subprocess.run([exe, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--convert-to",
                             "pdf", "--outdir", str(out), str(xlsx)], capture_output=True, text=True, timeout=300)
    pdf = out / (xlsx.stem + ".pdf")
    assert result.returncode == 0 and pdf.exists(), result.stderr
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]


def footer(page: str) -> str:
    lines = [line.strip() for line in page.splitlines() if line.strip()]
    return lines[-1] if lines else ""


@pytest.mark.libreoffice
def test_summary_prints_on_few_pages_and_each_chart_on_its_own(plain, soffice, tmp_path):
    pages = pdf_pages(soffice, plain / "summary.xlsx", tmp_path)
    per_sheet = Counter(re.match(r"(\S+)\s+第\s*\d+\s*页", footer(p)).group(1) for p in pages)
    # 16 returns printed on 143 pages before (报送情况 alone on 20 in some set-ups, 汇总 on 25)
    assert len(pages) <= 45, per_sheet
    assert per_sheet["报送情况"] <= 2 and per_sheet["汇总"] <= 10 and per_sheet["问题清单"] <= 6, per_sheet
    assert list(per_sheet) == [ws.title for ws in book(plain / "summary.xlsx").worksheets]
    # 图表: its tables on a page, then each of the three charts on a page of its own (none cut in two)
    charts = [p for p in pages if footer(p).startswith("图表")]
    assert len(charts) == 4 and "城市" in charts[0] and "各市报送状态" not in charts[0]
    assert not any("各市报送状态" in p for p in charts[1:3]) and "各市报送状态" in charts[3]
    assert all(re.search(r"2025\s*年营业收入", p) for p in charts[:2]) and not re.search(r"2025\s*年营业收入", charts[3])
    assert re.search(r"2025\s*年亩均税收", charts[2]) and not re.search(r"2025\s*年亩均税收", charts[1])


@pytest.mark.libreoffice
def test_each_park_footer_counts_the_pages_it_prints_on(plain, soffice, tmp_path):
    pages = pdf_pages(soffice, plain / "evaluation.xlsx", tmp_path)
    numbers = [re.search(r"(E\d+)\s+第\s*(\d+)\s*页，共\s*(\d+)\s*页", footer(p)) for p in pages[1:]]
    assert all(numbers), [footer(p) for p in pages]
    by_park: dict[str, list[tuple[int, int]]] = {}
    for m in numbers:
        by_park.setdefault(m.group(1), []).append((int(m.group(2)), int(m.group(3))))
    assert len(by_park) == len(book(plain / "evaluation.xlsx").worksheets) - 1
    for park, seen in by_park.items():
        total = seen[0][1]
        assert seen == [(k, total) for k in range(1, total + 1)], park  # 第 1 页，共 N 页 … 第 N 页，共 N 页
        assert total <= 4, park


def test_the_status_columns_are_read_back_as_written(plain):
    """The styled status cells stay plain text values (the colour is only a style)."""
    data = (plain / "summary.xlsx").read_bytes()
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    values = {r[5] for r in wb["汇总"].iter_rows(min_row=4, values_only=True)}
    assert values <= set(STATUS_COLOURS)
