"""The enterprise list sheet: the live counts at the top, then one row per enterprise and category.

The input columns are styled as columns (unlocked, text format so that 18-digit codes stay text), not
cell by cell, so a park can use as many rows as it needs and an empty list costs nothing; row problems
show by conditional formatting, the counts above the list compare live with section 三 (visible when
the sheet opens). Beside the list's own columns stands a 情况说明 column (defined name `lst_note`), where a
park explains a warning on its row (an enterprise also listed by another park, a 小巨人 missing from the
provincial list); the checker does not read it yet.
"""

from __future__ import annotations

from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from ...expr.excel import string_literal
from ...expr.text import excel_is_blank
from ...rules.layout import ListLayout, Place
from ...rules.workbook import LIST_PREFIX
from ..styles import (
    BORDER,
    ERROR_STYLE,
    FONT_BODY,
    FONT_HEAD,
    INPUT_FILL,
    LOCKED,
    UNLOCKED,
)
from .common import Build, header_cell, print_setup, protect_sheet


def list_sheet(b: Build) -> None:
    lay = b.layout.enterprise_list
    ws = b.wb.create_sheet(lay.sheet.title)
    ws.sheet_view.showGridLines = False
    places = {kind: [p for p in lay.sheet.places if p.kind == kind]
              for kind in ("list_title", "list_hint", "list_header", "list_note_header", "count_header", "category")}
    ncols = len(lay.sheet.widths)
    _columns(ws, lay)
    _title_rows(ws, lay, places["list_title"][0], places["list_hint"][0])
    for row in range(places["list_hint"][0].row + 1, lay.header + 1):  # the counts and the header: locked
        for c in range(1, ncols + 1):
            ws.cell(row=row, column=c).protection = LOCKED
    for row, height in lay.sheet.heights.items():
        ws.row_dimensions[row].height = height
    for p in places["list_header"] + places["list_note_header"]:
        header_cell(ws, p.row, p.col, p.text).protection = LOCKED
    names = {LIST_PREFIX + cid: letter for cid, letter in lay.letters.items()}
    names[LIST_PREFIX + "note"] = lay.note_letter
    for name, letter in names.items():
        rng = f"{quote_sheetname(ws.title)}!${letter}${lay.first}:${letter}${lay.last}"
        b.wb.defined_names[name] = DefinedName(name, attr_text=rng)
    _row_problems(b, ws, lay)
    for p in places["count_header"]:
        header_cell(ws, p.row, p.col, p.text).protection = LOCKED
    _counts(b, ws, places["category"])
    _category_dropdown(ws, lay, places["category"], b.form.enterprise_list.column("category"))
    ws.conditional_formatting.add(f"A{lay.first}:{get_column_letter(ncols)}{lay.last}", FormulaRule(
        formula=["NOT(complete)"], fill=PatternFill(bgColor=INPUT_FILL.start_color.rgb[-6:], fill_type="solid")))
    protect_sheet(ws, list_sheet=True)
    print_setup(ws, b.form, None, title_rows=f"{lay.header}:{lay.header}")
    _print_to_last_filled_row(b, ws, lay, ncols)
    ws.page_setup.orientation = "landscape"


def _columns(ws: Worksheet, lay: ListLayout) -> None:
    """The list's columns are the input cells, as many rows as the park needs."""
    for col, width in lay.sheet.widths.items():
        dim = ws.column_dimensions[get_column_letter(col)]
        dim.width = width
        dim.protection = UNLOCKED
        dim.font = Font(name=FONT_BODY, size=11)
        dim.number_format = "@"


def _title_rows(ws: Worksheet, lay: ListLayout, title: Place, hint: Place) -> None:
    ws.merge_cells(start_row=title.row, start_column=title.col, end_row=title.end_row, end_column=title.end_col)
    t = ws.cell(row=title.row, column=title.col, value=title.text)
    t.font = Font(name=FONT_HEAD, size=14, bold=True)
    t.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.merge_cells(start_row=hint.row, start_column=hint.col, end_row=hint.end_row, end_column=hint.end_col)
    h = ws.cell(row=hint.row, column=hint.col, value=hint.text)
    h.font = Font(name=FONT_BODY, size=10, color="404040")
    h.alignment = Alignment(wrap_text=True, vertical="center")
    for r in (title.row, hint.row):  # the title rows stay locked although their columns are not
        for c in range(1, len(lay.sheet.widths) + 1):
            ws.cell(row=r, column=c).protection = LOCKED


def _row_problems(b: Build, ws: Worksheet, lay: ListLayout) -> None:
    """Red in a row's cell, as the rules declare the list's columns: a required column left empty in a
    filled row, a credit code (format: uscc) not of 18 characters, the same code twice in a category or
    under two exclusive categories."""
    spec = b.form.enterprise_list
    first, last = lay.first, lay.last
    row_filled = f'LEN({"&".join(f"${letter}{first}" for letter in lay.letters.values())})>0'
    problems: dict[str, list[str]] = {}
    for c in spec.columns:
        cell = f"${lay.letters[c.id]}{first}"
        if c.required:
            problems.setdefault(lay.letters[c.id], []).append(f"AND({excel_is_blank(cell)},{row_filled})")
        if c.format == "uscc":
            problems.setdefault(lay.letters[c.id], []).append(f"AND(NOT({excel_is_blank(cell)}),LEN(TRIM({cell}))<>18)")
    choice, key = spec.column("category"), spec.column("key")
    if key is not None:
        cat, code = f"${lay.letters[choice]}{first}", f"${lay.letters[key]}{first}"
        in_list = f"{LIST_PREFIX}{choice},{{category}},{LIST_PREFIX}{key},{code}"
        twice = [f"AND(NOT({excel_is_blank(code)}),COUNTIFS({in_list.format(category=cat)})>1)"]
        for a, b_ in spec.exclusive:
            for x, y in ((spec.category(a).label, spec.category(b_).label), (spec.category(b_).label, spec.category(a).label)):
                twice.append(f"AND({cat}={string_literal(x)},COUNTIFS({in_list.format(category=string_literal(y))})>0)")
        problems.setdefault(lay.letters[key], []).extend(twice)
    for letter in lay.letters.values():
        conds = problems.get(letter, [])
        if conds:
            ws.conditional_formatting.add(f"{letter}{first}:{letter}{last}", FormulaRule(
                formula=[conds[0] if len(conds) == 1 else f"OR({','.join(conds)})"], stopIfTrue=True,
                fill=ERROR_STYLE.fill, font=ERROR_STYLE.font))


def _counts(b: Build, ws: Worksheet, categories: list[Place]) -> None:
    """Per category, the count given in section 三 beside the count in the list, and whether they agree."""
    for p in categories:
        r = p.row
        L = [get_column_letter(p.col + i) for i in range(4)]
        ws[f"{L[0]}{r}"] = p.text
        ws[f"{L[1]}{r}"] = f'=IF(ISNUMBER({b.ref(p.fid)}),{b.ref(p.fid)},"")'
        ws[f"{L[2]}{r}"] = f"=COUNTIF({LIST_PREFIX}{b.form.enterprise_list.column('category')},{L[0]}{r})"
        ws[f"{L[3]}{r}"] = f'=IF({L[1]}{r}="","",IF({L[1]}{r}={L[2]}{r},"一致","不一致"))'
        for x in L:
            ws[f"{x}{r}"].border = BORDER
            ws[f"{x}{r}"].font = Font(name=FONT_BODY, size=11)
            ws[f"{x}{r}"].protection = LOCKED
        ws[f"{L[0]}{r}"].alignment = Alignment(wrap_text=True, vertical="center")
        ws.conditional_formatting.add(f"{L[3]}{r}", FormulaRule(formula=[f'{L[3]}{r}="不一致"'], stopIfTrue=True,
                                                                fill=ERROR_STYLE.fill, font=ERROR_STYLE.font))


def _category_dropdown(ws: Worksheet, lay: ListLayout, categories: list[Place], column: str) -> None:
    """The category column's drop-down, fed from the category labels of the counts."""
    col = get_column_letter(lay.count_col)
    dv = DataValidation(type="list", formula1=f"${col}${categories[0].row}:${col}${categories[-1].row}",
                        allow_blank=True)
    dv.error, dv.errorTitle, dv.showErrorMessage = "请从下拉列表中选择企业类别", "填写有误", True
    ws.add_data_validation(dv)
    cat = lay.letters[column]
    dv.add(f"{cat}{lay.first}:{cat}{lay.last}")


def _print_to_last_filled_row(b: Build, ws: Worksheet, lay: ListLayout, ncols: int) -> None:
    """A formula print area that stops at the last filled row (Excel and WPS honour it)."""
    header = lay.header
    name = f"{LIST_PREFIX}{b.form.enterprise_list.column('name')}"
    last_filled = f"IFERROR(LOOKUP(2,1/(LEN({name})>0),ROW({name})),{header})"
    ws.defined_names.add(DefinedName(
        "_xlnm.Print_Area", localSheetId=b.wb.sheetnames.index(ws.title),
        attr_text=f"OFFSET({quote_sheetname(ws.title)}!$A$1,0,0,MAX({header},{last_filled}),{ncols})"))
