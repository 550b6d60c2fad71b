"""What every part of the build shares: the state of one build, the names formulas refer to, number
formats, table headers, merged ranges, and the protection and page setup of every visible sheet."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import quote_sheetname
from openpyxl.worksheet.worksheet import Worksheet

from ...expr.excel import string_literal
from ...rules import Field, Form
from ...rules.layout import Layout
from ...rules.workbook import LIST_PREFIX, NAME_PREFIX
from ..styles import BORDER, FONT_HEAD


@dataclass
class Check:
    """One condition shown in the 校验提示 column and as conditional formatting."""

    cell: str  # coordinate on the sheet
    condition: str  # Excel formula, TRUE when the problem is present
    message: str
    severity: str  # error | warning
    note: str | None = None  # the 情况说明 field whose reason silences a warning
    code: str = ""  # the checker's finding code (a rule's id) this check stands for
    fid: str = ""  # the field the checker reports it on
    detail: str = ""  # an Excel text expression shown after the message (what the check found)


@dataclass
class Build:
    """One workbook being built: the form, the park of a personal copy, where everything goes."""

    form: Form
    park: dict[str, str]
    layout: Layout
    wb: Workbook = field(default_factory=Workbook)
    row_checks: dict[tuple[str, int], list[Check]] = field(default_factory=dict)  # (sheet, row) -> checks
    needs_reason: dict[str, str] = field(default_factory=dict)  # 情况说明 field -> when a warning asks for it
    shaded: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # sheet -> input | derived -> ranges
    calc: object = None  # the helper sheet's writer (write/template/calc.py: Calc)

    # the callbacks through which a compiled expression becomes an Excel formula: a field as the checker
    # reads it (write/template/calc.py), never the raw cell
    def ref(self, fid: str) -> str:
        """The value the checker judges: a number or date as read, a computed indicator as recomputed
        (what the cell holds where its parts are missing), a text as read."""
        f = self.form.fields[fid]
        if f.is_numeric:
            return f"eff_{fid}" if f.is_derived else f"num_{fid}"
        return f"num_{fid}" if f.type == "date" else f"txt_{fid}"

    def ref_calc(self, fid: str) -> str:
        """A part of a footnote formula: its parts as read, computed parts recomputed."""
        f = self.form.fields[fid]
        return f"calc_{fid}" if f.is_derived and f.is_numeric else self.ref(fid)

    def is_text(self, fid: str) -> bool:
        return not (self.form.fields[fid].is_numeric or self.form.fields[fid].type == "date")

    def list_count(self, cid: str) -> str:
        cat = self.form.enterprise_list.category(cid)
        return f"COUNTIF({LIST_PREFIX}{self.form.enterprise_list.column('category')},{string_literal(cat.label)})"

    def is_input(self, f: Field) -> bool:
        """Whether the park fills the field in (not computed, not given in a personal copy)."""
        return not f.is_derived and f.id not in self.park


def field_name(fid: str) -> str:
    return NAME_PREFIX + fid


def absolute(sheet_title: str, coord: str) -> str:
    """("三、发展情况", "C5") -> "'三、发展情况'!$C$5"."""
    col, row = re.match(r"([A-Z]+)(\d+)", coord).groups()
    return f"{quote_sheetname(sheet_title)}!${col}${row}"


def number_format(f: Field) -> str:
    if f.type == "integer":
        return "0"
    if f.type == "date":
        return 'yyyy"年"m"月"d"日"'
    if f.type == "number":
        d = 2 if f.decimals is None else f.decimals
        return "#,##0" + ("." + "0" * d if d else "")
    return "@"


def header_cell(ws: Worksheet, row: int, col: int, text: str, *, color: str | None = None):
    """A table header: bold, centred, bordered (not shaded: the printed form has no fill colours)."""
    c = ws.cell(row=row, column=col, value=text)
    c.font = Font(name=FONT_HEAD, size=11, bold=True, color=color)
    c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    c.border = BORDER
    return c


def merged_range(ws: Worksheet, coord: str) -> str:
    """The merged range a cell starts, or the cell itself (values live in the top-left cell)."""
    for rng in ws.merged_cells.ranges:
        if rng.start_cell.coordinate == coord:
            return rng.coord
    return coord


def protect_sheet(ws: Worksheet, list_sheet: bool = False) -> None:
    p = ws.protection
    p.sheet = True
    p.formatRows = False  # allowed: parks may make rows taller to read long text
    p.formatColumns = False
    p.formatCells = True
    if list_sheet:
        p.insertRows = False
        p.deleteRows = False
    p.selectLockedCells = False
    p.selectUnlockedCells = False


def print_setup(ws: Worksheet, form: Form, area: str | list[str] | None, title_rows: str | None = None) -> None:
    """A4, fitted to the page's width (the form sheets are laid out to fit without shrinking, see
    rules/layout.py), in black and white: Excel and WPS then print no fill colours (the yellow input
    cells, the colours of the checks), only the text and the borders."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.page_setup.blackAndWhite = True
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if area:
        ws.print_area = area
    if title_rows:
        ws.print_title_rows = title_rows
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.75
    ws.oddHeader.left.text = f"{form.title}（{form.category_name}）"
    ws.oddHeader.left.size = 9
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.oddFooter.center.size = 9
