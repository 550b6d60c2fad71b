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
import math
import warnings
import zipfile
from collections import defaultdict

import openpyxl
from openpyxl.cell.cell import MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Border
from openpyxl.styles.cell_style import StyleArray
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.formula.translate import Translator
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.merge import MergedCellRange

from ..findings import CATALOGUE, ERROR, WARNING, Finding
from .styles import BORDER, ERROR_FILL, HEAD_FILL, HEAD_FONT, WARNING_FILL, text_width
from .xlsx import xml_text

COMMENT_AUTHOR = "报送检查"
LIST_SHEET = "问题清单"
WORDS = {ERROR: "错误", WARNING: "需要核实"}  # as the feedback mail says them (mail/plan.py)
FILLS = {ERROR: ERROR_FILL, WARNING: WARNING_FILL}
# the comment box: its width in pixels, and how many display units (text_width) fit on one of its lines
COMMENT_PX, COMMENT_UNITS, LINE_PX = 300, 40, 16
LIST_HEADS = ("序号", "类型", "位置", "栏目", "填写内容", "应为", "问题说明", "怎么改")
LIST_WIDTHS = (6, 10, 22, 24, 20, 20, 48, 36)
LIST_GUIDE = ("标红的单元格是错误，必须改正；标橙的需要核实，确认无误的在该行“情况说明”中写明原因。"
              "点击“位置”跳到该单元格，单元格的批注写明了问题。改正后请重新发送整个文件。")
LIST_FOOTER = "第 &P 页，共 &N 页"
# what to do, for a cross-field rule (its own code is not in the catalogue)
RULE_ACTION = {ERROR: "按问题说明改正后重新发送；这是强制要求，填写情况说明不能代替改正。",
               WARNING: "核实数值和单位；确认无误的，在该行“情况说明”中写明具体原因。"}


def annotate(data: bytes, findings: list[Finding]) -> bytes | None:
    """A copy of the return with a 问题清单 sheet first and each problem cell coloured and commented; None
    when the file is not an .xlsx/.xlsm openpyxl can open. Made on the package itself (annotate_direct) where
    it can be, else through openpyxl."""
    from .annotate_direct import annotate_package

    try:
        return annotate_package(data, [f for f in findings if f.severity in (ERROR, WARNING)])
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
        comment.width, comment.height = COMMENT_PX, _comment_height(old + text)
        cell.comment = comment
        marked[sheet].update(_merged_cells(ws, coord))
    for sheet, coords in marked.items():
        ws = wb[sheet]
        _drop_conditional_formats(ws, coords)
        ws.page_setup.cellComments = "atEnd"  # the reasons print too: after the sheet
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


def _comment_height(text: str) -> int:
    lines = sum(max(1, math.ceil(text_width(part) / COMMENT_UNITS)) for part in text.split("\n"))
    return LINE_PX * lines + 14


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


def first_cell_of(sqref: str) -> str:
    """The first cell of a list of ranges ("B2:B6 D2" -> "B2"), to which a conditional format's formula is
    relative."""
    return sqref.split()[0].split(":")[0].replace("$", "")


def shifted_formula(formula: str, old: str, new: str) -> str:
    """A conditional format's formula (relative to cell `old`) as it reads relative to `new`: taking the first
    cell off a range moves what the formula is relative to."""
    return Translator("=" + formula, origin=old).translate_formula(new)[1:]


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


def problem_entry(n: int, f: Finding, place: tuple[str, str] | None) -> tuple[tuple, float]:
    """A row of 问题清单: (序号, 类型, 位置, 栏目, 填写内容, 应为, 问题说明, 怎么改) and its height (pt)."""
    entry = CATALOGUE.get(f.code)
    action = entry.action if entry else RULE_ACTION[f.severity]
    where = f"{place[0]} {place[1]}" if place else (f"{f.sheet} {f.cell}".strip() or "—")
    values = (n, WORDS[f.severity], where, f.label, f.value, f.expected, f.message, action)
    longest = max(text_width(str(v)) / max(w - 1, 1) for v, w in zip(values[3:], LIST_WIDTHS[3:]))
    return values, max(1, math.ceil(longest * 1.1)) * 15 + 6


def list_title(problems: list[Finding]) -> str:
    errors, warns = sum(f.severity == ERROR for f in problems), sum(f.severity == WARNING for f in problems)
    file = next((f.file for f in problems if f.file), "")
    return xml_text(f"问题清单：{file}（错误 {errors} 项，需要核实 {warns} 项）")


def link_location(place: tuple[str, str]) -> str:
    sheet = place[0].replace("'", "''")
    return f"'{sheet}'!{place[1]}"


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
_VML_HEAD = ('<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"'
             ' xmlns:x="urn:schemas-microsoft-com:office:excel">'
             '<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{block}"/></o:shapelayout>'
             '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
             '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>')
_VML_SHAPE = ('<v:shape id="_x0000_s{sid}" type="#_x0000_t202" style="position:absolute;margin-left:{left}pt;'
              'margin-top:{top}pt;width:{width}pt;height:{height}pt;z-index:{z};visibility:hidden"'
              ' fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/>'
              '<v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
              '<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div></v:textbox>'
              '<x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
              '<x:Anchor>{anchor}</x:Anchor><x:AutoFill>False</x:AutoFill>'
              '<x:Row>{row}</x:Row><x:Column>{col}</x:Column></x:ClientData></v:shape>')


def _place_comments(data: bytes, wb) -> bytes:
    """The saved copy with each sheet's comment boxes (VML) anchored beside their cells. openpyxl leaves,
    after saving, each sheet's comments (`_comments`) and the part it wrote their boxes to
    (`legacy_drawing`); without them the copy is kept as saved."""
    drawings = {}
    sheets = [ws for ws in wb.worksheets if getattr(ws, "_comments", None) and getattr(ws, "legacy_drawing", None)]
    for block, ws in enumerate(sheets, 1):
        refs = [getattr(c, "ref", None) for c in ws._comments]
        if all(refs):
            drawings[ws.legacy_drawing.lstrip("/")] = _vml(ws, [ws[r] for r in refs], block)
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


def vml_part(widths: "Widths", boxes: list[tuple[int, int, int, int, int]], block: int) -> bytes:
    """The VML part of a sheet's comment boxes, each (row, column, last column of its merged range, width and
    height in pixels): to the right of the cell, top at its row."""
    parts = [_VML_HEAD.format(block=block)]
    for k, (row, column, right, w_px, h_px) in enumerate(boxes):
        col0, row0 = right, max(row - 1, 0)  # 0-based: the column after the cell, the row of the cell
        end_col, end_dx = widths.walk_cols(col0, 15 + w_px)
        end_row, end_dy = widths.walk_rows(row0, 4 + h_px)
        left = (widths.col_x(col0) + 15) * 0.75
        top = (widths.row_y(row0) + 4) * 0.75
        parts.append(_VML_SHAPE.format(
            sid=1024 * block + k + 1, left=round(left, 2), top=round(top, 2), width=round(w_px * 0.75, 2),
            height=round(h_px * 0.75, 2), z=k + 1, anchor=f"{col0}, 15, {row0}, 4, {end_col}, {end_dx}, {end_row}, {end_dy}",
            row=row - 1, col=column - 1))
    parts.append("</xml>")
    return "".join(parts).encode("utf-8")


class Widths:
    """Column widths and row heights of a sheet in pixels, as Excel lays them out (0-based indices), from its
    columns and rows (1-based: width or height, hidden) and its default width and height."""

    def __init__(self, cols: dict[int, tuple[float | None, bool]], rows: dict[int, tuple[float | None, bool]],
                 default_width: float | None, default_height: float | None):
        self.cols, self.rows = cols, rows
        self.col_default = _col_px(default_width or 8.43)
        self.row_default = (default_height or 15) * 4 / 3

    @classmethod
    def of_sheet(cls, ws) -> "Widths":
        from openpyxl.utils import column_index_from_string

        cols = {column_index_from_string(k): (d.width, bool(d.hidden)) for k, d in ws.column_dimensions.items()}
        rows = {r: (d.height, bool(d.hidden)) for r, d in ws.row_dimensions.items()}
        return cls(cols, rows, ws.sheet_format.defaultColWidth, ws.sheet_format.defaultRowHeight)

    def col(self, i: int) -> float:
        width, hidden = self.cols.get(i + 1, (None, False))
        if hidden:
            return 0
        return _col_px(width) if width else self.col_default

    def row(self, i: int) -> float:
        height, hidden = self.rows.get(i + 1, (None, False))
        if hidden:
            return 0
        return height * 4 / 3 if height else self.row_default

    def col_x(self, i: int) -> float:
        return sum(self.col(k) for k in range(i))

    def row_y(self, i: int) -> float:
        return sum(self.row(k) for k in range(i))

    def walk_cols(self, start: int, px: float) -> tuple[int, int]:
        """The column (and the offset into it) `px` pixels right of column `start`'s left edge."""
        i = start
        while px > self.col(i) and i < 16000:
            px -= self.col(i)
            i += 1
        return i, int(px)

    def walk_rows(self, start: int, px: float) -> tuple[int, int]:
        i = start
        while px > self.row(i) and i < 1_000_000:
            px -= self.row(i)
            i += 1
        return i, int(px)


def _col_px(width: float) -> float:
    return math.floor(width * 7 + 5)

