"""The form sheets: every title, paragraph, label, header and value cell where the layout puts it,
styled; computed indicators as live formulas, a personal copy's given values filled in and locked; the
long report's printed lines; and each sheet's printing: its print ranges and page breaks (rules/layout.py),
its frozen header.

Input cells are yellow and computed cells grey while the return is incomplete (conditional formatting
over the helper flag `complete`): once every required cell is filled the sheets look as they print, with
no fill colours (Excel and WPS print in black and white anyway; LibreOffice prints fills).
"""

from __future__ import annotations

from typing import Callable

from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from ...expr.excel import string_literal
from ...rules.layout import (
    CHECK_PT,
    COL_BLOCK,
    COL_CHECK,
    COL_LABEL,
    PARAGRAPH_PT,
    PRINT_LAST_COL,
    TITLE_PT,
    Place,
    PrintLines,
    SheetLayout,
)
from ..styles import (
    BORDER,
    DERIVED_FILL,
    FONT_BODY,
    FONT_HEAD,
    INPUT_FILL,
    LOCKED,
    UNLOCKED,
)
from ..xlsx import xml_text
from .calc import CALC_SHEET
from .common import (
    Build,
    header_cell,
    merged_range,
    number_format,
    print_setup,
    protect_sheet,
)

SCREEN_GREY = "7F7F7F"
CLOSING = "，。、；：？！”’）》】〉」』…,.;:?!)"


def form_sheet(b: Build, sheet: SheetLayout) -> None:
    ws = b.wb.create_sheet(sheet.title)
    for col, width in sheet.widths.items():
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.sheet_view.showGridLines = False
    for place in sheet.places:
        _WRITERS[place.kind](b, ws, place)
    for row, height in sheet.heights.items():
        ws.row_dimensions[row].height = height
    if sheet.freeze:
        ws.freeze_panes = f"A{sheet.freeze}"
    protect_sheet(ws)
    last = get_column_letter(PRINT_LAST_COL)
    areas = [f"A{a}:{last}{z}" for a, z in sheet.print_rows]
    print_setup(ws, b.form, areas if len(areas) > 1 else areas[0])
    for row in sheet.breaks:
        ws.row_breaks.append(Break(id=row - 1))


def print_lines(b: Build, lines: PrintLines) -> None:
    """The lines a long text prints in: line k shows the characters from where line k-1 ended up to
    the next line break, at most `per_line` (helper cells on _calc); the last says when the text goes on
    beyond the prepared lines."""
    calc = b.wb[CALC_SHEET]
    ws = b.wb[lines.sheet]
    top = calc.max_row + 1
    text = f"$B${top}"
    calc.cell(row=top, column=1, value=f"{lines.fid}#lines")
    calc.cell(row=top, column=2, value=f'=SUBSTITUTE(IFERROR(fld_{lines.fid}&"",""),CHAR(13),"")')
    ref = quote_sheetname(CALC_SHEET)
    for k in range(lines.count):
        r = top + 1 + k
        start = "1" if k == 0 else (f'$B${r - 1}+$D${r - 1}+IF(MID({text},$B${r - 1}+$D${r - 1},1)=CHAR(10),1,0)')
        calc.cell(row=r, column=1, value=k + 1)
        calc.cell(row=r, column=2, value="=" + start)
        calc.cell(row=r, column=3, value=f"=IFERROR(FIND(CHAR(10),{text},$B${r}),LEN({text})+1)")
        # a line may take one more character when it is a closing punctuation mark (no line starts with one)
        calc.cell(row=r, column=4, value=f"=MAX(0,MIN($C${r}-$B${r},{lines.per_line}))+IF(AND($C${r}-$B${r}>{lines.per_line},"
                                         f'ISNUMBER(FIND(MID({text},$B${r}+{lines.per_line},1),{string_literal(CLOSING)}))),1,0)')
        cell = ws.cell(row=lines.first + k, column=COL_LABEL)
        if k < lines.count - 1:
            cell.value = f'=IF({ref}!$B${r}>LEN({ref}!{text}),"",MID({ref}!{text},{ref}!$B${r},{ref}!$D${r}))'
        else:
            cell.value = (f'=IF({ref}!$B${r}>LEN({ref}!{text}),"",'
                          f'"（以下内容超出打印行数，未能打印：请精简到规定字数以内，或另附页）")')


def _merge(ws: Worksheet, p: Place) -> None:
    if p.merged:
        ws.merge_cells(start_row=p.row, start_column=p.col, end_row=p.end_row, end_column=p.end_col)


def _title(b: Build, ws: Worksheet, p: Place) -> None:
    _merge(ws, p)
    c = ws.cell(row=p.row, column=p.col, value=p.text)
    c.font = Font(name=FONT_HEAD, size=20 if p.style == "cover" else TITLE_PT, bold=True)
    c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _paragraph(b: Build, ws: Worksheet, p: Place) -> None:
    _merge(ws, p)
    c = ws.cell(row=p.row, column=p.col, value=p.text)
    heading = p.style == "heading"
    c.font = Font(name=FONT_HEAD if heading else FONT_BODY, size=PARAGRAPH_PT.get(p.style, 11), bold=heading,
                  color="404040" if p.style == "note" else None)
    if p.style in ("seal", "date"):
        c.alignment = Alignment(horizontal="right", vertical="center", indent=4 if p.style == "seal" else 2)
    else:
        c.alignment = Alignment(wrap_text=True, vertical="top")


def _block_title(b: Build, ws: Worksheet, p: Place) -> None:
    """The block's title in column A, beside (merged over) its rows of one page."""
    _merge(ws, p)
    c = ws.cell(row=p.row, column=COL_BLOCK, value=p.text)
    c.font = Font(name=FONT_HEAD, size=11, bold=True)
    c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for r in range(p.row, p.end_row + 1):
        ws.cell(row=r, column=COL_BLOCK).border = BORDER


def _label(b: Build, ws: Worksheet, p: Place) -> None:
    part = b.form.fields[p.fid].part_of
    c = ws.cell(row=p.row, column=p.col, value=p.text)
    c.font = Font(name=FONT_BODY, size=11, color="404040" if part else None)
    c.alignment = Alignment(wrap_text=True, vertical="center", indent=1 if part else 0)
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
        c.value = f.formula.excel_value_formula(b.ref_calc, b.is_text, b.list_count)
    elif f.id in b.park:
        c.value = xml_text(str(b.park[f.id]))  # the roster's text: nothing a workbook cannot hold
    if not b.is_input(f):
        c.protection = LOCKED
        b.shaded.setdefault(ws.title, {}).setdefault("derived", []).append(merged_range(ws, p.coord))
        return
    c.protection = UNLOCKED
    for r, cc in p.cells():
        ws.cell(row=r, column=cc).protection = UNLOCKED
    b.shaded.setdefault(ws.title, {}).setdefault("input", []).append(merged_range(ws, p.coord))


def _border(b: Build, ws: Worksheet, p: Place) -> None:
    ws.cell(row=p.row, column=p.col).border = BORDER


def _header(b: Build, ws: Worksheet, p: Place) -> None:
    header_cell(ws, p.row, p.col, p.text)


def _check_head(b: Build, ws: Worksheet, p: Place) -> None:
    """The title of the 校验提示 column: above the sheet, or in a year table's header row."""
    c = ws.cell(row=p.row, column=COL_CHECK, value=p.text)
    c.font = Font(name=FONT_HEAD, size=11, bold=True, color="C00000")
    c.alignment = Alignment(vertical="center")


def _column_head(b: Build, ws: Worksheet, p: Place) -> None:
    """A repeated block's column header, over the columns of its field."""
    _merge(ws, p)
    c = ws.cell(row=p.row, column=p.col, value=p.text)
    c.font = Font(name=FONT_HEAD, size=11, bold=True)
    c.alignment = Alignment(horizontal="center", vertical="center")
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
    c.font = Font(name=FONT_BODY, size=PARAGRAPH_PT["note"], color="404040")
    c.alignment = Alignment(wrap_text=True, vertical="center")


def _remark(b: Build, ws: Worksheet, p: Place) -> None:
    """The form's words beside a value ("（加盖单位公章）"), printed."""
    c = ws.cell(row=p.row, column=p.col, value=p.text)
    c.font = Font(name=FONT_BODY, size=10)
    c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    c.border = BORDER


def _screen_hint(b: Build, ws: Worksheet, p: Place) -> None:
    """What the workbook says about a row, in the column that is not printed."""
    c = ws.cell(row=p.row, column=COL_CHECK, value=p.text)
    c.font = Font(name=FONT_BODY, size=CHECK_PT, color=SCREEN_GREY)
    c.alignment = Alignment(wrap_text=True, vertical="center")


def _print_line(b: Build, ws: Worksheet, p: Place) -> None:
    """One printed line of a long text (its formula: print_lines)."""
    _merge(ws, p)
    c = ws.cell(row=p.row, column=p.col)
    c.font = Font(name=FONT_BODY, size=11)
    c.alignment = Alignment(vertical="bottom", wrap_text=False)


def _stamp(b: Build, ws: Worksheet, p: Place) -> None:
    _merge(ws, p)


_WRITERS: dict[str, Callable[[Build, Worksheet, Place], None]] = {
    "title": _title, "paragraph": _paragraph, "block": _block_title, "label": _label, "value": _value,
    "border": _border, "header": _header, "check_head": _check_head, "check_column": _check_head,
    "column_head": _column_head, "number": _number, "longtext_hint": _longtext_hint, "remark": _remark,
    "screen_hint": _screen_hint, "print_line": _print_line, "stamp": _stamp,
}


def shading(b: Build) -> None:
    """Yellow input cells and grey computed cells while the return is incomplete; added after the checks,
    so that their red and orange come first."""
    for title, kinds in b.shaded.items():
        ws = b.wb[title]
        for kind, ranges in kinds.items():
            fill = INPUT_FILL if kind == "input" else DERIVED_FILL
            colour = fill.start_color.rgb[-6:]
            ws.conditional_formatting.add(" ".join(ranges), FormulaRule(
                formula=["NOT(complete)"], fill=PatternFill(bgColor=colour, fill_type="solid")))
