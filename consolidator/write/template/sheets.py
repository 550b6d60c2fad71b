"""The form sheets: every title, paragraph, label, header and value cell where the layout puts it,
styled; computed indicators as live formulas, a personal copy's given values filled in and locked."""

from __future__ import annotations

from typing import Callable

from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ...rules.layout import (
    COL_BLOCK,
    COL_CHECK,
    COL_LABEL,
    PARAGRAPH_PT,
    PRINT_LAST_COL,
    TITLE_PT,
    Place,
)
from ..styles import (
    BORDER,
    DERIVED_FILL,
    FONT_BODY,
    FONT_HEAD,
    HEAD_FILL,
    INPUT_FILL,
    LOCKED,
    UNLOCKED,
)
from ..xlsx import xml_text
from .common import Build, header_cell, number_format, print_setup, protect_sheet


def form_sheets(b: Build) -> None:
    for sheet in b.layout.sheets:
        ws = b.wb.create_sheet(sheet.title)
        for col, width in sheet.widths.items():
            ws.column_dimensions[get_column_letter(col)].width = width
        ws.sheet_view.showGridLines = False
        for place in sheet.places:
            _WRITERS[place.kind](b, ws, place)
        for row, height in sheet.heights.items():
            ws.row_dimensions[row].height = height
        protect_sheet(ws)
        print_setup(ws, b.form, f"A1:{get_column_letter(PRINT_LAST_COL)}{sheet.last_row}")


def _merge(ws: Worksheet, p: Place) -> None:
    if p.merged:
        ws.merge_cells(start_row=p.row, start_column=p.col, end_row=p.end_row, end_column=p.end_col)


def _title(b: Build, ws: Worksheet, p: Place) -> None:
    _merge(ws, p)
    c = ws.cell(row=p.row, column=p.col, value=p.text)
    c.font = Font(name=FONT_HEAD, size=TITLE_PT, bold=True)
    c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _paragraph(b: Build, ws: Worksheet, p: Place) -> None:
    _merge(ws, p)
    c = ws.cell(row=p.row, column=p.col, value=p.text)
    c.font = Font(name=FONT_HEAD if p.style == "heading" else FONT_BODY, size=PARAGRAPH_PT.get(p.style, 11),
                  bold=p.style == "heading", color="595959" if p.style == "note" else None)
    c.alignment = Alignment(wrap_text=True, vertical="top")


def _block_title(b: Build, ws: Worksheet, p: Place) -> None:
    """The block's title in column A, beside (merged over) all its rows."""
    _merge(ws, p)
    c = ws.cell(row=p.row, column=COL_BLOCK, value=p.text)
    c.font = Font(name=FONT_HEAD, size=11, bold=True)
    c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    c.fill = HEAD_FILL
    for r in range(p.row, p.end_row + 1):
        ws.cell(row=r, column=COL_BLOCK).border = BORDER


def _label(b: Build, ws: Worksheet, p: Place) -> None:
    part = b.form.fields[p.fid].part_of
    c = ws.cell(row=p.row, column=p.col, value=p.text)
    c.font = Font(name=FONT_BODY, size=11, color="404040" if part else None)
    c.alignment = Alignment(wrap_text=True, vertical="center", indent=2 if part else 0)
    c.border = BORDER


def _value(b: Build, ws: Worksheet, p: Place) -> None:
    f = b.form.fields[p.fid]
    _merge(ws, p)
    c = ws.cell(row=p.row, column=p.col)
    for r, cc in p.cells():
        ws.cell(row=r, column=cc).border = BORDER
    c.number_format = number_format(f)
    c.font = Font(name=FONT_BODY, size=11)
    wrap = f.type in ("text", "longtext", "choice")
    c.alignment = Alignment(wrap_text=wrap, vertical="top" if f.type == "longtext" else "center",
                            horizontal="left" if wrap else "right" if f.is_numeric else None)
    if f.is_derived:
        c.value = f.formula.excel_value_formula(b.ref, b.is_text, b.list_count)
    elif f.id in b.park:
        c.value = xml_text(str(b.park[f.id]))  # the roster's text: nothing a workbook cannot hold
    if not b.is_input(f):
        c.fill = DERIVED_FILL
        c.protection = LOCKED
        return
    c.fill = INPUT_FILL
    c.protection = UNLOCKED
    for r, cc in p.cells():
        ws.cell(row=r, column=cc).protection = UNLOCKED
        ws.cell(row=r, column=cc).fill = INPUT_FILL


def _border(b: Build, ws: Worksheet, p: Place) -> None:
    ws.cell(row=p.row, column=p.col).border = BORDER


def _header(b: Build, ws: Worksheet, p: Place) -> None:
    header_cell(ws, p.row, p.col, p.text)


def _check_head(b: Build, ws: Worksheet, p: Place) -> None:
    """The title of the 校验提示 column: above the sheet, or in a year table's header row."""
    c = ws.cell(row=p.row, column=COL_CHECK, value=p.text)
    c.font = Font(name=FONT_HEAD, size=11, bold=True, color="C00000")
    if p.kind == "check_head":
        c.alignment = Alignment(vertical="center")


def _column_head(b: Build, ws: Worksheet, p: Place) -> None:
    """A repeated block's column header, over the columns of its field."""
    _merge(ws, p)
    c = ws.cell(row=p.row, column=p.col, value=p.text)
    c.font = Font(name=FONT_HEAD, size=11, bold=True)
    c.alignment = Alignment(horizontal="center", vertical="center")
    c.fill = HEAD_FILL
    for cc in range(p.col, p.end_col + 1):
        ws.cell(row=p.row, column=cc).border = BORDER


def _number(b: Build, ws: Worksheet, p: Place) -> None:
    c = ws.cell(row=p.row, column=COL_LABEL, value=p.text)
    c.alignment = Alignment(horizontal="center", vertical="center")
    c.border = BORDER


def _longtext_hint(b: Build, ws: Worksheet, p: Place) -> None:
    """What to write, beside a long text's label; the text itself goes in the rows below."""
    _merge(ws, p)
    c = ws.cell(row=p.row, column=p.col, value=p.text)
    c.font = Font(name=FONT_BODY, size=9, color="595959")
    c.alignment = Alignment(wrap_text=True, vertical="center")


_WRITERS: dict[str, Callable[[Build, Worksheet, Place], None]] = {
    "title": _title, "paragraph": _paragraph, "block": _block_title, "label": _label, "value": _value,
    "border": _border, "header": _header, "check_head": _check_head, "check_column": _check_head,
    "column_head": _column_head, "number": _number, "longtext_hint": _longtext_hint,
}
