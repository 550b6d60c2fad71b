"""The copy of a return sent back to its park: a first sheet 问题清单 listing every problem with a link to
its cell, and each problem cell coloured by severity and commented.

Colours are the checker's (write/styles.py): red for an error (the mail's 【错误】), orange for a warning
(需要核实). The return's own conditional formats are taken off the marked cells, since Excel and WPS
paint a conditional format over a cell's fill and the template's in-sheet checks may judge a cell
differently. A cascade (check/cascade.py) is one finding on the cell that causes it, so that cell is the
one marked. Comments are placed beside their cells and sized to their text (openpyxl puts every box at
the sheet's top left, where "show all comments" stacks them); they print at the end of each sheet, and
the 问题清单 sheet prints on A4 with the reasons.

The original is never touched (the copy is made from its bytes); macros are never carried over (the copy
is a plain .xlsx).
"""

from __future__ import annotations

import contextlib
import copy
import io
import warnings
import zipfile
from collections import defaultdict

import openpyxl
from openpyxl.cell.cell import MergedCell
from openpyxl.comments import Comment
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.styles import Alignment, Border, Font
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.merge import MergedCellRange

from ..findings import ERROR, WARNING, Finding
from . import annotate_direct
from .annotation import (
    COMMENT_AUTHOR,
    COMMENT_PX,
    FILLS,
    LIST_FOOTER,
    LIST_GUIDE,
    LIST_HEADS,
    LIST_SHEET,
    LIST_WIDTHS,
    WORDS,
    Widths,
    comment_height,
    first_cell_of,
    link_location,
    list_title,
    problem_entry,
    shifted_formula,
    vml_blocks,
    vml_part,
)
from .styles import BORDER, HEAD_FILL, HEAD_FONT
from .xlsx import xml_text


def annotate(data: bytes, findings: list[Finding]) -> bytes | None:
    """A copy of the return with a 问题清单 sheet first and each problem cell coloured and commented; None
    when the file is not an .xlsx/.xlsm openpyxl can open. Made on the package itself (annotate_direct) where
    it can be, else through openpyxl."""
    try:
        return annotate_direct.annotate_package(data, [f for f in findings if f.severity in (ERROR, WARNING)])
    except Exception:  # noqa: BLE001 (Unhandled, or a package unlike any it expects: openpyxl decides)
        pass
    return annotate_with_openpyxl(data, findings)


def annotate_with_openpyxl(data: bytes, findings: list[Finding]) -> bytes | None:
    """annotate() through openpyxl's object model: for every package."""
    try:
        with warnings.catch_warnings(), _merged_borders_remembered():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(data), keep_vba=False, keep_links=False)
    except Exception:
        return None
    problems = [f for f in findings if f.severity in (ERROR, WARNING)]
    places = _mark_cells(wb, problems)
    _problem_sheet(wb, problems, places)
    buf = io.BytesIO()
    wb.save(buf)
    return _place_comments(buf.getvalue(), wb)


@contextlib.contextmanager
def _merged_borders_remembered():
    """openpyxl's MergedCellRange.format, which gives the cells a merged range covers the borders of its first
    cell as a workbook is loaded, with each combination of borders made once a workbook instead of once a cell
    (Border objects are hashed and compared each time): it was more than half of the time of a copy. The
    copies are byte for byte those of openpyxl's own method (tests/test_annotate.py)."""
    original = MergedCellRange.format, MergedCellRange._get_borders
    MergedCellRange.format, MergedCellRange._get_borders = _format_merged, _first_cell_borders
    try:
        yield
    finally:
        MergedCellRange.format, MergedCellRange._get_borders = original


def _first_cell_borders(self: MergedCellRange) -> None:
    """MergedCellRange._get_borders (openpyxl 3.1): the first cell of the range (made when missing) gets the
    right and bottom borders of its last cell; remembered like _format_merged's."""
    ws = self.ws
    self.start_cell = ws._cells.get((self.min_row, self.min_col)) or ws.cell(row=self.min_row, column=self.min_col)
    end = ws._cells.get((self.max_row, self.max_col))
    if end is None:
        return
    start = self.start_cell
    if not getattr(start, "_style"):
        start._style = StyleArray()
    memo = ws.parent.__dict__.setdefault("_merged_borders", {})
    key = (start._style.borderId, "first", end._style.borderId if getattr(end, "_style") else 0)
    if key in memo:
        start._style.borderId = memo[key]
    else:
        start.border += Border(right=end.border.right, bottom=end.border.bottom)
        memo[key] = start._style.borderId


def _format_merged(self: MergedCellRange) -> None:
    """MergedCellRange.format (openpyxl 3.1), remembering the border index each combination gives."""
    ws, start = self.ws, self.start_cell
    memo = ws.parent.__dict__.setdefault("_merged_borders", {})

    def covered(coord):
        cell = ws._cells.get(coord)
        if cell is None:
            cell = ws._cells[coord] = MergedCell(ws, row=coord[0], column=coord[1])
        if not getattr(cell, "_style"):
            cell._style = StyleArray()
        return cell

    for name in ("top", "left", "right", "bottom"):
        side = getattr(start.border, name)
        if side and side.style is None:
            continue  # no border on that side
        for coord in getattr(self, name):
            cell = covered(coord)
            key = (cell._style.borderId, name, start._style.borderId)
            if key in memo:
                cell._style.borderId = memo[key]
            else:
                cell.border += Border(**{name: side})
                memo[key] = cell._style.borderId
    protection = start._style.protectionId  # what setting a copy of the first cell's protection gives
    for coord in self.cells:
        covered(coord)._style.protectionId = protection


def _mark_cells(wb, problems: list[Finding]) -> dict[int, tuple[str, str]]:
    """Colour and comment every problem cell; returns where each problem is (by id), its merged range's
    first cell, for the links of 问题清单."""
    by_cell: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    places = {}
    for f in problems:
        if f.sheet and f.cell and f.sheet in wb.sheetnames:
            coord = _first_cell(wb[f.sheet], f.cell)
            by_cell[(f.sheet, coord)].append(f)
            places[id(f)] = (f.sheet, coord)
    marked: dict[str, set[str]] = defaultdict(set)
    for (sheet, coord), items in by_cell.items():
        ws = wb[sheet]
        cell = ws[coord]
        worst = ERROR if any(f.severity == ERROR for f in items) else WARNING
        cell.fill = FILLS[worst]
        text = "\n".join(f"【{WORDS[f.severity]}】{f.message}" for f in items)
        old = cell.comment.text + "\n" if cell.comment else ""
        comment = Comment(xml_text(old + text), COMMENT_AUTHOR)
        comment.width, comment.height = COMMENT_PX, comment_height(old + text)
        cell.comment = comment
        marked[sheet].update(_merged_cells(ws, coord))
    for sheet, coords in marked.items():
        ws = wb[sheet]
        _drop_conditional_formats(ws, coords)
        ws.page_setup.cellComments = "atEnd"  # the reasons print too: after the sheet
        ws.page_setup.blackAndWhite = None  # and the marks: the template prints in black and white (no fills)
    return places


def _first_cell(ws, coord: str) -> str:
    for rng in ws.merged_cells.ranges:
        if coord in rng:
            return rng.start_cell.coordinate
    return coord


def _merged_cells(ws, coord: str) -> list[str]:
    """Every cell of the merged range that starts at `coord` (just `coord` when it is not merged)."""
    for rng in ws.merged_cells.ranges:
        if rng.start_cell.coordinate == coord:
            return [f"{get_column_letter(c)}{r}" for r in range(rng.min_row, rng.max_row + 1)
                    for c in range(rng.min_col, rng.max_col + 1)]
    return [coord]


def _drop_conditional_formats(ws, coords: set[str]) -> None:
    """Take the sheet's conditional formats off these cells (each keeps them everywhere else), so that
    the fill set here is the one shown."""
    if not coords:
        return
    kept = ConditionalFormattingList()
    for cf in ws.conditional_formatting:
        ranges = []
        for rng in cf.sqref.ranges:
            cells = [f"{get_column_letter(c)}{r}" for r in range(rng.min_row, rng.max_row + 1)
                     for c in range(rng.min_col, rng.max_col + 1)]
            if not coords.intersection(cells):
                ranges.append(rng.coord)
            else:
                ranges += [c for c in cells if c not in coords]
        if ranges:
            old, new = first_cell_of(str(cf.sqref)), first_cell_of(ranges[0])
            for rule in cf.rules:
                if old != new and rule.formula:  # relative to the first cell: written from the new one
                    rule = copy.copy(rule)
                    rule.formula = [shifted_formula(f, old, new) for f in rule.formula]
                kept.add(" ".join(ranges), rule)
    ws.conditional_formatting = kept


def _problem_sheet(wb, problems: list[Finding], places: dict[int, tuple[str, str]]) -> None:
    """The first sheet: every problem with a link to its cell, what is wrong and what to do; prints on A4."""
    name = LIST_SHEET
    while name in wb.sheetnames:
        name += "（检查）"
    ws = wb.create_sheet(name, 0)
    for other in wb.worksheets[1:]:
        other.sheet_view.tabSelected = False
    wb.active = 0
    ws.sheet_view.tabSelected = True
    ws["A1"] = list_title(problems)
    ws["A1"].font = Font(name=HEAD_FONT.name, size=14, bold=True)
    ws["A2"] = LIST_GUIDE
    ws["A2"].alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells("A1:H1")
    ws.merge_cells("A2:H2")
    ws.row_dimensions[2].height = 32
    for k, (head, width) in enumerate(zip(LIST_HEADS, LIST_WIDTHS), 1):
        c = ws.cell(3, k, head)
        c.font, c.fill, c.border = HEAD_FONT, HEAD_FILL, BORDER
        c.alignment = Alignment(horizontal="center", vertical="center")
        ws.column_dimensions[get_column_letter(k)].width = width
    order = sorted(problems, key=lambda f: f.severity != ERROR)  # errors first, each group as found
    for n, f in enumerate(order, 1):
        _problem_row(ws, 3 + n, n, f, places.get(id(f)))
    ws.freeze_panes = "A4"
    ws.print_title_rows = "3:3"
    ws.print_area = f"A1:H{3 + len(order)}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = False
    ws.oddFooter.center.text = LIST_FOOTER


def _problem_row(ws, row: int, n: int, f: Finding, place: tuple[str, str] | None) -> None:
    values, height = problem_entry(n, f, place)
    for k, v in enumerate(values, 1):
        c = ws.cell(row, k, xml_text(v) if isinstance(v, str) else v)
        c.alignment = Alignment(wrap_text=True, vertical="top")
        c.border = BORDER
    ws.cell(row, 2).fill = FILLS[f.severity]
    if place:
        link = ws.cell(row, 3)
        link.hyperlink = Hyperlink(ref=link.coordinate, location=link_location(place), display=values[2])
        link.font = Font(color="0563C1", underline="single")
    ws.row_dimensions[row].height = height


# ---- comments beside their cells ---------------------------------------------------------------------
def _place_comments(data: bytes, wb) -> bytes:
    """The saved copy with each sheet's comment boxes (VML) anchored beside their cells. openpyxl leaves,
    after saving, each sheet's comments (`_comments`) and the part it wrote their boxes to
    (`legacy_drawing`); without them the copy is kept as saved."""
    drawings = {}
    sheets = [ws for ws in wb.worksheets if getattr(ws, "_comments", None) and getattr(ws, "legacy_drawing", None)]
    block = 1
    for ws in sheets:
        refs = [getattr(c, "ref", None) for c in ws._comments]
        if all(refs):
            drawings[ws.legacy_drawing.lstrip("/")] = _vml(ws, [ws[r] for r in refs], block)
            block += vml_blocks(len(refs))
    if not drawings:
        return data
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, drawings.get(item.filename) or src.read(item.filename))
    return out.getvalue()


def _vml(ws, cells: list, block: int) -> bytes:
    """The comment boxes of a sheet: each to the right of its cell (of its merged range), top at its row."""
    boxes = []
    for cell in cells:
        right = cell.column
        for rng in ws.merged_cells.ranges:
            if cell.coordinate in rng:
                right = rng.max_col
        boxes.append((cell.row, cell.column, right, cell.comment.width, cell.comment.height))
    return vml_part(Widths.of_sheet(ws), boxes, block)


