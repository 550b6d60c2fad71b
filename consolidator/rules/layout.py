"""Where everything stands in the fill-in workbook, computed from a Form alone.

The template renderer (write/template/) writes what the layout says and adds the styles, formulas,
checks and protection; the reader (read/workbook.py) finds a form pasted into a fresh workbook by the
texts listed here, without building the workbook. Pure: no openpyxl, no pandas.

A layout lists, sheet by sheet and in writing order, every cell the template writes a text into
(titles, paragraphs, block titles, labels, table headers, hints) and every field's value cell, each as
a Place with its merged range and its role (`kind`), which tells the renderer how to style it; and the
row heights and column widths. Not listed: the formulas write/ puts in the 校验提示 column, beside the
enterprise list and in the lines a long text is printed in (never texts), and the very hidden sheets
(_meta, the template's identity, and _calc, the helper cells of the in-sheet checks).

The layout is also the printed form's: the sheets in the order they print (the cover first, the
workbook's own manual last), every row's height, what each page holds (a block stays on one page when it
fits, a label never leaves its box, the long report is printed line by line from a copy of the text, so
no line is cut by a page break), and the print ranges (the report's input box is not printed).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterator

from .model import Block, EnterpriseList, Field, Form, Sheet
from .workbook import column_letter

# Columns of the form sheets: A block title, B label, C-E values, F 情况说明, G 校验提示 (not printed).
COL_BLOCK, COL_LABEL, COL_V1, COL_V3, COL_NOTE, COL_CHECK = 1, 2, 3, 5, 6, 7
# A-F print on A4 portrait without shrinking (Excel: 5.25 pt a unit; LibreOffice without Calibri's
# metrics about 7 pt, shrunk to about 92 %), and 校验提示 starts about 650 px right at 100 % zoom.
WIDTHS = {1: 8, 2: 24, 3: 12, 4: 12, 5: 12, 6: 15, 7: 80}
PRINT_LAST_COL = COL_NOTE
MAX_ROW_PT = 400.0
LINE_PT = 15.0  # the height of one line of 11-pt text
TITLE_PT = 16
CHECK_PT = 9  # the 校验提示 text
CHECKED_ROW_PT = 2 * LINE_PT * CHECK_PT / 11 + 4  # a row with a value shows two lines of 校验提示
SPACER_PT = 9.0
PAGE_PT = 720.0  # the rows an A4 portrait page holds (734 pt within the margins of print_setup), with room
STAMP_PT = 110.0  # room for the seal (公章 are about 4 cm across)
CHECK_HEAD = "校验提示（此列不打印）"
PARAGRAPH_PT = {"heading": 12, "note": 10, "seal": 12, "date": 12}  # other paragraphs: 11 pt
LIST_PT = 11
LIST_WIDTHS = {"category": 30, "name": 26, "key": 20}  # by the column's role; other columns: 18
LIST_NOTE = "情况说明（有警告时填写）"
LIST_NOTE_WIDTH = 17
COUNT_HEADS = ("企业类别", "填报数量（第三部分）", "清单中企业数", "核对")
CONTINUED = "\n（续）"
PRINT_COPY = "（全文）"  # the caption of the lines a long text is printed in


def _wide_class(blocks: list[tuple[int, int]]) -> re.Pattern:
    """The characters of `blocks` that are wide (W) or full-width (F), as one character class: where most of
    a Chinese text's characters are, so that text_width need not look them up one by one."""
    wide = [cp for lo, hi in blocks for cp in range(lo, hi + 1) if unicodedata.east_asian_width(chr(cp)) in "WF"]
    runs, start = [], wide[0]
    for prev, cp in zip(wide, wide[1:] + [-1]):
        if cp != prev + 1:  # a run ends at prev
            runs.append(f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
            start = cp
    return re.compile(f"[{''.join(runs)}]+")


# CJK symbols and punctuation, CJK unified ideographs, full-width forms
_COMMON_WIDE = _wide_class([(0x3000, 0x303F), (0x4E00, 0x9FFF), (0xFF01, 0xFF60)])


def text_width(text: str) -> int:
    """Display width in Excel column units: CJK and full-width characters (east Asian width W or F) count two."""
    if text.isascii():
        return len(text)
    rest = _COMMON_WIDE.sub("", text)
    wide = len(text) - len(rest)
    if not rest.isascii():
        wide += sum(1 for ch in rest if not ch.isascii() and unicodedata.east_asian_width(ch) in "WF")
    return len(text) + wide


def rows_height(text: str, width_units: float, font_pt: float = 11) -> float:
    """The row height (pt) that shows `text` wrapped in a cell `width_units` wide."""
    lines = 0
    for part in (text or "").split("\n"):
        lines += max(1, math.ceil(text_width(part) * (font_pt / 11) / max(width_units - 2, 1)))
    return lines * LINE_PT * font_pt / 11 + 4


def broken_label(label: str, width_units: float) -> str:
    """A label too long for one line, broken before its unit: "所在城市（或区）地区生产总值\n（亿元）",
    so that a line never ends inside the unit's brackets ("（亿元" / "）")."""
    if text_width(label) <= width_units - 2 or not label.endswith("）") or "（" not in label:
        return label
    i = label.rindex("（")
    return label if i == 0 else label[:i] + "\n" + label[i:]


CLOSING = "）」』】》〉”’，。、；：？！%)"  # no line starts with one of these


def wrapped(text: str, width_units: float) -> str:
    """`text` broken into lines that fit `width_units` (a narrow column's block title), no line starting
    with a closing bracket or punctuation mark: the cell then never breaks it itself ("…日" / "）"); nor a
    number broken in two ("20" / "25年"): it goes to the next line whole."""
    lines: list[str] = []
    for part in text.split("\n"):
        line = ""
        for ch in part:
            if line and text_width(line + ch) > width_units - 2 and ch not in CLOSING:
                digits = len(line) - len(line.rstrip("0123456789"))
                if (ch.isascii() and ch.isdigit() or ch in NUMBER_UNITS) and 0 < digits < len(line):
                    lines.append(line[:-digits])
                    line = line[-digits:]
                else:
                    lines.append(line)
                    line = ""
            line += ch
        if lines and len(line) == 1 and len(lines[-1]) >= 3 and not lines[-1][-1].isdigit() \
                and lines[-1][-1] not in CLOSING:  # no character alone on the last line ("承诺声" / "明")
            lines[-1], line = lines[-1][:-1], lines[-1][-1] + line
        lines.append(line)
    return "\n".join(lines)


NUMBER_UNITS = "年月日号个"  # what stays on the line of the number before it ("31日", not "31" / "日")


def seal_lines(text: str) -> list[str]:
    """"填写单位（盖章）：　　　　年　　月　　日" -> the two lines the form prints: a run of three or more
    (full-width) spaces separates them."""
    return [part for part in re.split(r"[ \u3000]{3,}", text) if part]


@dataclass(frozen=True)
class Place:
    """One cell the template writes (the top-left one of a merged range).

    kind: on the form sheets "title", "paragraph" (style: normal | heading | note | seal), "block" (a
    block's title in column A beside its rows on one page), "label", "value", "border" (an empty bordered
    cell), "header" (a table header), "column_head" (a repeated block's column), "number" (a repeated
    row's number), "longtext_hint", "remark" (the form's words beside a value, printed), "screen_hint"
    (what the workbook says about a cell, in the column that is not printed), "print_line" (one printed
    line of a long text, by formula), "stamp" (room for the seal), "check_head" (the 校验提示 column's
    title) and "check_column" (the same in a year table); on the enterprise list "list_title",
    "list_hint", "list_header", "list_note_header", "count_header" and "category"."""

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
    heights: dict[int, float] = field(default_factory=dict)  # row -> pt (every row of a form sheet)
    widths: dict[int, float] = field(default_factory=dict)  # column -> Excel units
    last_row: int = 1  # the last printed row of a form sheet
    manual: bool = False  # the workbook's own manual: printed after the form
    print_rows: list[tuple[int, int]] = field(default_factory=list)  # the printed row ranges (columns A-F)
    breaks: list[int] = field(default_factory=list)  # rows a printed page starts with (after the first)
    freeze: int | None = None  # the first row below the frozen header
    checked_rows: set[int] = field(default_factory=set)  # rows whose 校验提示 may hold a text


@dataclass(frozen=True)
class PrintLines:
    """A long text printed line by line: `count` rows from `first`, each showing up to `per_line`
    characters of the text (a paragraph starts a new line), below the input cell, which is not printed."""

    sheet: str
    fid: str
    first: int
    count: int
    per_line: int


@dataclass
class ListLayout:
    """The enterprise list: the live counts above it, one row per enterprise and category."""

    sheet: SheetLayout
    letters: dict[str, str]  # column id -> letter
    header: int  # the header row
    first: int  # the first and last prepared rows
    last: int
    count_col: int  # the first column of the counts above the list
    note_letter: str = ""  # the 情况说明 column beside the list's own columns


@dataclass
class Layout:
    """Where everything is; `cells`, `anchors`, `list_columns` and `list_first_row` are what the
    template's callers use."""

    sheets: list[SheetLayout] = field(default_factory=list)  # the form sheets, in the order they print
    enterprise_list: ListLayout | None = None
    cells: dict[str, tuple[str, str]] = field(default_factory=dict)  # field id -> (sheet title, "C5")
    # field id -> (sheet, coordinate, text) of the label the value cell is found beside: the reader's
    # fallback when the defined names are gone (a form pasted into a fresh workbook)
    anchors: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    list_columns: dict[str, tuple[str, str]] = field(default_factory=dict)  # column id -> (sheet, "B4:B2003")
    list_first_row: int = 0
    print_lines: list[PrintLines] = field(default_factory=list)

    def all_sheets(self) -> list[SheetLayout]:
        """The form sheets and the list in the workbook's order: the manual after the list."""
        lst = [self.enterprise_list.sheet] if self.enterprise_list else []
        return ([s for s in self.sheets if not s.manual] + lst + [s for s in self.sheets if s.manual])

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


def paginate(groups: list[list[tuple[int, int]]], heights: dict[int, float], forced: set[int],
             page_pt: float = PAGE_PT) -> list[int]:
    """The rows a new page starts with. `groups` are the blocks in printing order, each as its units
    (rows that never part: a label with its value and its notes); a group stays on one page when it fits
    on a fresh one, otherwise it breaks between its units. A row in `forced` starts a page."""
    breaks: list[int] = []
    used = 0.0

    def height(unit: tuple[int, int]) -> float:
        return sum(heights.get(r, LINE_PT) for r in range(unit[0], unit[1] + 1))

    for units in groups:
        whole = sum(map(height, units))
        start = units[0][0]
        if start in forced and used > 0:
            breaks.append(start)
            used = 0.0
        if used + whole <= page_pt:
            used += whole
            continue
        if whole <= page_pt:
            breaks.append(start)
            used = whole
            continue
        for unit in units:
            h = height(unit)
            if (used + h > page_pt or unit[0] in forced) and used > 0:
                breaks.append(unit[0])
                used = 0.0
            used += h
    return breaks


class _Planner:
    """Walks the form in writing order, as the renderer will, and records where each thing goes."""

    def __init__(self, form: Form):
        self.form = form
        self.layout = Layout()
        self.sheet = SheetLayout("")
        self.units: list[tuple[int, int]] = []  # the current sheet's units, in order
        self.groups: list[list[tuple[int, int]]] = []
        self.forced: set[int] = set()
        self.titles: list[tuple[int, int, str]] = []  # block titles: (first row, last row, text)
        self.title_until: int | None = None  # the last row of a block title beside a printed long text
        fill_date = form.roles.get("fill_date")
        self.cover_sheet = form.fields[fill_date].sheet if fill_date in form.fields else None
        manual = [s for s in form.sheets if s.blocks and all(b.kind == "text" for b in s.blocks)]
        self.official, self.manual_paragraphs = _split_instructions(manual[0]) if manual else ((), ())
        self.manual_id = manual[0].id if manual else None

    def put(self, kind: str, row: int, col: int, text: str | int | None = None, *, end_row: int | None = None,
            end_col: int | None = None, merged: bool = False, fid: str | None = None, style: str = "") -> Place:
        place = Place(self.sheet.title, kind, row, col, row if end_row is None else end_row,
                      col if end_col is None else end_col, text, merged, fid, style)
        self.sheet.places.append(place)
        return place

    def anchor(self, coord: str, text: str, *fids: str) -> None:
        for fid in fids:
            self.layout.anchors[fid] = (self.sheet.title, coord, text)

    def unit(self, first: int, last: int) -> None:
        """Rows that never part; a unit around rows already recorded (a field's notes) takes them in."""
        if last >= first:
            self.units = [u for u in self.units if not (first <= u[0] and u[1] <= last)]
            self.units.append((first, last))

    def group(self) -> None:
        """The units written since the last group form one (a block)."""
        if self.units:
            self.groups.append(self.units)
            self.units = []

    def spacer(self, row: int, pt: float = SPACER_PT) -> int:
        self.sheet.heights[row] = pt
        self.unit(row, row)
        return row + 1

    # -- the form sheets
    def form_sheet(self, sheet: Sheet) -> None:
        self.sheet = SheetLayout(sheet.title, widths=dict(WIDTHS), manual=sheet.id == self.manual_id)
        self.layout.sheets.append(self.sheet)
        self.units, self.groups, self.forced, self.titles = [], [], set(), []
        self.sheet.print_rows = [(1, 0)]
        row = 1
        if sheet.id == self.cover_sheet:
            row = self.cover(row, sheet)
        elif self.sheet.manual:
            for block in sheet.blocks[:1]:
                row = self.title_row(row, block.title) if block.title else row
            for p in self.manual_paragraphs:
                row = self.paragraph(row, p.text, style=p.style)
        else:
            if sheet.heading:
                row = self.title_row(row, sheet.heading)
            for block in sheet.blocks:
                row = self.block(row, block)
                row = self.spacer(row)
                if len(self.groups) == 0 and len(self.units) > 1 and self.units[0] == (1, 1):
                    self.units[:2] = [(1, self.units[1][1])]  # the sheet's title stays with what follows it
                self.group()
        if any(b.kind != "text" for b in sheet.blocks):
            self.put("check_head", 1, COL_CHECK, CHECK_HEAD)
        self.finish(max(row - 1, 1))

    def finish(self, last_row: int) -> None:
        self.group()
        self.sheet.last_row = last_row
        first, _ = self.sheet.print_rows[-1]
        self.sheet.print_rows[-1] = (first, last_row)
        for r in range(1, last_row + 1):
            self.sheet.heights.setdefault(r, LINE_PT)
        printed = {r for a, b in self.sheet.print_rows for r in range(a, b + 1)}
        groups = [[u for u in g if u[0] in printed] for g in self.groups]
        forced = self.forced | {a for a, _ in self.sheet.print_rows[1:]}
        self.sheet.breaks = paginate([g for g in groups if g], self.sheet.heights, forced)
        for first_row, last, text in self.titles:
            self.block_titles(first_row, last, text)

    def block_titles(self, first: int, last: int, text: str) -> None:
        """The block's title in column A beside its rows, merged within each page it is printed on
        (a merged cell across a page break would be cut), "（续）" on the pages after the first."""
        cuts = [r for r in self.sheet.breaks if first < r <= last]
        starts = [first, *cuts]
        ends = [r - 1 for r in cuts] + [last]
        for i, (a, b) in enumerate(zip(starts, ends)):
            room = sum(self.sheet.heights.get(r, LINE_PT) for r in range(a, b + 1))
            # on a later page the title says it goes on, as far as it fits (a cut text would be printed)
            fits = [t for t in (wrapped(text + CONTINUED, WIDTHS[COL_BLOCK]), CONTINUED.strip())
                    if rows_height(t, WIDTHS[COL_BLOCK]) <= room]
            shown = wrapped(text, WIDTHS[COL_BLOCK]) if i == 0 else (fits[0] if fits else None)
            self.put("block", a, COL_BLOCK, shown, end_row=b, merged=b > a)

    def title_row(self, row: int, text: str, pt: float = TITLE_PT) -> int:
        self.put("title", row, 1, text, end_col=PRINT_LAST_COL, merged=True, style="" if pt == TITLE_PT else "cover")
        self.sheet.heights[row] = max(pt * 1.8, rows_height(text, 80, pt))
        self.unit(row, row)
        return row + 1

    def paragraph(self, row: int, text: str, *, style: str = "normal", first_col: int = 1) -> int:
        self.put("paragraph", row, first_col, text, end_col=PRINT_LAST_COL, merged=True, style=style)
        width = sum(WIDTHS[i] for i in range(first_col, PRINT_LAST_COL + 1))
        self.sheet.heights[row] = rows_height(text, width, PARAGRAPH_PT.get(style, 11))
        self.unit(row, row)
        return row + 1

    def cover(self, row: int, sheet: Sheet) -> int:
        """The form's cover on the first page (title, the cover lines), then its 填写说明 and the
        declarations with room for the seal, as the official form has them."""
        row = self.spacer(row, 40)
        row = self.title_row(row, sheet.heading or self.form.title, pt=20)
        self.sheet.heights[row - 1] = 3 * 20 * 1.6
        row = self.spacer(row, 60)
        self.put("screen_hint", row - 1, COL_CHECK, "填写前请先阅读最后一个工作表“填写说明”。黄色单元格为填写单元格。")
        titled = [b for b in sheet.blocks if b.title]
        for block in (b for b in sheet.blocks if not b.title):
            for family in block.families:
                row = self.cover_line(row, self.form.fields[self.form.families[family][0]])
        self.group()
        if self.official:
            self.forced.add(row)
            for p in self.official:
                row = self.paragraph(row, p.text, style=p.style)
            row = self.spacer(row)
            self.group()
        for block in titled:
            row = self.block(row, block)
            row = self.spacer(row)
            self.group()
        return row

    def cover_line(self, row: int, f: Field) -> int:
        """A cover line: label, value; the form's words of its hint ("（加盖单位公章）") printed beside it,
        the rest (what the workbook does) in the column that is not printed."""
        self.label(row, f)
        self.value(row, COL_V1, f, end_col=COL_V3)
        hint = f.hint or ""
        remark = hint[:hint.index("）") + 1] if hint.startswith("（") and "）" in hint else ""
        if remark:
            self.put("remark", row, COL_NOTE, remark)
        else:
            self.put("border", row, COL_NOTE)
        if hint[len(remark):]:
            self.put("screen_hint", row, COL_CHECK, hint[len(remark):])
        self.sheet.heights[row] = 36
        self.sheet.checked_rows.add(row)
        self.unit(row, row)
        row += 1
        return self.spacer(row, 12)

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
            row = self.outro(row, block.outro)
        # The block's title stands in column A beside all its rows, as in the form (beside a long text's
        # label, not its printed lines, which take the page's width).
        if block.title:
            self.titles.append((start, min(row - 1, self.title_until or row), block.title))
        self.title_until = None
        return row

    def outro(self, row: int, text: str) -> int:
        """Text after a block's fields; the seal line ("填写单位（盖章）：　　年　月　日") as the form prints
        it: the unit, room for the seal, the date, kept together."""
        lines = seal_lines(text)
        if len(lines) < 2 or "盖章" not in text:
            return self.paragraph(row, text, first_col=COL_LABEL)
        first = row
        self.put("paragraph", row, COL_LABEL, lines[0], end_col=PRINT_LAST_COL, merged=True, style="seal")
        self.sheet.heights[row] = 30
        row += 1
        self.put("stamp", row, COL_LABEL, end_col=PRINT_LAST_COL, merged=True)
        self.sheet.heights[row] = STAMP_PT
        row += 1
        for line in lines[1:]:
            self.put("paragraph", row, COL_LABEL, line, end_col=PRINT_LAST_COL, merged=True, style="date")
            self.sheet.heights[row] = 30
            row += 1
        self.unit(first, row - 1)
        return row

    def label(self, row: int, f: Field, text: str | None = None, width: float = WIDTHS[COL_LABEL]) -> Place:
        label = text or f.label
        place = self.put("label", row, COL_LABEL, broken_label(label, width), fid=f.id)
        self.anchor(place.coord, label, *self.form.families[f.family])
        if f.note_field:
            self.anchor(place.coord, label, f.note_field)
        return place

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

    def field_row_height(self, row: int, label: str) -> None:
        self.sheet.heights[row] = max(rows_height(broken_label(label, WIDTHS[COL_LABEL]), WIDTHS[COL_LABEL]),
                                      CHECKED_ROW_PT)
        self.sheet.checked_rows.add(row)

    def fields_block(self, row: int, block: Block) -> int:
        for family in block.families:
            f = self.form.fields[self.form.families[family][0]]
            if f.type == "longtext":
                row = self.longtext(row, f)
                continue
            first = row
            label = ("计算用：" + f.label) if f.part_of else f.label
            self.label(row, f, text=label)
            self.value(row, COL_V1, f, end_col=COL_V3)
            self.field_row_height(row, label)
            self.note_or_border(row, f)
            row = self.hint_rows(row + 1, f)
            self.unit(first, row - 1)
        return row

    def longtext(self, row: int, f: Field) -> int:
        first = row
        self.label(row, f)
        hint = f.hint or ""
        if f.max_chars:
            hint += f"（原则上不超过{f.max_chars}字）" if str(f.max_chars) not in hint else ""
        hint = broken_label(hint, sum(WIDTHS[i] for i in range(COL_V1, COL_NOTE + 1)) * 11 / PARAGRAPH_PT["note"])
        self.put("longtext_hint", row, COL_V1, hint or None, end_col=COL_NOTE, merged=True)
        self.sheet.heights[row] = max(rows_height(hint, sum(WIDTHS[i] for i in range(3, 7)), PARAGRAPH_PT["note"]),
                                      rows_height(f.label, WIDTHS[COL_LABEL]), 20)
        row += 1
        width = sum(WIDTHS[i] for i in range(COL_LABEL, COL_NOTE + 1))
        chars = f.max_chars or 500
        total = rows_height("字" * chars, width) * 1.1
        if total > MAX_ROW_PT:  # more than a page: typed into one cell, printed line by line below it
            self.unit(first, first)
            return self.printed_longtext(row, f, width, chars)
        self.value(row, COL_LABEL, f, end_col=COL_NOTE)
        self.sheet.heights[row] = max(total, 60)
        self.sheet.checked_rows.add(row)
        row += 1
        self.unit(first, row - 1)
        if f.footnote:
            row = self.paragraph(row, f"注：{f.footnote.text}", style="note", first_col=COL_LABEL)
        return self.note_row(row, f)

    def note_row(self, row: int, f: Field) -> int:
        """A long text's 情况说明, on a row of its own."""
        if not f.note_field:
            return row
        note = self.form.fields[f.note_field]
        label = f"{note.label}（字数超出时填写）"
        self.label(row, note, text=label)
        self.value(row, COL_V1, note, end_col=COL_NOTE)
        self.field_row_height(row, label)
        self.unit(row, row)
        return row + 1

    def printed_longtext(self, row: int, f: Field, width: float, chars: int) -> int:
        """The input cell right below the label (where a pasted form's reader finds it), one screenful,
        not printed; then, on pages of their own, the 情况说明, a caption and the text's printed copy, one
        row per line, so a page break falls between lines. A text longer than the lines prepared for it
        says so in the last line."""
        self.title_until = row - 1
        self.value(row, COL_LABEL, f, end_col=COL_NOTE)
        self.sheet.heights[row] = MAX_ROW_PT
        self.sheet.checked_rows.add(row)
        # the label row is not printed either: its hint points at the cell below, which is not (printed, it stood
        # alone on a page before the printed copy, whose caption names the text again)
        self.sheet.print_rows[-1] = (self.sheet.print_rows[-1][0], row - 2)
        row += 1
        self.sheet.print_rows.append((row, row))
        row = self.note_row(row, f)
        self.put("paragraph", row, COL_LABEL, f.label + PRINT_COPY, end_col=PRINT_LAST_COL, merged=True,
                 style="heading")
        self.put("screen_hint", row, COL_CHECK, f"下面各行自动按打印版式显示上方单元格中的{f.label}，供打印；"
                                                f"请在上方黄色单元格中填写或粘贴。")
        self.sheet.heights[row] = 24
        per_line = int((width - 4) // 2)
        count = math.ceil(chars * 1.1 / per_line) + chars // 150
        self.layout.print_lines.append(PrintLines(self.sheet.title, f.id, row + 1, count + 1, per_line))
        caption = row
        row += 1
        for i in range(count + 1):  # the last line says when the text goes on beyond the printed lines
            self.put("print_line", row, COL_LABEL, end_col=PRINT_LAST_COL, merged=True, fid=f.id)
            self.sheet.heights[row] = LINE_PT + 1
            self.unit(caption if i == 0 else row, row)
            row += 1
        if f.footnote:
            row = self.paragraph(row, f"注：{f.footnote.text}", style="note", first_col=COL_LABEL)
        return row

    def years_block(self, row: int, block: Block) -> int:
        heads = ["指标", *[f"{y}年" for y in self.form.years], "情况说明"]
        for i, text in enumerate(heads):
            self.put("header", row, COL_LABEL + i, text)
        self.put("check_column", row, COL_CHECK, "校验提示")
        self.sheet.heights[row] = 20
        if self.sheet.freeze is None:
            self.sheet.freeze = row + 1
        header = row
        row += 1
        assert len(self.form.years) == COL_V3 - COL_V1 + 1, "the year table has three value columns"
        for family in block.families:
            members = [self.form.fields[fid] for fid in self.form.families[family]]
            first = members[0]
            start = header if header else row
            label = ("计算用：" + first.label) if first.part_of else first.label
            self.label(row, first, text=label)
            for i, f in enumerate(members):
                self.value(row, COL_V1 + i, f)
            self.note_or_border(row, first)
            self.field_row_height(row, label)
            row = self.hint_rows(row + 1, first)
            self.unit(start, row - 1)
            header = 0  # the header stays with the first row
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
        self.sheet.heights[row] = 20
        start = row
        row += 1
        for n in range(1, block.count + 1):
            self.put("number", row, COL_LABEL, n)
            for (s, e, _), fam in zip(heads[1:], families):
                self.value(row, s, self.form.fields[self.form.families[fam][n - 1]], end_col=e)
            self.sheet.heights[row] = CHECKED_ROW_PT
            self.sheet.checked_rows.add(row)
            self.unit(start if n == 1 else row, row)
            row += 1
        return row

    # -- the enterprise list
    def list_sheet(self) -> None:
        spec = self.form.enterprise_list
        cols = list(spec.columns)
        ncols = len(cols) + 1  # and the 情况说明 column
        self.sheet = SheetLayout(spec.sheet_title)
        for i, c in enumerate(cols, start=1):
            self.sheet.widths[i] = LIST_WIDTHS.get(c.role, 18)
        self.sheet.widths[ncols] = LIST_NOTE_WIDTH
        width = sum(self.sheet.widths.values())
        self.put("list_title", 1, 1, spec.title, end_col=ncols, merged=True)
        self.sheet.heights[1] = 28
        hint = _list_hint(spec)
        self.put("list_hint", 2, 1, hint, end_col=ncols, merged=True)
        self.sheet.heights[2] = rows_height(hint, width, 10)
        # the live counts first, where the park sees them when the sheet opens
        count_row = 3
        for i, text in enumerate(COUNT_HEADS):
            self.put("count_header", count_row, 1 + i, text)
        self.sheet.heights[count_row] = 30
        for i, category in enumerate(spec.categories):
            r = count_row + 1 + i
            self.put("category", r, 1, category.label, fid=category.count_field)
            self.sheet.heights[r] = max(18, rows_height(category.label, self.sheet.widths[1], LIST_PT) - 4)
        header = count_row + len(spec.categories) + 2
        self.sheet.heights[header - 1] = SPACER_PT
        first, last = header + 1, header + spec.rows
        for i, c in enumerate(cols, start=1):
            self.put("list_header", header, i, c.label)
        self.put("list_note_header", header, ncols, broken_label(LIST_NOTE, LIST_NOTE_WIDTH))
        self.sheet.heights[header] = 30
        letters = {c.id: column_letter(i + 1) for i, c in enumerate(cols)}
        for cid, letter in letters.items():
            self.layout.list_columns[cid] = (spec.sheet_title, f"{letter}{first}:{letter}{last}")
        self.layout.list_first_row = first
        self.layout.enterprise_list = ListLayout(self.sheet, letters, header, first, last, 1, column_letter(ncols))


def _split_instructions(sheet: Sheet) -> tuple[tuple, tuple]:
    """The instructions sheet's paragraphs: the form's own (its first heading and what follows it) and
    the workbook's manual (the later headings), which keeps the sheet's title."""
    paragraphs = [p for b in sheet.blocks for p in b.paragraphs]
    headings = [i for i, p in enumerate(paragraphs) if p.style == "heading"]
    if len(headings) < 2:
        return (), tuple(paragraphs)
    return tuple(paragraphs[headings[0]:headings[1]]), tuple(paragraphs[:headings[0]] + paragraphs[headings[1]:])


def _list_hint(spec: EnterpriseList) -> str:
    hints = "；".join(f"{c.label}：{c.hint}" for c in spec.columns if c.hint)
    exclusive = "、".join(f"同一企业既是{spec.category(a).label}又是{spec.category(b).label}" for a, b in spec.exclusive)
    return (f"每行填写一家企业的一个类别（同一企业属于多个类别的，分行填写），行数不限。{hints}。"
            "显示红色的行有问题：缺少类别或企业名称、信用代码不是18位、同类别重复"
            f"{'、' + exclusive if exclusive else ''}。上表实时核对各类企业数量与“三、发展情况”中填写的是否一致。"
            f"问题报告中的警告（如企业同时被其他园区填报、“小巨人”企业不在省级清单中）确认无误的，"
            f"在该行“情况说明”中写明原因。")
