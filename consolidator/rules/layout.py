"""Where everything stands in the fill-in workbook, computed from a Form alone.

The template renderer (write/template/) writes what the layout says and adds the styles, formulas,
checks and protection; the reader (read/workbook.py) finds a form pasted into a fresh workbook by the
texts listed here, without building the workbook. Pure: no openpyxl, no pandas.

A layout lists, sheet by sheet and in writing order, every cell the template writes a text into
(titles, paragraphs, block titles, labels, table headers, hints) and every field's value cell, each as
a Place with its merged range and its role (`kind`), which tells the renderer how to style it; and the
row heights and column widths. Not listed: the formulas write/ puts in the 校验提示 column and beside
the enterprise list (never texts), and the very hidden _meta sheet (the template's identity).
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from typing import Iterator

from .model import Block, EnterpriseList, Field, Form, Sheet
from .workbook import column_letter

# Columns of the form sheets: A block title, B label, C-E values, F 情况说明, G 校验提示.
COL_BLOCK, COL_LABEL, COL_V1, COL_V3, COL_NOTE, COL_CHECK = 1, 2, 3, 5, 6, 7
WIDTHS = {1: 14, 2: 34, 3: 15, 4: 15, 5: 15, 6: 24, 7: 44}
PRINT_LAST_COL = COL_NOTE
MAX_ROW_PT = 400.0
LINE_PT = 15.0  # the height of one line of 11-pt text
TITLE_PT = 16
CHECK_HEAD = "校验提示（此列不打印）"
PARAGRAPH_PT = {"heading": 12, "note": 9}  # other paragraphs: 11 pt
LIST_HEADER_ROW = 3
COUNT_HEADS = ("企业类别", "填报数量（第三部分）", "清单中企业数", "核对")
COUNT_WIDTHS = (34, 14, 14, 10)
LIST_WIDTHS = {"category": 30, "name": 36, "key": 22}  # by the column's role; other columns: 30


def text_width(text: str) -> int:
    """Display width in Excel column units: CJK and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def rows_height(text: str, width_units: float, font_pt: float = 11) -> float:
    """The row height (pt) that shows `text` wrapped in a cell `width_units` wide."""
    lines = 0
    for part in (text or "").split("\n"):
        lines += max(1, math.ceil(text_width(part) * (font_pt / 11) / max(width_units - 2, 1)))
    return lines * LINE_PT * font_pt / 11 + 4


@dataclass(frozen=True)
class Place:
    """One cell the template writes (the top-left one of a merged range).

    kind: on the form sheets "title", "paragraph" (style: normal | heading | note), "block" (a block's
    title in column A beside all its rows), "label", "value", "border" (an empty bordered cell),
    "header" (a table header), "column_head" (a repeated block's column), "number" (a repeated row's
    number), "longtext_hint", "check_head" (the 校验提示 column's title) and "check_column" (the same
    in a year table); on the enterprise list "list_title", "list_hint", "list_header", "count_header"
    and "category"."""

    sheet: str
    kind: str
    row: int
    col: int
    end_row: int  # the rows and columns the place covers (bordered, filled), merged when `merged`
    end_col: int
    text: str | int | None = None  # None: nothing written (a value cell, an empty hint)
    merged: bool = False
    fid: str | None = None  # value: its field; label: the field it labels; category: its count field
    style: str = ""

    @property
    def coord(self) -> str:
        return f"{column_letter(self.col)}{self.row}"

    def cells(self) -> Iterator[tuple[int, int]]:
        """(row, column) of every cell covered, row by row."""
        for r in range(self.row, self.end_row + 1):
            for c in range(self.col, self.end_col + 1):
                yield r, c


@dataclass
class SheetLayout:
    title: str
    places: list[Place] = field(default_factory=list)  # in writing order
    heights: dict[int, float] = field(default_factory=dict)  # row -> pt
    widths: dict[int, float] = field(default_factory=dict)  # column -> Excel units
    last_row: int = 1  # the last printed row of a form sheet


@dataclass
class ListLayout:
    """The enterprise list: one row per enterprise and category, the live counts beside it."""

    sheet: SheetLayout
    letters: dict[str, str]  # column id -> letter
    header: int  # the header row
    first: int  # the first and last prepared rows
    last: int
    count_col: int  # the first column of the counts beside the list


@dataclass
class Layout:
    """Where everything is; `cells`, `anchors`, `list_columns` and `list_first_row` are what the
    template's callers use."""

    sheets: list[SheetLayout] = field(default_factory=list)  # the form sheets, in order
    enterprise_list: ListLayout | None = None
    cells: dict[str, tuple[str, str]] = field(default_factory=dict)  # field id -> (sheet title, "C5")
    # field id -> (sheet, coordinate, text) of the label the value cell is found beside: the reader's
    # fallback when the defined names are gone (a form pasted into a fresh workbook)
    anchors: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    list_columns: dict[str, tuple[str, str]] = field(default_factory=dict)  # column id -> (sheet, "B4:B2003")
    list_first_row: int = 0

    def all_sheets(self) -> list[SheetLayout]:
        return [*self.sheets, *([self.enterprise_list.sheet] if self.enterprise_list else [])]

    def values(self) -> Iterator[Place]:
        """Every field's value cell, in writing order."""
        for sheet in self.sheets:
            yield from (p for p in sheet.places if p.kind == "value")

    def texts(self) -> Iterator[tuple[str, str, str]]:
        """(sheet, coordinate, text) of every text the template writes, in reading order: sheet by
        sheet, row by row, left to right; a cell written twice holds its last text. (A headingless
        sheet whose first row held a checked cell would lose its 校验提示 title in G1 to the row's
        formula; no form sheet is like that, and the title is never a label the reader looks for.)"""
        for sheet in self.all_sheets():
            last: dict[tuple[int, int], Place] = {}
            for p in sheet.places:
                last[p.row, p.col] = p
            for _, p in sorted(last.items()):
                if isinstance(p.text, str) and p.text:
                    yield sheet.title, p.coord, p.text


def form_layout(form: Form) -> Layout:
    """The layout of `form`'s fill-in workbook."""
    planner = _Planner(form)
    for sheet in form.sheets:
        planner.form_sheet(sheet)
    planner.list_sheet()
    return planner.layout


class _Planner:
    """Walks the form in writing order, as the renderer will, and records where each thing goes."""

    def __init__(self, form: Form):
        self.form = form
        self.layout = Layout()
        self.sheet = SheetLayout("")

    def put(self, kind: str, row: int, col: int, text: str | int | None = None, *, end_row: int | None = None,
            end_col: int | None = None, merged: bool = False, fid: str | None = None, style: str = "") -> Place:
        place = Place(self.sheet.title, kind, row, col, row if end_row is None else end_row,
                      col if end_col is None else end_col, text, merged, fid, style)
        self.sheet.places.append(place)
        return place

    def anchor(self, coord: str, text: str, *fids: str) -> None:
        for fid in fids:
            self.layout.anchors[fid] = (self.sheet.title, coord, text)

    # -- the form sheets
    def form_sheet(self, sheet: Sheet) -> None:
        self.sheet = SheetLayout(sheet.title, widths=dict(WIDTHS))
        self.layout.sheets.append(self.sheet)
        row = 1
        if sheet.heading:
            row = self.title_row(row, sheet.heading)
        for block in sheet.blocks:
            row = self.block(row, block)
            row += 1
        if any(b.kind != "text" for b in sheet.blocks):
            self.put("check_head", 1, COL_CHECK, CHECK_HEAD)
        self.sheet.last_row = max(row - 1, 1)

    def title_row(self, row: int, text: str) -> int:
        self.put("title", row, 1, text, end_col=PRINT_LAST_COL, merged=True)
        self.sheet.heights[row] = max(TITLE_PT * 1.8, rows_height(text, 110, TITLE_PT))
        return row + 1

    def paragraph(self, row: int, text: str, *, style: str = "normal", first_col: int = 1) -> int:
        self.put("paragraph", row, first_col, text, end_col=PRINT_LAST_COL, merged=True, style=style)
        width = sum(WIDTHS[i] for i in range(first_col, PRINT_LAST_COL + 1))
        self.sheet.heights[row] = rows_height(text, width, PARAGRAPH_PT.get(style, 11))
        return row + 1

    def block(self, row: int, block: Block) -> int:
        if block.kind == "text":
            if block.title:
                row = self.title_row(row, block.title)
            for p in block.paragraphs:
                row = self.paragraph(row, p.text, style=p.style)
            return row
        start = row
        for line in (block.intro or "").split("\n") if block.intro else []:
            row = self.paragraph(row, line, first_col=COL_LABEL) if line else row
        if block.kind == "years":
            row = self.years_block(row, block)
        elif block.kind == "repeat":
            row = self.repeat_block(row, block)
        else:
            row = self.fields_block(row, block)
        if block.footnote:
            row = self.paragraph(row, f"注：{block.footnote.text}", style="note", first_col=COL_LABEL)
        if block.outro:
            row = self.paragraph(row, block.outro, first_col=COL_LABEL)
        # The block's title stands in column A beside all its rows, as in the form.
        if block.title:
            self.put("block", start, COL_BLOCK, block.title, end_row=row - 1, merged=row - 1 > start)
        return row

    def label(self, row: int, f: Field, text: str | None = None) -> None:
        label = text or f.label
        place = self.put("label", row, COL_LABEL, label, fid=f.id)
        self.anchor(place.coord, label, *self.form.families[f.family])
        if f.note_field:
            self.anchor(place.coord, label, f.note_field)

    def value(self, row: int, col: int, f: Field, *, end_col: int | None = None, end_row: int | None = None) -> None:
        place = self.put("value", row, col, end_row=end_row, end_col=end_col, merged=bool(end_col or end_row),
                         fid=f.id)
        self.layout.cells[f.id] = (self.sheet.title, place.coord)

    def note_or_border(self, row: int, f: Field) -> None:
        """The row's 情况说明 cell, or an empty bordered cell where there is none."""
        if f.note_field:
            self.value(row, COL_NOTE, self.form.fields[f.note_field])
        else:
            self.put("border", row, COL_NOTE)

    def hint_rows(self, row: int, f: Field) -> int:
        if f.hint and f.type != "longtext":
            row = self.paragraph(row, f.hint, style="note", first_col=COL_LABEL)
        if f.footnote:
            row = self.paragraph(row, f"注：{f.footnote.text}", style="note", first_col=COL_LABEL)
        return row

    def fields_block(self, row: int, block: Block) -> int:
        for family in block.families:
            f = self.form.fields[self.form.families[family][0]]
            if f.type == "longtext":
                row = self.longtext(row, f)
                continue
            self.label(row, f, text=("计算用：" + f.label) if f.part_of else None)
            self.value(row, COL_V1, f, end_col=COL_V3)
            self.sheet.heights[row] = max(rows_height(f.label, WIDTHS[COL_LABEL]), 20)
            self.note_or_border(row, f)
            row = self.hint_rows(row + 1, f)
        return row

    def longtext(self, row: int, f: Field) -> int:
        self.label(row, f)
        hint = f.hint or ""
        if f.max_chars:
            hint += f"（原则上不超过{f.max_chars}字）" if str(f.max_chars) not in hint else ""
        self.put("longtext_hint", row, COL_V1, hint or None, end_col=COL_NOTE, merged=True)
        self.sheet.heights[row] = max(rows_height(hint, sum(WIDTHS[i] for i in range(3, 7)), 9),
                                      rows_height(f.label, WIDTHS[COL_LABEL]), 20)
        row += 1
        width = sum(WIDTHS[i] for i in range(COL_LABEL, COL_NOTE + 1))
        chars = f.max_chars or 500
        total = rows_height("字" * chars, width) * 1.1
        n = max(1, math.ceil(total / MAX_ROW_PT))
        self.value(row, COL_LABEL, f, end_col=COL_NOTE, end_row=row + n - 1)
        for r in range(row, row + n):
            self.sheet.heights[r] = min(MAX_ROW_PT, max(total / n, 60))
        row += n
        if f.footnote:
            row = self.paragraph(row, f"注：{f.footnote.text}", style="note", first_col=COL_LABEL)
        if f.note_field:
            note = self.form.fields[f.note_field]
            self.label(row, note, text=f"{note.label}（字数超出时填写）")
            self.value(row, COL_V1, note, end_col=COL_NOTE)
            self.sheet.heights[row] = 30
            row += 1
        return row

    def years_block(self, row: int, block: Block) -> int:
        heads = ["指标", *[f"{y}年" for y in self.form.years], "情况说明"]
        for i, text in enumerate(heads):
            self.put("header", row, COL_LABEL + i, text)
        self.put("check_column", row, COL_CHECK, "校验提示")
        self.sheet.heights[row] = 20
        row += 1
        assert len(self.form.years) == COL_V3 - COL_V1 + 1, "the year table has three value columns"
        for family in block.families:
            members = [self.form.fields[fid] for fid in self.form.families[family]]
            first = members[0]
            self.label(row, first, text=("计算用：" + first.label) if first.part_of else None)
            for i, f in enumerate(members):
                self.value(row, COL_V1 + i, f)
            self.note_or_border(row, first)
            self.sheet.heights[row] = max(rows_height(first.label, WIDTHS[COL_LABEL]), 20)
            row = self.hint_rows(row + 1, first)
        return row

    def repeat_block(self, row: int, block: Block) -> int:
        families = block.families
        span = COL_NOTE - COL_V1 + 1
        assert len(families) <= span, "a repeated row holds at most four fields"
        width = span // len(families)
        heads = [(COL_LABEL, COL_LABEL, block.number_label or "序号")]
        for i, fam in enumerate(families):
            s = COL_V1 + i * width
            e = COL_NOTE if i == len(families) - 1 else s + width - 1
            heads.append((s, e, self.form.fields[self.form.families[fam][0]].label))
            self.anchor(f"{column_letter(s)}{row}", heads[-1][2], *self.form.families[fam])
        for s, e, text in heads:
            self.put("column_head", row, s, text, end_col=e, merged=e > s)
        row += 1
        for n in range(1, block.count + 1):
            self.put("number", row, COL_LABEL, n)
            for (s, e, _), fam in zip(heads[1:], families):
                self.value(row, s, self.form.fields[self.form.families[fam][n - 1]], end_col=e)
            self.sheet.heights[row] = 20
            row += 1
        return row

    # -- the enterprise list
    def list_sheet(self) -> None:
        spec = self.form.enterprise_list
        cols = list(spec.columns)
        ncols = len(cols)
        self.sheet = SheetLayout(spec.sheet_title)
        for i, c in enumerate(cols, start=1):
            self.sheet.widths[i] = LIST_WIDTHS.get(c.role, 30)
        self.put("list_title", 1, 1, spec.title, end_col=ncols, merged=True)
        self.sheet.heights[1] = 36
        self.put("list_hint", 2, 1, _list_hint(spec), end_col=ncols, merged=True)
        self.sheet.heights[2] = 42
        header = LIST_HEADER_ROW
        first, last = header + 1, header + spec.rows
        for i, c in enumerate(cols, start=1):
            self.put("list_header", header, i, c.label)
        letters = {c.id: column_letter(i + 1) for i, c in enumerate(cols)}
        for cid, letter in letters.items():
            self.layout.list_columns[cid] = (spec.sheet_title, f"{letter}{first}:{letter}{last}")
        self.layout.list_first_row = first
        count_col = ncols + 2
        for i, text in enumerate(COUNT_HEADS):
            self.put("count_header", header, count_col + i, text)
            self.sheet.widths[count_col + i] = COUNT_WIDTHS[i]
        self.sheet.widths[ncols + 1] = 3
        for i, category in enumerate(spec.categories):
            self.put("category", first + i, count_col, category.label, fid=category.count_field)
        self.layout.enterprise_list = ListLayout(self.sheet, letters, header, first, last, count_col)


def _list_hint(spec: EnterpriseList) -> str:
    hints = "；".join(f"{c.label}：{c.hint}" for c in spec.columns if c.hint)
    exclusive = "、".join(f"同一企业既是{spec.category(a).label}又是{spec.category(b).label}" for a, b in spec.exclusive)
    return (f"每行填写一家企业的一个类别（同一企业属于多个类别的，分行填写），行数不限。{hints}。"
            "显示红色的行有问题：缺少类别或企业名称、信用代码不是18位、同类别重复"
            f"{'、' + exclusive if exclusive else ''}。")
