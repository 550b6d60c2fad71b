"""Property-based tests (hypothesis): normalisation, and park text staying the same inert text."""

import csv
import io
import json
import math
from unittest import mock

import openpyxl
import pandas as pd
import pyarrow as pa
from hypothesis import example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from consolidator.findings import Finding
from consolidator.read.normalize import read_value
from consolidator.rules import Field
from consolidator.write.report import findings_csv, render_html, safe_cell
from consolidator.write.xlsx import TextGuard, cell, workbook_to_bytes

NUMBER = Field(id="revenue_2025", family="revenue", label="营业收入（亿元）", type="number", sheet="s", block="b",
               unit="亿元", year=2025)
COUNT = Field(id="listed_count", family="listed_count", label="上市企业数量（个）", type="integer", sheet="s", block="b",
              unit="个")
FULL = str.maketrans("0123456789.,-", "０１２３４５６７８９．，－")
finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


@given(st.text())
def test_normalising_never_raises_and_always_decides(text):
    for field in (NUMBER, COUNT):
        got = read_value(field, text)
        assert (got.problem is None) or (got.value is None)
        if got.problem is None and got.value is not None:
            assert math.isfinite(got.value)


@given(finite)
def test_numbers_typed_as_text_read_back(x):
    x = round(x, 2)
    for typed in (f"{x:,.2f}", f"{x:.2f}", f"{x:,.2f}".translate(FULL), f"{x:.2f}亿元", f"约{x:.2f}", f" {x:.2f} "):
        got = read_value(NUMBER, typed)
        assert got.problem is None and math.isclose(got.value, x, rel_tol=1e-12, abs_tol=1e-9), typed


@given(finite)
def test_wan_yuan_in_a_yi_yuan_cell_is_converted(x):
    x = round(abs(x), 2)
    got = read_value(NUMBER, f"{x:.2f}万元")
    assert math.isclose(got.value, x / 1e4, rel_tol=1e-12, abs_tol=1e-12) and "换算" in got.note


@given(st.integers(min_value=0, max_value=10**9))
def test_counts(n):
    assert read_value(COUNT, f"{n}个").value == n
    assert read_value(COUNT, float(n)).value == n
    assert read_value(COUNT, n + 0.5).problem == "type_integer"


def inert(text: str) -> str:
    """What a workbook can hold of a text: line ends as \\n, no control characters."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)


@settings(max_examples=150, deadline=None)
@given(text)
@example("a\r\nb\rc")
@example("_x0041_ and _x000D_")
@example("=HYPERLINK(\"http://x\")")
@example("  leading and trailing spaces  ")
@example("\x01\x02 控制字符 \x1f")
def test_text_in_a_workbook_comes_back_as_the_same_text(value):
    guard = TextGuard()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("t")
    ws.append([cell(ws, guard.clean(value, label="园区名称"))])
    back = openpyxl.load_workbook(io.BytesIO(workbook_to_bytes(wb)))["t"]["A1"]
    assert (back.value or "") == inert(value)
    assert back.value is None or back.data_type == "s"


def finding(value: str) -> Finding:
    return Finding(code="required", severity="error", message=f"“{value}”未填写。", file=f"{value}.xlsx", park=value,
                   value=value)


class _Batch:
    """The parts of a BatchResult the report writers read."""

    def __init__(self, value):
        self.findings = [finding(value)]
        self.skipped = []
        self.returns = []
        self.parks = []

    def status_counts(self):
        return {s: 0 for s in ("通过", "有警告", "有错误", "无法读取", "已被替代", "未提交")}

    def shared_enterprises(self):  # park text also stands in the table of enterprises listed by several
        park = type("Ret", (), {"park_name": self.findings[0].park, "file": self.findings[0].park})
        return [("913205940000000000", self.findings[0].park, [park, park])]


@settings(max_examples=150, deadline=None)
@given(text)
@example("a\r\nb,\"c\"")
@example("=1+1")
def test_text_in_the_csv_comes_back_as_the_same_text(value):
    rows = list(csv.reader(io.StringIO(findings_csv(_Batch(value)).decode("utf-8-sig"), newline="")))
    park = rows[1][4]
    assert park == safe_cell(value)
    assert park == value or (park == "'" + value and value.startswith(("=", "+", "-", "@", "\t", "\r")))


@settings(max_examples=100, deadline=None)
@given(text)
@example("</script><script>alert(1)</script>")
@example("\u2028\u2029<!--")
def test_text_in_the_report_is_data_not_markup(value):
    html = render_html(_Batch(value), source=value)
    payload = html.split('id="report-data">')[1].split("</script>")[0]
    assert "<" not in payload and ">" not in payload
    data = json.loads(payload)
    assert data["source"] == value


@given(st.lists(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXYIOZSVa中 ", min_size=0, max_size=20), max_size=30))
def test_vectorised_credit_code_check_agrees_with_the_plain_one(codes):
    from consolidator.rules.formats import (
        USCC_ALPHABET,
        uscc_check_char,
        uscc_problem,
        uscc_valid,
    )

    valid = ["91320594" + c[:9].rjust(9, "0") for c in codes if len(c) >= 9 and set(c[:9]) <= set(USCC_ALPHABET)]
    codes = codes + [v + uscc_check_char(v) for v in valid]
    expected = [uscc_problem(c) is None for c in codes]
    assert uscc_valid(codes).tolist() == expected
    # as the list frame holds them: Arrow arrays, in chunks (a return's each), or a slice of one
    arrow = pa.array(codes, pa.string())
    assert uscc_valid(arrow).tolist() == expected
    assert uscc_valid(pa.chunked_array([arrow[:3], arrow[3:]], pa.string())).tolist() == expected
    assert uscc_valid(pd.arrays.ArrowExtensionArray(pa.chunked_array([arrow]))).tolist() == expected
    assert uscc_valid(pa.array(["x", *codes], pa.large_string())[1:]).tolist() == expected
    assert uscc_valid(pa.array([c.encode() for c in codes], pa.binary())).tolist() == expected  # cast to text
    with mock.patch("consolidator.rules.formats._BLOCK", 4):  # a column judged block by block, across chunks
        assert uscc_valid(pa.chunked_array([arrow[:3], arrow[3:]], pa.string())).tolist() == expected
        assert uscc_valid(codes).tolist() == expected


ANY_CHARACTER = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()), max_size=40)


def _xml_char(ch: str) -> bool:
    c = ord(ch)
    return c in (9, 10, 13) or 0x20 <= c <= 0xD7FF or 0xE000 <= c <= 0xFFFD or 0x10000 <= c <= 0x10FFFF


@settings(max_examples=300, deadline=None)
@given(ANY_CHARACTER)
def test_the_sanitiser_keeps_exactly_what_a_workbook_can_hold(value):
    from consolidator.write.xlsx import xml_text

    kept = "".join(ch for ch in value if _xml_char(ch))
    assert xml_text(value) == kept.replace("\r\n", "\n").replace("\r", "\n")  # Excel's line ending


@settings(max_examples=60, deadline=None)
@given(ANY_CHARACTER, ANY_CHARACTER)
def test_any_park_text_makes_a_workbook_that_opens(name, text):
    """Cell, sheet name, comment and property alike: whatever a park typed, the workbook stays well-formed."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment

    from consolidator.write.xlsx import TextGuard, set_text, sheet_title, workbook_to_bytes, xml_text

    guard = TextGuard()
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_title(name) or "园区"
    set_text(ws["A1"], guard.clean(text, label="园区名称", file="a.xlsx", park=name))
    ws["A2"].comment = Comment(xml_text(text) or "-", "报送检查")
    wb.properties.title = xml_text(name)
    back = openpyxl.load_workbook(io.BytesIO(workbook_to_bytes(wb)))
    assert back.active.title == (sheet_title(name) or "园区")
    kept = "".join(ch for ch in text if _xml_char(ch))[:32767]
    assert (back.active["A1"].value or "") == kept.replace("\r\n", "\n").replace("\r", "\n")  # XML reads CR as LF
    removed = any(not _xml_char(ch) for ch in text)
    assert [f.code for f in guard.findings] == (["text_cleaned"] if removed else [])
