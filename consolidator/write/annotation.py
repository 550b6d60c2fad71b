"""What both ways of making the annotated copy share (write/annotate.py through openpyxl, write/annotate_direct.py on
the package): the 问题清单's columns, rows and texts, the colours, the comment boxes and where they go, and how a
conditional format's formula follows its ranges."""

from __future__ import annotations

import math

from openpyxl.formula.translate import Translator

from ..findings import CATALOGUE, ERROR, WARNING, Finding
from .styles import ERROR_FILL, WARNING_FILL, text_width
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


def comment_height(text: str) -> int:
    lines = sum(max(1, math.ceil(text_width(part) / COMMENT_UNITS)) for part in text.split("\n"))
    return LINE_PX * lines + 14


def first_cell_of(sqref: str) -> str:
    """The first cell of a list of ranges ("B2:B6 D2" -> "B2"), to which a conditional format's formula is
    relative."""
    return sqref.split()[0].split(":")[0].replace("$", "")


def shifted_formula(formula: str, old: str, new: str) -> str:
    """A conditional format's formula (relative to cell `old`) as it reads relative to `new`: taking the first
    cell off a range moves what the formula is relative to."""
    return Translator("=" + formula, origin=old).translate_formula(new)[1:]


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


def vml_blocks(boxes: int) -> int:
    """How many of VML's blocks of 1,024 shape ids a sheet's comment boxes take (numbered from the first's id +
    1): a sheet's boxes go on into the next block, which the next sheet's then must not take."""
    return boxes // 1024 + 1


def vml_part(widths: "Widths", boxes: list[tuple[int, int, int, int, int]], block: int) -> bytes:
    """The VML part of a sheet's comment boxes, each (row, column, last column of its merged range, width and
    height in pixels): to the right of the cell, top at its row. Their shape ids start in `block` and run on
    through the vml_blocks(len(boxes)) blocks from it, which its idmap lists (Excel's way past 1,023 boxes)."""
    taken = ",".join(str(b) for b in range(block, block + vml_blocks(len(boxes))))
    parts = [_VML_HEAD.format(block=taken)]
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
        return _walk(self.col, start, px, 16000)

    def walk_rows(self, start: int, px: float) -> tuple[int, int]:
        """The row (and the offset into it) `px` pixels below row `start`'s top edge."""
        return _walk(self.row, start, px, 1_000_000)


def _walk(size, i: int, px: float, limit: int) -> tuple[int, int]:
    while px > size(i) and i < limit:
        px -= size(i)
        i += 1
    return i, int(px)


def _col_px(width: float) -> float:
    return math.floor(width * 7 + 5)

