"""Sheets written as XML text: the large tables in pieces on all cores, and sheets added to a package."""

import datetime as dt
import io
import os
import random
import zipfile
import zlib

import openpyxl
import pytest
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

import consolidator.write.xlsx as xlsx
from consolidator.write.sheetxml import AddedSheet, SheetFrame, SheetXml, with_sheets
from consolidator.write.xlsx import (
    ColumnRows,
    Formula,
    cell_xml,
    crc32_combine,
    defer_rows,
    deflated,
    style_id,
    workbook_to_bytes,
)


def test_crc32_of_pieces_joins_into_the_crc32_of_the_whole():
    rng = random.Random(5)
    for _ in range(200):
        a, b = os.urandom(rng.randint(0, 5000)), os.urandom(rng.randint(0, 5000))
        assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)
    a, b = os.urandom(100), os.urandom(3 * 2**20 + 12345)  # the operators of the high bits of the length, too
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


ROWS = [["甲园区", " 前后有空格 ", 12.5, None, "a<b&c>"],
        ["乙园区", "", 3, "=SUM(A1)", "回车\r换行"],
        ["丙园区", "x\x01y", float("nan"), dt.date(2026, 5, 1), True]]
EXPECTED = [["甲园区", " 前后有空格 ", 12.5, None, "a<b&c>"],
            ["乙园区", None, 3, "=SUM(A1)", "回车\n换行"],
            ["丙园区", "xy", None, 46143, True]]  # a date is its serial number (the table's style formats it)


@pytest.mark.parametrize("forked", [3_000_000, 0])
@pytest.mark.parametrize("table", ["rows", "columns"])
def test_a_large_table_written_in_pieces_reads_back_as_given(table, forked, monkeypatch):
    """Rows in pieces of a few cells (so that every piece boundary is crossed), compressed apart and joined:
    text stays text (a leading "=" is no formula), what no workbook holds is removed, numbers stay numbers."""
    monkeypatch.setattr(xlsx, "CHUNK_CELLS", 5)
    monkeypatch.setattr(xlsx, "FORKED_CELLS", forked)  # pieces on a forked worker and here, or all here
    rows = ROWS * 20
    data = rows if table == "rows" else ColumnRows([list(c) for c in zip(*rows)])
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("表")
    ws.append(["名称", "说明", "数值", "其他", "备注"])
    proto = WriteOnlyCell(ws)
    proto.font = Font(name="宋体", bold=True)
    sid = style_id(ws, proto)
    defer_rows(ws, 2, data, lambda k, i, v: sid, by_type=True)
    back = openpyxl.load_workbook(io.BytesIO(workbook_to_bytes(wb)))["表"]
    got = [[c.value for c in row] for row in back.iter_rows(min_row=2, max_col=5)]
    assert got == EXPECTED * 20
    assert back.cell(row=3, column=4).data_type == "s"  # "=SUM(A1)" is text
    assert back.cell(row=2, column=1).font.b and back.cell(row=4, column=5).font.b


def test_a_large_book_is_the_same_bytes_however_its_pieces_are_shared_out(monkeypatch):
    """Beyond FORKED_CELLS only the tables held as columns (the list's, of Arrow arrays and shared texts) are written
    on forked workers, the others here: the same bytes as all on the workers."""
    monkeypatch.setattr(xlsx, "CHUNK_CELLS", 5)

    def book() -> bytes:
        wb = Workbook(write_only=True)
        for title, data in (("行", ROWS * 20), ("列", ColumnRows([list(c) for c in zip(*ROWS * 20)]))):
            ws = wb.create_sheet(title)
            ws.append(["名称", "说明", "数值", "其他", "备注"])
            defer_rows(ws, 2, data, lambda k, i, v: 0, by_type=True)
        with zipfile.ZipFile(io.BytesIO(workbook_to_bytes(wb))) as z:  # (but the time in core.xml)
            return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}

    monkeypatch.setattr(xlsx, "FORKED_CELLS", 3_000_000)
    everywhere = book()
    monkeypatch.setattr(xlsx, "FORKED_CELLS", 0)
    assert book() == everywhere


def test_a_table_of_columns_is_the_same_bytes_made_by_arrow_as_cell_by_cell(monkeypatch):
    """The list sheet's columns are made by Arrow where every text goes in as it is; a column with numbers, a
    Formula, a text to escape or keep blanks of, or no style, cell by cell: the same bytes either way."""
    import pyarrow as pa

    rng = random.Random(11)
    plain = [rng.choice(["甲企业", "乙有限公司", "9132059447QYFBK9MN", "C27", "a b", "回车\n换行"]) for _ in range(60)]
    holes = [None if k % 7 == 0 else ("" if k % 5 == 0 else v) for k, v in enumerate(plain)]
    odd = {"blank at an end": plain[:30] + [" 前有空格"] + plain[31:], "escaped": plain[:40] + ["a<b&c>"] + plain[41:],
           "U+FFFF": plain[:9] + ["x\uffffy"] + plain[10:], "surrogate": plain[:3] + ["坏\udc80名"] + plain[4:],
           "numbers": [float(k) / 3 if k % 2 else None for k in range(60)], "formula": plain[:59] + [Formula("A1")],
           "mixed": [k if k % 3 else "第三" for k in range(60)], "empty": [None] * 60, "blanks": [""] * 60}
    arrow = {"lazy": xlsx.LazyColumn(pa.chunked_array([pa.array(holes[:25]), pa.array(holes[25:])])),
             "lazy, sliced": xlsx.LazyColumn(pa.array(["x<", *plain, "y"]).slice(1, 60))}
    made = []
    real = xlsx._python_cells
    monkeypatch.setattr(xlsx, "_python_cells", lambda *a: made.append(a[0]) or real(*a))
    for sid in (0, 3):
        for name, column in [("plain", plain), ("holes", holes), *odd.items(), *arrow.items()]:
            rows = ColumnRows([plain, column, holes], start=0)
            for start, stop in ((0, 60), (7, 33), (59, 60), (5, 5)):
                made.clear()
                styles = (lambda k, i, v: sid if i == 1 else 2)
                fast = xlsx._columns_xml(4, rows, styles, start, stop)
                if sid and start < stop and name in ("plain", "holes", "lazy"):
                    assert made == []  # all three columns by Arrow
                assert fast == xlsx._columns_text(4, rows, styles, start, stop).encode("utf-8", "replace"), name
    assert fast == b""


def test_cells_as_text():
    assert cell_xml("A1", Formula('IF(A2="","",A2)'), 3) == '<c r="A1" s="3"><f>IF(A2="","",A2)</f><v></v></c>'
    assert cell_xml("B2", "=1+1", 0) == '<c r="B2" t="inlineStr"><is><t>=1+1</t></is></c>'
    assert cell_xml("C3", None, 4) == '<c r="C3" s="4"/>' and cell_xml("C3", float("inf"), 0) == '<c r="C3"/>'
    assert cell_xml("D4", 0.1 + 0.2, 0) == '<c r="D4"><v>0.30000000000000004</v></c>'  # the exact value


def test_sheets_added_to_a_package_open_with_their_print_areas():
    wb = Workbook(write_only=True)
    wb.create_sheet("总表").append(["x"])

    def setup(ws):
        ws.print_options.gridLines = False
        ws.oddFooter.center.text = SheetFrame.footer_token()

    frame = SheetFrame.of(setup)
    added = []
    for n, title in enumerate(["01 甲&乙", "02 <丙>"], start=1):
        sheet = SheetXml(frame)
        sheet.row(1, [cell_xml("A1", f"第{n}个", 0)], 20.0)
        sheet.merge("A1:C1")
        sheet.breaks = [1]
        sheet.footer = f"E{n}　第 &P 页"
        added.append(AddedSheet(title, deflated(sheet.xml()), "A1:C1"))
    book = openpyxl.load_workbook(io.BytesIO(with_sheets(workbook_to_bytes(wb), added)))
    assert book.sheetnames == ["总表", "01 甲&乙", "02 <丙>"]
    ws = book["02 <丙>"]
    assert ws["A1"].value == "第2个" and "A1:C1" in {str(r) for r in ws.merged_cells.ranges}
    assert ws.row_dimensions[1].height == 20 and [b.id for b in ws.row_breaks.brk] == [1]
    assert ws.oddFooter.center.text == "E2　第 &P 页" and "$A$1:$C$1" in str(ws.print_area)



def test_a_lazy_column_is_judged_and_read_a_piece_at_a_time(monkeypatch):
    """The list sheet's names and codes stay Arrow strings until written: judged piece by piece, a bad text in a
    later piece still found and cleaned (reported with its row), the other pieces left as Arrow slices; slices and
    items come out as Python."""
    import pyarrow as pa

    from consolidator.write.xlsx import LazyColumn, TextGuard

    monkeypatch.setattr(LazyColumn, "STEP", 3)
    texts = [f"企业{i}" for i in range(10)]
    column = LazyColumn(pa.chunked_array([texts[:4], texts[4:]]))
    assert list(column) == texts and column[2:7] == texts[2:7] and column[9] == "企业9" and len(column) == 10
    guard = TextGuard()
    assert guard.clean_column(column, lambda k, v: pytest.fail("nothing to clean")) is column
    dirty = LazyColumn(pa.array(texts[:7] + ["坏\x07名", "企业8"]))
    touched = []

    def at(k, v):
        touched.append(k)
        return guard.clean(v, label="企业清单", file=f"{k}.xlsx")

    cleaned = guard.clean_column(dirty, at)
    assert isinstance(cleaned, LazyColumn) and list(cleaned) == texts[:7] + ["坏名", "企业8"]
    assert touched == [6, 7, 8]  # only the piece that held the bad text was made Python strings and cleaned
    assert [(f.code, f.file) for f in guard.findings] == [("text_cleaned", "7.xlsx")]
    assert guard.clean_column(["a", "b\rc"], lambda k, v: f"{k}:{v}") == ["0:a", "1:b\rc"]


def test_a_lazy_column_said_plain_from_its_bytes_is_plain_text_by_text():
    """LazyColumn.plain judges the UTF-8 bytes (control characters, CR, U+FFFE/U+FFFF, length in bytes): never
    plain where a text needs cleaning, and plain wherever the texts are (but for texts of more bytes than a cell
    holds characters), in chunks and in a slice of an array."""
    import pyarrow as pa

    from consolidator.write.xlsx import MAX_CELL_CHARS, LazyColumn, _as_they_are

    rng = random.Random(5)
    alphabet = ["a", "中", "\t", "\n", "\r", "\x07", "\x1f", "\x00", "\ufffe", "\uffff", "\ufffd", "😀", "\x7f", "\u200b"]
    for _ in range(2000):
        texts = ["".join(rng.choice(alphabet if rng.random() < 0.3 else alphabet[:2]) for _ in range(rng.randint(0, 6)))
                 for _ in range(rng.randint(0, 12))]
        if rng.random() < 0.05:
            texts.append("x" * (MAX_CELL_CHARS + rng.choice([0, 1])))
        k = rng.randint(0, len(texts))
        chunked = LazyColumn(pa.chunked_array([pa.array(texts[:k], pa.string()), pa.array(texts[k:], pa.string())]))
        sliced = LazyColumn(pa.array(["\x07", *texts, "\r"]).slice(1, len(texts)))
        for column in (chunked, sliced):
            if column.plain():
                assert _as_they_are(texts), texts
            elif _as_they_are(texts):
                assert any(len(t.encode()) > MAX_CELL_CHARS for t in texts), texts
