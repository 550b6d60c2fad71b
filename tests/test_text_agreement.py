"""expr/text.py's two sides in a real spreadsheet program: the checker's text count and comparison
(char_count, text_key and the array evaluator) against their Excel twins (excel_char_count,
excel_text_key, excel_is_blank and the formulas the rule emitter writes), recalculated in headless
LibreOffice.

One workbook holds every test string as an input cell, with the formulas beside it:
  sheet "one":   one row per string: the three twins and a set of emitted rule expressions;
  sheet "pairs": one row per ordered pair of strings: x == y, x != y, one_of(x, a, b), count_filled.
Every value LibreOffice computes is compared with the Python side on a frame holding the same strings.

One difference is known and kept apart (see test_characters_outside_the_bmp): char_count counts a
character outside the Basic Multilingual Plane as two, as Excel's LEN does (UTF-16 units); LibreOffice's
LEN counts it as one. Every other result must be equal.

The guarded forms (value and violation) of an expression calling chars() are checked on their own, in
test_guarded_count_expressions: its guard names the function itself (see there).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from consolidator.expr import parse
from consolidator.expr.excel import string_literal
from consolidator.expr.text import (
    char_count,
    excel_char_count,
    excel_is_blank,
    excel_text_key,
    text_key,
)

from .conftest import libreoffice_resave, load_values

pytestmark = pytest.mark.libreoffice

ASTRAL = "\U00020000"  # 𠀀, outside the BMP: two UTF-16 units

STRINGS = [
    # the constant's neighbours
    "是", " 是 ", "是\u3000", "\u3000是", "\u3000\u3000是\u3000\u3000", "\u00a0是\u00a0", "\t是\r\n", "否",
    # spaces, tabs, line breaks, U+3000 and U+00A0 at either end, inside, and in runs
    "abc", "  abc  ", "a b", "a  b", "\tabc\t", "a\t\tb", "\nabc\n", "a\nb", "\r\nabc\r\n", "a\r\n\r\nb",
    "a\rb", "\u00a0abc\u00a0", "a\u00a0\u00a0b", "\u3000abc\u3000", "a\u3000\u3000b",
    " \t\u3000\u00a0\r\n a \u3000\t\u00a0b \n", "a\u3000\u00a0\tb", "ab",
    # case; full-width Latin and digits are other characters
    "AbC", "ABC", "ＡＢＣ", "ａｂｃ", "１２３", "123", "abcd", "a b c d",
    # Chinese
    "智能制造产业园", "智能 制造\u3000产业园", " 智能制造产业园\u3000", "智能\n制造产业园", "产业园区",
    # outside the BMP
    ASTRAL, ASTRAL * 2, f" {ASTRAL}\u3000{ASTRAL} ", f"园区{ASTRAL}",
    # empty, and nothing but white space
    "", " ", "\u3000", "\u00a0", " \t\r\n\u3000\u00a0 ",
]

# expressions of one field x, emitted for every string (value, body and violation formulas)
ONE_EXPRS = [
    "filled(x)", 'x == "是"', 'x != "是"', 'x == " 是 "', 'x == "是\u3000"', 'x == "\u00a0是\t"',
    'x == "abc"', 'x == "ABC"', 'x == "ＡＢＣ"', 'x == "123"', 'x == "１２３"', 'x == "a b"',
    'x == "智能 制造 产业园"', 'x == ""', 'one_of(x, "是", "否")', 'one_of(x, "ABC", "１２３", "")',
]
# expressions of x's character count, each with its truth as a function of the count
COUNT_EXPRS = {
    "chars(x)": lambda n: n,
    "chars(x) > 3": lambda n: n > 3,
    "chars(x) <= 2": lambda n: n <= 2,
    "chars(x) == 4": lambda n: n == 4,
}
# expressions of several fields, emitted for every ordered pair of strings
PAIR_EXPRS = ["x == y", "x != y", "one_of(x, a, b)", "count_filled(x, y, a)"]
PAIR_VIOLATIONS = ["x == y", "one_of(x, a, b)"]


def is_text(name: str) -> bool:
    return True  # every field here is a text field


# ---- helpers ----------------------------------------------------------------------------------
def cell_input(s: str):
    """What to write in an input cell so that LibreOffice holds exactly `s`.

    Plain text, except a string with a carriage return: the file format normalises a raw CR and
    LibreOffice reads an escaped CR LF as LF, so such a string is built by a formula with CHAR().
    """
    if s == "":
        return None
    if "\r" not in s:
        return s
    pieces = [f"CHAR({ord(p)})" if p in "\t\r\n" else string_literal(p) for p in re.findall(r"[\t\r\n]|[^\t\r\n]+", s)]
    return "=" + "&".join(pieces)


def text_frame(**cols) -> pd.DataFrame:
    """Text columns as the reader makes them: Python objects, None for an empty cell."""
    return pd.DataFrame({k: pd.Series([v if v != "" else None for v in vs], dtype=object) for k, vs in cols.items()})


def astral_count(s: str) -> int:
    return sum(1 for ch in s if ord(ch) > 0xFFFF)


def plain(v):
    """A value as read back or computed, comparable: numpy scalars to Python, empty to None."""
    if isinstance(v, np.generic):
        v = v.item()
    if v is None or v == "" or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def same(lo, py) -> bool:
    lo, py = plain(lo), plain(py)
    if isinstance(py, bool) or isinstance(lo, bool):
        return type(lo) is type(py) and lo == py
    return lo == py


class Sheet:
    """A sheet of input columns and formula columns, and the Python value each formula must give."""

    def __init__(self, ws, inputs: list[str]):
        self.ws, self.inputs = ws, inputs
        self.columns: list[tuple[str, list, str]] = []  # (name, Python values, group), after the inputs
        for c, name in enumerate(inputs, 1):
            ws.cell(1, c, name)

    def letter(self, name: str) -> str:
        return get_column_letter(self.inputs.index(name) + 1)

    def ref(self, row: int):
        """A field's cell in `row`; a name that is no input becomes an undefined name, as a field the
        template does not know would (#NAME? in the sheet)."""
        return lambda name: f"{self.letter(name)}{row}" if name in self.inputs else f"fld_{name}"

    def put_inputs(self, rows: list[dict[str, str]]):
        for r, values in enumerate(rows, 2):
            for name, s in values.items():
                self.ws[f"{self.letter(name)}{r}"] = cell_input(s)

    def add(self, name: str, formula, python: list, group: str = "main"):
        """A formula column: formula(ref) per row (ref maps a field to that row's cell)."""
        col = len(self.inputs) + len(self.columns) + 1
        self.ws.cell(1, col, name)
        for r in range(2, len(python) + 2):
            self.ws.cell(r, col, formula(self.ref(r)))
        self.columns.append((name, python, group))

    def results(self, wb) -> dict[str, list]:
        ws = wb[self.ws.title]
        out = {}
        for c, (name, python, _) in enumerate(self.columns, len(self.inputs) + 1):
            out[name] = [ws.cell(r, c).value for r in range(2, len(python) + 2)]
        return out

    def read_inputs(self, wb) -> list[dict[str, object]]:
        ws = wb[self.ws.title]
        return [{name: ws.cell(r, c).value for c, name in enumerate(self.inputs, 1)}
                for r in range(2, ws.max_row + 1)]


# ---- the workbook, recalculated once ------------------------------------------------------------
def build():
    wb = Workbook()
    one = Sheet(wb.active, ["x"])
    one.ws.title = "one"
    one.put_inputs([{"x": s} for s in STRINGS])
    frame = text_frame(x=STRINGS)

    one.add("excel_char_count", lambda ref: "=" + excel_char_count(ref("x")), [char_count(s) for s in STRINGS])
    one.add("excel_text_key", lambda ref: "=" + excel_text_key(ref("x")), [text_key(s) for s in STRINGS])
    one.add("excel_is_blank", lambda ref: "=" + excel_is_blank(ref("x")), [text_key(s) == "" for s in STRINGS])
    for text in ONE_EXPRS + list(COUNT_EXPRS):
        e, group = parse(text), "count" if text in COUNT_EXPRS else "main"
        one.add(f"{text} | to_excel", lambda ref, e=e: "=" + e.to_excel(ref, is_text), e.evaluate(frame).tolist())
        one.add(f"{text} | value", lambda ref, e=e: e.excel_value_formula(ref, is_text), e.value(frame).tolist(),
                group)
        one.add(f"{text} | violation", lambda ref, e=e: "=" + e.excel_violation_formula(ref, is_text),
                e.violations(frame).tolist(), group)
    # how LibreOffice's LEN counts a character outside the BMP
    one.ws["ZZ1"] = f'=LEN("{ASTRAL}")'

    pairs = Sheet(wb.create_sheet("pairs"), ["x", "y", "a", "b"])
    n = len(STRINGS)
    rows = [{"x": STRINGS[i], "y": STRINGS[j], "a": STRINGS[(i + j + 1) % n], "b": STRINGS[j]}
            for i in range(n) for j in range(n)]
    pairs.put_inputs(rows)
    pframe = text_frame(**{k: [r[k] for r in rows] for k in "xyab"})
    for text in PAIR_EXPRS:
        e = parse(text)
        pairs.add(text, lambda ref, e=e: "=" + e.to_excel(ref, is_text), e.evaluate(pframe).tolist())
    for text in PAIR_VIOLATIONS:
        e = parse(text)
        pairs.add(f"{text} | violation", lambda ref, e=e: "=" + e.excel_violation_formula(ref, is_text),
                  e.violations(pframe).tolist())
    return wb, one, pairs, rows


@pytest.fixture(scope="module")
def calc(soffice, tmp_path_factory):
    wb, one, pairs, rows = build()
    src = tmp_path_factory.mktemp("text-src") / "text_agreement.xlsx"
    wb.save(src)
    out = load_values(libreoffice_resave(soffice, src, tmp_path_factory.mktemp("text-out")))
    return {"wb": out, "one": one, "pairs": pairs, "rows": rows, "astral_len": out["one"]["ZZ1"].value}


def lo_count(s: str, astral_len: int) -> int:
    """char_count as LibreOffice's LEN counts: a character outside the BMP as `astral_len`."""
    return char_count(s) - astral_count(s) * (2 - astral_len)


def intended(name: str, s: str, count: int):
    """What a column of a count expression means for `s` when x's count is `count`."""
    text, kind = name.split(" | ")
    v, filled = COUNT_EXPRS[text](count), text_key(s) != ""
    return v if kind == "to_excel" else (v if filled else None) if kind == "value" else filled and not v


def expected_in_libreoffice(name: str, python: list, astral_len: int) -> list:
    """The Python values, but for the count of a character outside the BMP (LibreOffice's LEN), where the
    Python value is what Python's count means (else the Python value stands, and shows as a disagreement)."""
    if name == "excel_char_count":
        return [py - astral_count(s) * (2 - astral_len) for s, py in zip(STRINGS, python)]
    if name.split(" | ")[0] not in COUNT_EXPRS:
        return python
    return [intended(name, s, lo_count(s, astral_len)) if astral_count(s) and same(py, intended(name, s, char_count(s)))
            else py for s, py in zip(STRINGS, python)]


def disagreements(sheet: Sheet, wb, labels: list[str], astral_len=None, group="main") -> list[str]:
    bad = []
    got = sheet.results(wb)
    for name, python, g in sheet.columns:
        if g != group:
            continue
        want = python if astral_len is None else expected_in_libreoffice(name, python, astral_len)
        for label, lo, w in zip(labels, got[name], want):
            if not same(lo, w):
                bad.append(f"{name} on {label}: LibreOffice {lo!r}, Python {plain(w)!r}")
    return bad


# ---- the tests ----------------------------------------------------------------------------------
def test_libreoffice_holds_exactly_the_test_strings(calc):
    got = [r["x"] for r in calc["one"].read_inputs(calc["wb"])]
    assert got == [s or None for s in STRINGS]
    for row, want in zip(calc["pairs"].read_inputs(calc["wb"]), calc["rows"]):
        assert row == {k: v or None for k, v in want.items()}


def test_count_key_blank_and_emitted_expressions_agree_on_every_string(calc):
    bad = disagreements(calc["one"], calc["wb"], [repr(s) for s in STRINGS], calc["astral_len"])
    assert bad == [], "\n".join(bad)


def test_emitted_comparisons_agree_on_every_pair_of_strings(calc):
    labels = [f"x={r['x']!r} y={r['y']!r} a={r['a']!r} b={r['b']!r}" for r in calc["rows"]]
    bad = disagreements(calc["pairs"], calc["wb"], labels)
    assert bad == [], "\n".join(bad[:40]) + (f"\n... {len(bad)} in all" if len(bad) > 40 else "")


@pytest.mark.parametrize("x, y, equal", [
    ("AbC", "abc", True), ("ＡＢＣ", "ABC", False), ("ＡＢＣ", "ａｂｃ", True), ("１２３", "123", False),
    ("是", " 是 ", True), ("是", "是\u3000", True), ("是", "\t是\r\n", True), ("a b", "a\u3000\u00a0\tb", True),
    ("a b", "ab", False), ("智能制造产业园", " 智能制造产业园\u3000", True), ("", " \t\r\n\u3000\u00a0 ", True),
])
def test_the_office_meaning_of_equal_text_on_both_sides(calc, x, y, equal):
    """Not only do the two sides agree: they agree with what the office means by equal text."""
    i, j = STRINGS.index(x), STRINGS.index(y)
    row = i * len(STRINGS) + j
    got = calc["pairs"].results(calc["wb"])
    python = {name: values for name, values, _ in calc["pairs"].columns}
    assert python["x == y"][row] is equal and python["x != y"][row] is (not equal)
    assert got["x == y"][row] is equal and got["x != y"][row] is (not equal)


def test_the_constant_is_compared_as_a_field_is(calc):
    got = calc["one"].results(calc["wb"])["x == \"是\" | to_excel"]
    hits = [s for s, v in zip(STRINGS, got) if v is True]
    assert hits == ["是", " 是 ", "是\u3000", "\u3000是", "\u3000\u3000是\u3000\u3000", "\u00a0是\u00a0", "\t是\r\n"]


def test_nothing_but_white_space_is_not_filled(calc):
    blank = ["", " ", "\u3000", "\u00a0", " \t\r\n\u3000\u00a0 "]
    got = calc["one"].results(calc["wb"])
    python = {name: values for name, values, _ in calc["one"].columns}
    for column in ("filled(x) | to_excel", "excel_is_blank"):
        empty = column == "excel_is_blank"
        assert [s for s, v in zip(STRINGS, got[column]) if v is empty] == blank, column
        assert [s for s, v in zip(STRINGS, python[column]) if v is empty] == blank, column


def test_characters_outside_the_bmp(calc):
    """char_count follows Excel's LEN: U+20000 counts two (UTF-16 units). LibreOffice's LEN (7.4) counts it
    one (code points); the in-sheet count is then lower than the checker's by one per such character, which
    test_count_key_blank_and_emitted_expressions_agree_on_every_string allows for and nothing else."""
    assert char_count(ASTRAL) == 2 and char_count(f" {ASTRAL}\u3000{ASTRAL} ") == 4
    assert calc["astral_len"] in (1, 2)
    got = calc["one"].results(calc["wb"])["excel_char_count"]
    assert got[STRINGS.index(ASTRAL)] == calc["astral_len"]
    assert got[STRINGS.index(ASTRAL * 2)] == 2 * calc["astral_len"]
    # the text itself is compared alike on both sides
    keys = calc["one"].results(calc["wb"])["excel_text_key"]
    assert keys[STRINGS.index(f" {ASTRAL}\u3000{ASTRAL} ")] == f"{ASTRAL} {ASTRAL}"


def test_guarded_count_expressions(calc):
    """The value and violation forms of chars() expressions: both sides as the expression means them."""
    got = calc["one"].results(calc["wb"])
    bad = []
    for name, python, group in calc["one"].columns:
        if group != "count":
            continue
        for s, lo, py in zip(STRINGS, got[name], python):
            if not same(py, intended(name, s, char_count(s))):
                bad.append(f"{name} on {s!r}: Python {plain(py)!r}, meant {intended(name, s, char_count(s))!r}")
            if not same(lo, intended(name, s, lo_count(s, calc["astral_len"]))):
                bad.append(f"{name} on {s!r}: LibreOffice {lo!r}, meant "
                           f"{intended(name, s, lo_count(s, calc['astral_len']))!r}")
    assert bad == [], "\n".join(bad)
