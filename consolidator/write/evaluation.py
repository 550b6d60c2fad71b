"""The expert panel's workbook (evaluation.xlsx): one printable sheet per park and an overview.

Each park sheet shows the sections rules/common.yaml declares (evaluation.sections): today the practice,
the key indicators with their three-year trend, the land and enterprise figures, the category's own
block, the park's introduction and the full report laid out to be read, then the scoring block with the
criteria and weights. The overview collects every sheet's scores by formula and ranks the parks. With
blind=True the fields of evaluation.identifying (the park's name, the filling unit, every contact) are
hidden, also inside the texts, and the parks are numbered; the key goes into a separate workbook. The
park's region (所在地区) is not shown then either, unless asked (show_region): a park alone in its city is
known by it.

Each park sheet is paginated here: its rows have known heights, a page break goes where a page is full
(a heading stays with what follows it, the scoring block stays on one page), and the footer says
"第 1 页，共 2 页" of the park's own pages (&N counts the pages of the whole workbook when it is printed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.cell_range import CellRange

from ..check.results import CheckedReturn
from ..cores import start_on_cores
from ..findings import Finding
from ..rules import Form, form_in, share_forms
from ..rules.model import EvaluationSection
from ..rules.wordlayout import label_of
from .sheetxml import AddedSheet, SheetFrame, SheetXml, with_sheets
from .styles import BORDER, ERROR_BG, HEAD_FILL, INPUT_FILL, UNLOCKED
from .styles import rows_height as _rows_height
from .xlsx import (
    LEVEL,
    Formula,
    Packed,
    TextGuard,
    cell,
    cell_xml,
    column_pt,
    defer_rows,
    deflated,
    page_body_pt,
    print_setup,
    set_text,
    sheet_title,
    style_id,
    workbook_to_bytes,
)

WIDTHS = [22, 16, 16, 16, 16, 18]  # A-F, about the width of an A4 page
PAGE_UNITS = sum(WIDTHS)
ROW_PT = 15.0  # a row without a height of its own (Excel's default height; LibreOffice's is lower)
# The rows one A4 portrait page holds: fitted to the page's width, the sheet prints at about 92 % in Excel
# (LibreOffice: 87 %); with 3 % to spare a page never needs a break of its own, so the count in the footer holds.
FIT_SCALE = min(1.0, page_body_pt("portrait")[0] / sum(column_pt(w) for w in WIDTHS))
PAGE_PT = page_body_pt("portrait")[1] / FIT_SCALE * 0.97
CHUNK_PT = 200  # the tallest row of a long text
SHORT_PARAGRAPH = 30  # characters
# From this many park sheets they are written by workers that share no memory with the main process (whose
# pages they would otherwise keep a copy of as it writes the summary): their start-up, ~0.5 s, is then paid back.
FRESH_WORKERS_FROM = 3000
REDACTED = "〔已隐去〕"
TITLE = Font(name="黑体", size=15, bold=True)
H2 = Font(name="黑体", size=12, bold=True)
BODY = Font(name="宋体", size=11)
SMALL = Font(name="宋体", size=9, color="595959")
# shared style objects: a cell's style is then looked up by their identity (see _Sheet.put)
LABEL = Font(name="宋体", size=10)
HEAD10 = Font(name="黑体", size=10, bold=True)
HEAD11 = Font(name="黑体", size=11, bold=True)
WRAP_MIDDLE = Alignment(wrap_text=True, vertical="center")
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
CENTERED = Alignment(horizontal="center", vertical="center")
CENTERED_WRAP = Alignment(horizontal="center", vertical="center", wrap_text=True)
H_CENTER = Alignment(horizontal="center")
RIGHT = Alignment(horizontal="right", vertical="center")
LEFT = Alignment(horizontal="left", vertical="center")


@dataclass
class Entry:
    ret: CheckedReturn
    number: str  # E01 ...
    sheet: str


@dataclass
class Park:
    """What a park sheet shows of a return; sent to the worker process that writes the sheet."""

    values: dict
    file: str
    park_name: str
    city: str
    rules_dir: str
    category_id: str

    @classmethod
    def of(cls, ret: CheckedReturn) -> "Park":
        return cls(ret.values, ret.file, ret.park_name, ret.city, ret.form.rules_dir, ret.form.category_id)


def _sheet_name(text: str, used: set[str]) -> str:
    base = sheet_title(text, 28) or "园区"
    name, n = base, 2
    while name in used:
        name = f"{base[:26]}_{n}"
        n += 1
    used.add(name)
    return name


def _redactor(values: dict, form: Form):
    identifying = form.evaluation.identifying
    secrets = sorted({str(values.get(fid) or "").strip() for fid in identifying} - {""}, key=len, reverse=True)
    secrets = [s for s in secrets if len(s) >= 2]

    def redact(text):
        if not isinstance(text, str):
            return text
        for s in secrets:
            text = text.replace(s, REDACTED)
        return text

    return redact


# The styles of a park sheet, by name: (font, fill, border, alignment, number format, locked). Registered once in
# the workbook (palette); a sheet's cells name them, so that sheets can be made apart from it (on other cores).
STYLES = {
    "cell": (BODY, None, True, WRAP_MIDDLE, None, True),
    "head_cell": (BODY, HEAD_FILL, True, WRAP_MIDDLE, None, True),
    "label": (LABEL, None, True, WRAP_MIDDLE, None, True),
    "label_head": (LABEL, HEAD_FILL, True, WRAP_MIDDLE, None, True),
    "column_head": (HEAD10, HEAD_FILL, True, CENTERED_WRAP, None, True),
    "score_head": (HEAD10, HEAD_FILL, True, CENTERED, None, True),
    "integer": (BODY, None, True, RIGHT, "0", True),
    "decimal": (BODY, None, True, RIGHT, "#,##0.00", True),
    "text_left": (BODY, None, True, LEFT, None, True),
    "centered": (BODY, None, True, CENTERED, None, True),
    "weight": (BODY, None, True, CENTERED, "0.##", True),
    "score": (BODY, INPUT_FILL, True, CENTERED, "0.##", False),
    "remark": (BODY, INPUT_FILL, True, WRAP_MIDDLE, None, False),
    "total_label": (HEAD11, None, True, H_CENTER, None, True),
    "total_weight": (BODY, None, True, H_CENTER, "0.##", True),
    "total": (HEAD11, None, True, H_CENTER, "0.##", True),
    # the merged rows across the sheet: no border, text from the top
    "title": (TITLE, None, False, CENTERED, None, True),
    "small": (SMALL, None, False, WRAP_TOP, None, True),
    "heading": (H2, None, False, WRAP_TOP, None, True),
    "text": (BODY, None, False, WRAP_TOP, None, True),
    "text_head": (HEAD11, None, False, WRAP_TOP, None, True),
}
OVER_MAXIMUM = DifferentialStyle(fill=PatternFill(bgColor=ERROR_BG, fill_type="solid"))  # a score above its weight
LETTERS = [get_column_letter(i) for i in range(1, len(WIDTHS) + 1)]


# a park sheet's labels, headings and criteria are the same on every sheet of its category: their heights are
# worked out once (the parks' own texts pass through too, and are soon forgotten)
rows_height = lru_cache(maxsize=4096)(_rows_height)


def palette(ws) -> dict[str, int]:
    """Each of STYLES registered in the workbook of `ws`: name -> the workbook's style index; and
    "over_maximum" -> the index of OVER_MAXIMUM among its differential styles."""
    ids = {}
    for name, (font, fill, border, align, fmt, locked) in STYLES.items():
        proto = WriteOnlyCell(ws)
        proto.font, proto.alignment = font, align
        if fill is not None:
            proto.fill = fill
        if border:
            proto.border = BORDER
        if fmt:
            proto.number_format = fmt
        if not locked:
            proto.protection = UNLOCKED
        ids[name] = style_id(ws, proto)
    ids["over_maximum"] = ws.parent._differential_styles.add(OVER_MAXIMUM)  # a conditional format's style
    return ids


def _frame_setup(ws) -> None:
    """What every park sheet has: its columns, A4 portrait fitted to the width, no grid lines, locked but
    for the score cells (rows and columns may still be resized)."""
    for i, w in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    print_setup(ws, orientation="portrait", footer=SheetFrame.footer_token())
    ws.sheet_view.showGridLines = False
    ws.protection.sheet = True
    ws.protection.formatRows = False
    ws.protection.formatColumns = False


# A cell's XML after its reference ('" s="4" t="inlineStr">…</c>'): a row writes '<c r="B7' + tail. The tails of
# what every sheet of a category shares, by (type, value, style index); a worker's sheets make each once.
_FIXED: dict[tuple, str] = {}


def _tail(value, sid: int) -> str:
    return cell_xml("", value, sid)[6:]


class _Sheet:
    """Writes a park sheet's rows top to bottom on an A4-wide grid of six columns, as XML text (SheetXml):
    the cells of the current row are kept until the row changes, then written with the row's height."""

    def __init__(self, frame: SheetFrame, styles: dict[str, int], guard: TextGuard, ret, redact):
        self.out, self.styles, self.guard, self.ret, self.redact = SheetXml(frame), styles, guard, ret, redact
        self._row, self.written, self.pending = 1, 0, {}
        self.heights: dict[int, float] = {}  # rows with a height of their own
        self.printed: list[float] = []  # the height of every written row, for the pages
        self.keep: set[int] = set()  # rows that stay on the page of the row below them
        self.footer = ""  # before the page count: "E01　"

    @property
    def row(self) -> int:
        return self._row

    @row.setter
    def row(self, value: int) -> None:
        if value != self._row:
            self.flush()
        self._row = value

    def height(self, pt: float) -> None:
        """The current row's height."""
        self.heights[self._row] = pt

    def flush(self) -> None:
        if not self.pending:
            return
        while self.written < self._row - 1:
            self._write(self.written + 1, {})
        self._write(self._row, self.pending)
        self.pending = {}

    def _write(self, r: int, cells: dict) -> None:
        pt = self.heights.get(r, ROW_PT)
        self.printed.append(pt)
        self.out.row(r, [f'<c r="{LETTERS[c - 1]}{r}{tail}' for c, tail in sorted(cells.items())], pt)
        self.written += 1

    def keep_together(self, first: int, last: int) -> None:
        """Rows first..last print on one page (when they fit on one)."""
        self.keep.update(range(first, last))

    def finish(self) -> int:
        """Write the last row, the page breaks and the footer; returns the sheet's pages."""
        self.flush()
        self.out.breaks = page_breaks(self.printed, self.keep, PAGE_PT)
        self.out.footer = f"{self.footer}第 &P 页，共 {len(self.out.breaks) + 1} 页"
        return len(self.out.breaks) + 1

    def text(self, value, label=""):
        value = self.redact(value)
        return self.guard.clean(value, label=label, file=self.ret.file, park=self.ret.park_name)

    def put(self, col: int, value, style: str = "cell", label: str = ""):
        """A cell of the current row in one of STYLES; returns what it holds (text cleaned and redacted)."""
        if isinstance(value, str) and not isinstance(value, Formula):
            value = self.text(value, label)
        self.pending[col] = _tail(value, self.styles[style])
        return value

    def fixed(self, col: int, value, style: str = "cell", label: str = ""):
        """put() for what is the same on every sheet of a category (a label, a heading or a criterion of the rules,
        a weight, an empty bordered cell): its XML is made once per worker. What the text guard would change (and
        report, naming this park) is never kept, and a blind sheet's text is still redacted first."""
        if isinstance(value, Formula):
            raise TypeError("a formula names its own rows: put() it")
        if isinstance(value, str):
            value = self.redact(value)
        key = (type(value), value, self.styles[style])  # 1, 1.0 and True are one key otherwise
        tail = _FIXED.get(key)
        if tail is None:
            shown = self.guard.clean(value, label=label, file=self.ret.file, park=self.ret.park_name)
            tail = _tail(shown, key[2])
            if shown is not value:  # cleaned (and reported): made again on every sheet
                self.pending[col] = tail
                return shown
            _FIXED[key] = tail
        self.pending[col] = tail
        return value

    def ref(self, col: int) -> str:
        return f"{LETTERS[col - 1]}{self._row}"

    def merge(self, first: int, last: int, *, border: bool = True) -> None:
        """Merge columns first..last of the current row; with a border, the covered cells get it themselves
        (what Excel shows on a merged cell's edge is their border)."""
        self.out.merge(f"{LETTERS[first - 1]}{self.row}:{LETTERS[last - 1]}{self.row}")
        if border:
            for col in range(first + 1, last + 1):
                self.fixed(col, None)

    def merged(self, value, style: str = "text", *, first=1, last=6, height=None, label="", fixed=False):
        """A row's columns first..last merged, holding `value` (unbordered), as tall as its text needs; `fixed`:
        a text of the rules (see fixed())."""
        self.merge(first, last, border=False)
        shown = (self.fixed if fixed else self.put)(first, value, style, label=label)
        width = sum(WIDTHS[first - 1:last])
        self.height(height or max(18, rows_height(str(shown or ""), width, STYLES[style][0].sz or 11)))
        self.row += 1

    def heading(self, text):
        self.row += 1
        self.keep.add(self.row)
        self.merged(text, "heading", height=22, fixed=True)

    def paragraphs(self, text, label):
        """Long text, one row per paragraph and per ~13 lines of it (a row cannot be split across pages:
        a page then ends at most that much short). A short paragraph (a heading of the report: 一、背景介绍)
        stays on the page of what follows it."""
        for para in str(self.text(text or "", label)).split("\n"):
            para = para.strip()
            if not para:
                continue
            if len(para) <= SHORT_PARAGRAPH:
                self.keep.add(self.row)
            for chunk in _chunks(para, PAGE_UNITS, CHUNK_PT):
                self.merged(chunk, label=label)


def page_breaks(heights: list[float], keep: set[int], capacity: float) -> list[int]:
    """The rows (1-based) after which a page ends: a page holds rows of at most `capacity` pt, and a row in
    `keep` stays on the page of the row below it (unless a run of such rows is longer than a page)."""
    breaks, start, used = [], 1, 0.0
    for r, h in enumerate(heights, start=1):
        if used + h > capacity and r > start:
            end = r - 1
            while end >= start and end in keep:
                end -= 1
            if end < start:
                end = r - 1
            breaks.append(end)
            start = end + 1
            used = sum(heights[start - 1:r - 1])
        used += h
    return breaks


def _chunks(text: str, width_units: float, max_pt: float = 380) -> list[str]:
    if rows_height(text, width_units) <= max_pt:
        return [text]
    per_chunk = int(max_pt / 15) * int((width_units - 2) / 2)  # lines x CJK characters per line
    out, rest = [], text
    while rest:
        if len(rest) <= per_chunk:
            out.append(rest)
            break
        cut = max(rest.rfind("。", 0, per_chunk), rest.rfind("；", 0, per_chunk))
        cut = cut + 1 if cut > per_chunk // 2 else per_chunk
        out.append(rest[:cut])
        rest = rest[cut:]
    return out


def _number_style(f) -> str:
    return "integer" if f.type == "integer" else "decimal"


def _change(f, old, new) -> str:
    if not isinstance(old, (int, float)) or not isinstance(new, (int, float)) or math.isnan(old) or math.isnan(new):
        return ""
    if f.unit == "%":
        return f"{new - old:+.2f}个百分点"
    if old == 0:
        return ""
    return f"{(new / old - 1) * 100:+.1f}%"


def _rows_section(s: _Sheet, section: EvaluationSection, form: Form) -> None:
    """Label | value rows: a field, or a repeated block's filled rows on one line."""
    v = s.ret.values
    s.heading(section.title)
    for r in section.rows:
        if r.field is not None:
            value = v.get(r.field)
        else:
            rows = [{fam: v.get(form.families[fam][k]) for fam in r.families}
                    for k in range(len(form.families[r.families[0]]))]
            value = r.join.join(r.format.format_map({fam: "" if x is None else x for fam, x in row.items()})
                                for row in rows if row[r.families[0]])
        s.fixed(1, r.label, "head_cell")
        s.merge(2, 6)
        s.put(2, value, label=r.label)
        s.height(max(18, rows_height(str(value or ""), sum(WIDTHS[1:]))))
        s.row += 1


def _years_section(s: _Sheet, section: EvaluationSection, form: Form) -> None:
    """The indicators of the year blocks with their years, in the form's order (the Word form's and the workbook's:
    the expert reads them side by side), and the change from the earliest to the latest."""
    v = s.ret.values
    years, first, last = form.years, min(form.years), max(form.years)
    s.heading(section.title)
    heads = ["指标", *[f"{y}年" for y in years], f"{last}年比{first}年", ""]
    for i, h in enumerate(heads[:5], start=1):
        s.fixed(i, h, "column_head")
    s.merge(5, 6)
    s.keep.add(s.row)
    s.row += 1
    for fam in (fam for bid in section.blocks for fam in form.block(bid).families):
        members = [form.fields[fid] for fid in form.families[fam]]
        f = members[0]
        if f.part_of or f.explains:
            continue
        by_year = {m.year: v.get(m.id) for m in members}
        s.fixed(1, f.label, "label")
        for i, y in enumerate(years, start=2):
            s.put(i, by_year.get(y), _number_style(f))
        s.merge(5, 6)
        s.put(5, _change(f, by_year.get(first), by_year.get(last)), "centered")
        s.height(max(18, rows_height(f.label, WIDTHS[0], 10)))
        s.row += 1


def _blocks_section(s: _Sheet, section: EvaluationSection, form: Form) -> None:
    """The fields of the blocks two to a row (parts, notes and years left out), then their long texts."""
    v = s.ret.values
    fields = [form.fields[fid] for bid in section.blocks for fam in form.block(bid).families
              for fid in form.families[fam]]
    pairs = [f for f in fields if not (f.part_of or f.explains or f.type == "longtext" or f.year is not None)]
    texts = [f for f in fields if f.type == "longtext" and not f.explains]
    if not (pairs or texts):
        return
    s.heading(section.title)
    for k in range(0, len(pairs), 2):
        heights = [30.0]
        for j, f in enumerate(pairs[k:k + 2]):
            col = 1 + j * 3
            s.fixed(col, f.display_label, "label_head")
            s.merge(col + 1, col + 2)
            s.put(col + 1, v.get(f.id), _number_style(f) if f.is_numeric else "text_left")
            heights.append(rows_height(f.display_label, WIDTHS[col - 1], 10))  # in its own column's width
        s.height(max(heights))
        s.row += 1
    for f in texts:
        s.keep.add(s.row)
        s.merged(f.display_label, "text_head", fixed=True)
        s.paragraphs(v.get(f.id), f.display_label)


def _text_section(s: _Sheet, section: EvaluationSection, form: Form) -> None:
    s.heading(section.title)
    s.paragraphs(s.ret.values.get(section.field), form.fields[section.field].label)


def _notes_section(s: _Sheet, section: EvaluationSection, form: Form) -> None:
    """The 情况说明 the park wrote (why a figure is what it is), each beside the indicator it explains, in the form's
    order; none written: no section."""
    v = s.ret.values
    notes = [f for f in form.fields.values() if f.explains and str(v.get(f.id) or "").strip()]
    if not notes:
        return
    s.heading(section.title)
    s.fixed(1, "指标", "column_head")
    s.merge(2, 6)
    s.fixed(2, "情况说明", "column_head")
    s.keep.add(s.row)
    s.row += 1
    for f in notes:
        label = label_of(form.fields[form.families[f.explains][0]])  # as the Word form's 附：数据情况说明 names it
        s.fixed(1, label, "label")
        s.merge(2, 6)
        text = s.put(2, v.get(f.id), label=f.display_label)
        s.height(max(18, rows_height(label, WIDTHS[0], 10), rows_height(str(text or ""), sum(WIDTHS[1:]))))
        s.row += 1


def _scoring_section(s: _Sheet, section: EvaluationSection, form: Form) -> dict[str, str]:
    """The criteria with open score cells (limited to each weight) and the total; criterion id -> cell."""
    ev = form.evaluation
    start = s.row + 1
    s.heading(section.title)
    if ev.instructions:
        s.merged(ev.instructions, "small", fixed=True)
    for i, h in enumerate(["评分项", "评分要点", "", "满分", "得分", "备注"], start=1):
        s.fixed(i, h, "score_head")
    s.merge(2, 3)
    s.row += 1
    cells, first = {}, s.row
    for c in ev.criteria:
        s.fixed(1, c.label, "centered")
        s.merge(2, 3)
        s.fixed(2, c.description, "label")
        s.fixed(4, c.weight, "weight")
        s.fixed(5, None, "score")
        s.fixed(6, None, "remark")
        s.out.decimal_between(s.ref(5), 0, c.weight, "分数超出范围", f"{c.label}的得分应在0到{c.weight}之间")
        s.height(max(30, rows_height(c.description, WIDTHS[1] + WIDTHS[2], 10)))
        cells[c.id] = s.ref(5)
        s.row += 1
    last = s.row - 1
    s.fixed(1, "总分", "total_label")
    s.merge(2, 3)
    s.fixed(2, "")
    s.fixed(4, sum(c.weight for c in ev.criteria), "total_weight")
    s.put(5, Formula(f'IF(COUNT(E{first}:E{last})=0,"",SUM(E{first}:E{last}))'), "total")
    s.fixed(6, "")
    cells["total"] = s.ref(5)
    s.row += 2
    s.merged("评审专家（签名）：　　　　　　　　　　　　评审日期：　　　　年　　月　　日", height=24, fixed=True)
    s.keep_together(start, s.row - 1)
    s.out.formula_rule(f"E{first}:E{last}", f"AND(ISNUMBER(E{first}),E{first}>D{first})", s.styles["over_maximum"])
    return cells


SECTIONS = {"rows": _rows_section, "years": _years_section, "blocks": _blocks_section, "text": _text_section,
            "notes": _notes_section, "scoring": _scoring_section}


def _park_sheet(s: _Sheet, number: str, form: Form, blind: bool, show_region: bool = False) -> dict[str, str]:
    """Fill one park's sheet with the sections of rules/common.yaml (evaluation.sections); returns
    criterion id -> score cell ("D40") and "total" -> the total's cell."""
    ret = s.ret
    s.merged(form.evaluation.title, "title", height=28, fixed=True)
    who = f"评审编号：{number}" if blind else f"园区：{ret.park_name}　评审编号：{number}"
    region = f"　所在地区：{ret.city}" if show_region or not blind else ""
    s.merged(f"{who}　类别：{form.category_name}{region}", "small")
    cells: dict[str, str] = {}
    for section in form.evaluation.sections:
        cells.update(SECTIONS[section.show](s, section, form) or {})
    s.footer = f"{number}　"
    return cells


SheetJob = tuple  # (Park, number, blind, show_region, SheetFrame, styles)


def park_part(job: SheetJob) -> tuple[Packed, str, dict[str, str], list[Finding]]:
    """One park's sheet, in a worker process: (the part deflated, its print area, criterion id -> score cell,
    what the text guard reported)."""
    park, number, blind, show_region, frame, styles = job
    form = form_in(park.rules_dir, park.category_id)
    guard = TextGuard()
    s = _Sheet(frame, styles, guard, park, _redactor(park.values, form) if blind else (lambda t: t))
    cells = _park_sheet(s, number, form, blind, show_region)
    area = f"A1:F{s.row - 1}"
    s.finish()
    return deflated(s.out.xml(), LEVEL), area, cells, guard.findings


def panel_order(rets: list[CheckedReturn]) -> list[tuple[CheckedReturn, str]]:
    """The returns in the panel's order with their review numbers (E01, E02, … ; E001 from 100 parks on):
    the evaluation workbook and the experts' Word documents number the parks alike."""
    ordered = sorted(rets, key=lambda r: (r.form.order, r.park.row if r.park else 10**9, r.park_name))
    width = 3 if len(rets) >= 100 else 2
    return [(ret, f"E{n:0{width}d}") for n, ret in enumerate(ordered, start=1)]


def _entries(rets: list[CheckedReturn], blind: bool, used: set[str]) -> list[Entry]:
    entries = []
    for n, (ret, number) in enumerate(panel_order(rets), start=1):
        name = number if blind else f"{n:02d} {ret.park_name}"
        entries.append(Entry(ret, number, _sheet_name(name, used)))
    return entries


class _Overview:
    """评分汇总: a row per park, its scores collected by formula and ranked. The rows are written with the
    workbook (xlsx.defer_rows), as text like the park sheets."""

    def __init__(self, wb: Workbook, form: Form, blind: bool, rows: int, guard: TextGuard):
        self.ws, self.blind, self.last, self.guard = wb.create_sheet("评分汇总"), blind, rows + 1, guard
        self.criteria = form.evaluation.criteria
        self.practice = form.fields[form.roles["practice_name"]].label
        heads = ["评审编号"] + ([] if blind else ["园区名称"]) + ["类别", self.practice] + \
            [f"{c.label}（{c.weight:g}分）" for c in self.criteria] + ["总分", "排名"]
        self.widths = [10] + ([30] if not blind else []) + [20, 50] + [14] * len(self.criteria) + [10, 8]
        ws = self.ws
        for i, w in enumerate(self.widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = w
        ws.freeze_panes = "B2"
        print_setup(ws, title_rows="1:1", footer="&A　第 &P 页")
        # the headers wrap: their row gets its height here (LibreOffice does not fit rows to wrapped text)
        ws.row_dimensions[1].height = max(rows_height(h, w, 11) for h, w in zip(heads, self.widths))
        ws.append([cell(ws, h, font=HEAD11, fill=HEAD_FILL, alignment=CENTERED_WRAP) for h in heads])
        self.texts = 3 + (not blind)  # the text columns, then the formulas
        text, formula = WriteOnlyCell(ws), WriteOnlyCell(ws)
        text.border = formula.border = BORDER
        text.alignment = WRAP_MIDDLE
        self.styles = {"text": style_id(ws, text), "formula": style_id(ws, formula),
                       "note": style_id(ws, cell(ws, None, font=SMALL, border=None, alignment=WRAP_TOP))}
        self.rows: list[list] = []
        self.heights: list[float] = []

    def add(self, r: int, e: Entry, redact, cells: dict[str, str]) -> None:
        form = e.ret.form
        row = [e.number] + ([] if self.blind else [e.ret.park_name]) + \
            [form.category_name, redact(e.ret.values.get(form.roles["practice_name"]) or "")]
        out = [self.guard.clean(value, label=self.practice, file=e.ret.file, park=e.ret.park_name) for value in row]
        self.heights.append(max(ROW_PT, rows_height(str(out[-1] or ""), self.widths[len(row) - 1])))
        for ref in [cells[crit.id] for crit in self.criteria] + [cells["total"]]:
            ref = f"{quote_sheetname(e.sheet)}!{ref}"
            out.append(Formula(f'IF({ref}="","",{ref})'))
        tl = get_column_letter(len(out))
        out.append(Formula(f'IF(ISNUMBER({tl}{r}),RANK({tl}{r},${tl}$2:${tl}${self.last}),"")'))
        self.rows.append(out)

    def note(self, text: str) -> None:
        """A line below the table (the rows above are the parks, which the formulas count on)."""
        r = self.last + 2
        self.ws.merged_cells.ranges.add(CellRange(f"A{r}:{get_column_letter(len(self.widths))}{r}"))
        self.rows += [[], [text]]
        self.heights += [ROW_PT, rows_height(text, sum(self.widths), 10)]

    def finish(self) -> None:
        """The rows handed to the workbook, to be written when it is saved."""
        parks = self.last - 1

        def style_of(k: int, i: int, v) -> int:
            if k >= parks:
                return self.styles["note"]
            return self.styles["text" if i < self.texts else "formula"]

        defer_rows(self.ws, 2, self.rows, style_of, lambda k, row: self.heights[k] if row else None)


def blind_note(show_region: bool) -> str:
    """What the overview of a blind workbook says about what it hides."""
    region = "所在地区仍然显示" if show_region else "所在地区也未显示（一个城市只有一个园区时，地区就能认出园区）"
    return ("本评审表为盲评用：已隐去园区名称、填写单位和联系人（报告等文字中出现的也已隐去），园区按评审编号排列；"
            f"{region}。")  # (that the key is kept apart the command tells the office: this sheet goes to the experts)


def _key_workbook(entries: list[Entry], guard: TextGuard) -> Workbook:
    """评审编号对照表: which park each number stands for."""
    key = Workbook()
    ks = key.active
    ks.title = "评审编号对照表"
    for i, h in enumerate(["评审编号", "园区名称", "所在省市", "类别", "报送文件"], start=1):
        c = ks.cell(row=1, column=i, value=h)
        c.font, c.fill, c.border = HEAD11, HEAD_FILL, BORDER
    for r, e in enumerate(entries, start=2):
        for i, value in enumerate([e.number, e.ret.park_name, e.ret.city, e.ret.form.category_name, e.ret.file],
                                  start=1):
            c = ks.cell(row=r, column=i)
            set_text(c, guard.clean(value, label="园区名称", file=e.ret.file))
            c.border, c.alignment = BORDER, KEY_ALIGNMENT
    for i, w in enumerate([9, 30, 16, 20, 30], start=1):  # A4 upright: one page across
        ks.column_dimensions[get_column_letter(i)].width = w
    ks.freeze_panes = "A2"
    print_setup(ks, orientation="portrait", title_rows="1:1", footer="评审编号对照表（保密）　第 &P 页")
    return key


KEY_ALIGNMENT = Alignment(vertical="center", wrap_text=True)


class Panel:
    """evaluation.xlsx in the making: its park sheets are started on the workers when it is made, so that this
    process can write something else meanwhile; finish() puts the workbook together."""

    def __init__(self, rets: list[CheckedReturn], forms: dict[str, Form], *, blind: bool = False,
                 show_region: bool = False, guard: TextGuard | None = None):
        self.blind, self.show_region = blind, show_region
        self.guard = guard or TextGuard()
        self.wb = Workbook(write_only=True)
        self.overview = _Overview(self.wb, next(iter(forms.values())), blind, len(rets), self.guard)
        styles = palette(self.overview.ws)
        self.entries = _entries(rets, blind, {self.overview.ws.title})
        frame = SheetFrame.of(_frame_setup)
        share_forms(forms.values())
        jobs = [(Park.of(e.ret), e.number, blind, show_region, frame, styles) for e in self.entries]
        # a large batch: workers of their own memory, since this process writes the summary meanwhile
        self.parts = start_on_cores(park_part, jobs, least=25, chunk=25,
                                    fresh=(__name__,) if len(jobs) >= FRESH_WORKERS_FROM else None)
        self.done: tuple[bytes, Workbook | None] | None = None

    def finish(self) -> tuple[bytes, Workbook | None]:
        """The workbook's bytes and, when blind, the key; the text guard then has all the park sheets' findings."""
        if self.done is None:
            parts = self.parts.results()
            for r, (e, (_, _, cells, found)) in enumerate(zip(self.entries, parts), start=2):
                self.guard.absorb(found)
                self.overview.add(r, e, _redactor(e.ret.values, e.ret.form) if self.blind else (lambda t: t), cells)
            if self.blind:
                self.overview.note(blind_note(self.show_region))
            self.overview.finish()
            book = with_sheets(workbook_to_bytes(self.wb), [AddedSheet(e.sheet, part, area)
                                                           for e, (part, area, _, _) in zip(self.entries, parts)])
            self.done = book, (_key_workbook(self.entries, self.guard) if self.blind else None)
        return self.done

    def findings(self) -> list[Finding]:
        """What writing the workbook had to change in the parks' texts (once it is put together)."""
        self.finish()
        return self.guard.findings


def build_evaluation(rets: list[CheckedReturn], forms: dict[str, Form], *, blind: bool = False,
                     show_region: bool = False, guard: TextGuard | None = None) -> tuple[bytes, Workbook | None]:
    """The panel's workbook (.xlsx bytes) and, when blind, the key from numbers to parks (to be kept apart
    from the workbook). A blind workbook shows the parks' region only when show_region. The park sheets are
    written on all cores."""
    return Panel(rets, forms, blind=blind, show_region=show_region, guard=guard).finish()
