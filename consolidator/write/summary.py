"""The province-level summary workbook (summary.xlsx), from a checked batch.

Pure: a BatchResult in, an openpyxl workbook out (write-only, so that a national round of
10,000 returns fits in memory). Totals are sums of the parks' parts; every ratio of a total is
recomputed from the summed parts with the same rule expression as in the template (province
亩均税收 = total tax / total developed area in 亩), never averaged across parks. The totals are made of
counted_returns: the accepted returns of the roster's parks (a park outside the roster only when asked).

Every sheet prints on A4 landscape, its header rows repeated, fitted to one page across or, for a table
too wide to be read at 60 %, to a few pages across with the park's number and name repeated; text wraps in
columns of sensible widths and each row gets the height of its text (LibreOffice does not fit rows when
it opens a workbook). Statuses have one colour each, in the tables and the status chart (error red,
warning orange, passed green); 图表 prints a page per chart.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd
import pyarrow
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import NumFmt
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.pagebreak import Break

from ..check.results import (
    STATUS_ERRORS,
    STATUS_MISSING,
    STATUS_PASSED,
    STATUS_SUPERSEDED,
    STATUS_UNREADABLE,
    STATUS_WARNINGS,
    BatchResult,
    CheckedReturn,
    ParkStatus,
)
from ..findings import (
    COLUMNS_ZH,
    ERROR,
    EXPLAINED,
    FINDING_COLUMNS,
    INFO,
    SEVERITY_ZH,
    WARNING,
    Finding,
)
from ..returns import value_rows
from ..rules import Field, Form
from .styles import BODY_FONT, CENTER, HEAD_FILL, HEAD_FONT, rows_height, text_width
from .template import number_format
from .xlsx import (
    ColumnRows,
    HeightOf,
    LazyColumn,
    TextGuard,
    cell,
    column_pt,
    defer_rows,
    page_body_pt,
    print_setup,
    quick_width,
    style_id,
    width_of,
)

EXCLUDED_FONT = Font(name="宋体", size=10, color="808080")
PROVINCE = "全省合计"
IDENTITY = ["序号", "园区名称", "所在省市", "所在区县", "类别", "状态", "计入合计", "错误数", "警告数", "填写日期", "来源文件"]
STATUS_COL = IDENTITY.index("状态")
NOTE_FONT = Font(name="宋体", size=10, color="595959")
TOP_WRAP = Alignment(vertical="top", wrap_text=True)
TOP = Alignment(vertical="top")
LEFT_WRAP = Alignment(horizontal="left", vertical="center", wrap_text=True)
# Status colours, the same as the report's, in every table and chart: text colour and a light fill
STATUS_COLOURS = {
    STATUS_PASSED: ("2E7D32", "C6EFCE"),
    STATUS_WARNINGS: ("C55A11", "FFD8A8"),
    STATUS_ERRORS: ("C00000", "FFC7CE"),
    STATUS_UNREADABLE: ("7B1FA2", "E4D7EC"),
    STATUS_SUPERSEDED: ("808080", "EDEDED"),
    STATUS_MISSING: ("595959", "E7E6E6"),
}
SEVERITY_COLOURS = {SEVERITY_ZH[ERROR]: STATUS_COLOURS[STATUS_ERRORS], SEVERITY_ZH[WARNING]: STATUS_COLOURS[STATUS_WARNINGS],
                    SEVERITY_ZH[EXPLAINED]: ("1F5FA8", "DDEBF7"), SEVERITY_ZH[INFO]: ("595959", "EDEDED")}
# 问题清单 prints on one page across: its columns as wide as they need, the message widest
FINDING_WIDTHS = {"code": 14, "severity": 10, "message": 40, "park": 18, "city": 12, "category": 14, "sheet": 14,
                  "field": 14, "label": 18}
NOT_LISTED = "不在名单中"
UNIT = re.compile(r"（[^（）]*）$")
MIN_SCALE = 0.6  # a table wider than a page at this scale is printed over several pages across
HEAD_LINES = 3  # a header may wrap into this many lines before its column is widened
TEXT_WIDTH = 24  # a text column wraps beyond this width (a park's name in two lines)
LINE_PT = 15.0  # a line of 11-pt text
BODY_LINE_PT = LINE_PT * 10 / 11  # a line of the tables' 10-pt text
MAX_LINES = 4  # a row is at most this tall; longer texts show their beginning (and are whole in the cell)


@dataclass
class Column:
    field: Field
    group: str
    sheet_title: str = ""
    block_title: str = ""
    header: str = ""  # unique in its table (see _name_columns)


def unlisted(ret: CheckedReturn) -> bool:
    """A return of a park that is not in the roster (only said when there is a roster)."""
    return ret.park is None and any(f.code == "park_not_in_roster" for f in ret.findings)


def included(result: BatchResult, include_errors: bool) -> list[CheckedReturn]:
    """The accepted returns: the newest of each park without errors (or, when asked, all)."""
    ok = {STATUS_PASSED, STATUS_WARNINGS} | ({STATUS_ERRORS} if include_errors else set())
    return [r for r in result.returns if r.status in ok]


def counted_returns(result: BatchResult, include_errors: bool = False, include_unlisted: bool = False) -> list[CheckedReturn]:
    """The returns the totals and the expert panel's workbook are made of: the accepted ones, without those
    of parks that are not in the roster unless the office asks for them."""
    return [r for r in included(result, include_errors) if include_unlisted or not unlisted(r)]


def current(result: BatchResult) -> list[CheckedReturn]:
    return [r for r in result.returns if r.status in (STATUS_PASSED, STATUS_WARNINGS, STATUS_ERRORS)]


def not_counted_reason(p: ParkStatus, counted: set[int]) -> str:
    """Why a park is not in the totals ("" when it is)."""
    cur = p.current
    if cur is not None and id(cur) in counted:
        return ""
    if cur is None:
        return p.status
    return NOT_LISTED if unlisted(cur) else cur.status


def _columns(form: Form, sheet_blocks: set[tuple[str, str]] | None, *, shared: bool) -> list[Column]:
    cols = []
    for sheet in form.sheets:
        for block in sheet.blocks:
            if block.kind == "text":
                continue
            in_shared = sheet_blocks is None or (sheet.id, block.id) in sheet_blocks
            if in_shared != shared:
                continue
            group = sheet.title if sheet.summary_group == "sheet" else f"{sheet.title}：{block.title or ''}"
            for fam in block.families:
                for fid in form.families[fam]:
                    f = form.fields[fid]
                    cols.append(Column(f, group, sheet.title, block.title or "", _base_header(form, f)))
                    if f.note_field and fid == form.families[fam][-1]:
                        note = form.fields[f.note_field]
                        cols.append(Column(note, group, sheet.title, block.title or "", _base_header(form, note)))
    return cols


def _base_header(form: Form, f: Field) -> str:
    """A column's title: the field's label with its year; a 情况说明 says what it explains."""
    if f.explains:
        family = form.families.get(f.explains) or (f.explains,)
        explained = form.fields[family[0]].label if family[0] in form.fields else f.explains
        return f"{f.label}（{UNIT.sub('', explained)}）"
    return f.display_label


def _name_columns(fixed: list[str], cols: list[Column]) -> list[str]:
    """The table's headers, each once: a label that repeats is told apart by its sheet (工业园区名称 on the
    cover and in 一、基本信息) or, within one sheet, by its block (部门及职务 of the head and of the contact)."""
    count = Counter(fixed + [c.header for c in cols])
    for c in [c for c in cols if count[c.header] > 1]:
        same = [d for d in cols if d.header == c.header]
        by_block = len({d.sheet_title for d in same}) == 1 and c.header not in fixed and c.block_title
        qualifier = c.block_title if by_block else c.sheet_title
        if qualifier and qualifier not in c.header:
            c.header = f"{c.header}（{qualifier}）"
    headers, seen = list(fixed), set(fixed)
    for c in cols:  # whatever still repeats is numbered
        h, n = c.header, 2
        while h in seen:
            h, n = f"{c.header}（{n}）", n + 1
        c.header = h
        seen.add(h)
        headers.append(h)
    return headers


def shared_blocks(forms: dict[str, Form]) -> set[tuple[str, str]]:
    sets = [{(s.id, b.id) for s in f.sheets for b in s.blocks} for f in forms.values()]
    return set.intersection(*sets)


def _row_values(ret: CheckedReturn, cols: list[Column], guard: TextGuard) -> list:
    out = []
    get, file, park = ret.values.get, ret.file, ret.park_name
    for c in cols:  # (a row per return and a few hundred columns: kept to what each value needs)
        v = get(c.field.id)
        if isinstance(v, float):
            if v != v:  # NaN
                v = None
        elif isinstance(v, str):
            v = guard.clean(v, label=c.header, file=file, park=park)
        out.append(v)
    return out


def _identity(n: int, ret: CheckedReturn, counted: bool, guard: TextGuard) -> list:
    counts = ret.counts()
    county = ret.park.county if ret.park else ret.values.get(ret.form.roles["county"])
    row = [n, ret.park_name, ret.city, county, ret.form.category_name, ret.status, "是" if counted else "否",
           counts["error"], counts["warning"], ret.fill_date, ret.file]
    return [guard.clean(v, label=IDENTITY[i], file=ret.file, park=ret.park_name) for i, v in enumerate(row)]


# ---- tables ------------------------------------------------------------------------------------------
def _shown_width(v) -> int:
    """The width a value takes in its cell, numbers as their formats show them."""
    if v is None or v == "":
        return 0
    if isinstance(v, bool):
        return 2
    if isinstance(v, int):
        return len(f"{v:,}")
    if isinstance(v, float):
        return len(f"{v:,.2f}") if math.isfinite(v) else 0
    if isinstance(v, (dt.date, dt.datetime)):
        return 10
    return width_of(v)


@dataclass
class _Layout:
    widths: list[float]
    wrap: list[bool]
    head_pt: float  # the header row's height
    fitted: list[int]  # the wrapped columns a row's height is fitted to
    min_lines: int  # 2 where a column holds texts too long to show whole (they show their beginning)
    max_lines: int = MAX_LINES

    def height_of(self) -> HeightOf | None:
        """The rows' heights: fitted to the wrapped texts (at most max_lines lines), computed here since
        LibreOffice does not fit rows when it opens a workbook (Excel does)."""
        per_line = [(i, max(self.widths[i] - 2, 1)) for i in self.fitted]
        if not per_line and self.min_lines < 2:
            return None
        base, most = self.min_lines, self.max_lines

        def height(k: int, row: list) -> float | None:
            lines = base
            for i, room in per_line:
                v = row[i] if i < len(row) else None
                if isinstance(v, str) and v:
                    n = sum(math.ceil(quick_width(part) / room) or 1 for part in v.split("\n")) \
                        if "\n" in v else math.ceil(quick_width(v) / room)
                    if n > lines:
                        lines = min(n, most)
                        if lines == most:
                            break
            return lines * BODY_LINE_PT + 4 if lines > 1 else None

        return height


def _layout(headers: list[str], rows: Sequence[list], widths_max: float, wrap_text: bool = True,
            caps: dict[int, float] | None = None, max_lines: int = MAX_LINES) -> _Layout:
    """Column widths from the headers and (a sample of) the rows: a column is as wide as its values (with
    room: LibreOffice's substitute fonts are wider), up to widths_max, and at least a third of its header,
    which wraps. Text that does not fit wraps (when wrap_text), and Excel and LibreOffice fit each row to
    it; a column whose texts take many more lines (a report of 3,000 characters) is left out of the
    fitting and shows the beginning of its text in two lines or in those of the row's other texts."""
    sample = rows[:200]
    widths, wrap, fitted, long_text = [], [], [], False
    for i, h in enumerate(headers):
        data = max((_shown_width(r[i]) for r in sample if i < len(r)), default=0) * 1.1
        cap = (caps or {}).get(i, widths_max)
        w = max(6.0, min(cap, math.ceil(data) + 2), min(cap, math.ceil(text_width(h) / HEAD_LINES) + 3))
        widths.append(w)
        wrap.append(wrap_text and data + 2 > w)
        if wrap[-1] and data > 3 * max_lines * (w - 2):
            long_text = True
        elif wrap[-1]:
            fitted.append(i)
    head_pt = max((rows_height(h, w, 11) for h, w in zip(headers, widths)), default=LINE_PT)
    return _Layout(widths, wrap, max(LINE_PT + 4, head_pt), fitted, 2 if long_text else 1, max_lines)


def _first_page_columns(widths: list[float]) -> int:
    """How many columns surely print on the first page (at 100 %)."""
    room, n = page_body_pt("landscape")[0], 0
    for w in widths:
        room -= column_pt(w)
        if room < 0:
            break
        n += 1
    return max(n, 1)


def _pages_across(widths: list[float], title_cols: int) -> int:
    """How many pages across a table prints on, so that it is shrunk to no less than MIN_SCALE."""
    page = page_body_pt("landscape")[0] / MIN_SCALE
    total = sum(column_pt(w) for w in widths)
    if total <= page:
        return 1
    titles = sum(column_pt(w) for w in widths[:title_cols])
    return math.ceil((total - titles) / max(page - titles, page / 2))


def _group_spans(groups: list[str]) -> list[tuple[int, int]]:
    """(first, last) column (1-based) of each titled group of the group row."""
    starts = [i for i, g in enumerate(groups) if g] + [len(groups)]
    return [(a + 1, b) for a, b in pairwise(starts)]


def _head_rows(ws, note: str | None, groups: list[str] | None, headers: list[str], lay: _Layout) -> int:
    """The note, group and header rows; returns how many there are."""
    r = 0
    if note:  # across the columns of the first page: a note cut at the page's edge would be lost
        r, first = r + 1, min(_first_page_columns(lay.widths), len(headers))
        ws.merged_cells.ranges.add(CellRange(f"A{r}:{get_column_letter(first)}{r}"))
        ws.row_dimensions[r].height = max(LINE_PT, rows_height(note, sum(lay.widths[:first]), 10))
        ws.append([cell(ws, note, font=NOTE_FONT, border=None, alignment=LEFT_WRAP)])
    if groups:
        r += 1
        spans = _group_spans(groups)
        for a, b in spans:
            if b > a:
                ws.merged_cells.ranges.add(CellRange(f"{get_column_letter(a)}{r}:{get_column_letter(b)}{r}"))
        ws.row_dimensions[r].height = max([LINE_PT + 4] + [rows_height(groups[a - 1], sum(lay.widths[a - 1:b]), 11)
                                                           for a, b in spans])
        ws.append([cell(ws, g, font=HEAD_FONT, fill=HEAD_FILL, alignment=LEFT_WRAP) for g in groups])
    r += 1
    ws.row_dimensions[r].height = lay.head_pt
    ws.append([cell(ws, h, font=HEAD_FONT, fill=HEAD_FILL, alignment=CENTER) for h in headers])
    return r


# Long because it is the one place the tables are styled and laid out for print; split into helpers above.
def _write_table(wb: Workbook, title: str, groups: list[str] | None, headers: list[str], rows: Sequence[list],
                 formats: list[str | None] | None = None, *, freeze_cols: int = 2, fonts=None, guard=None,
                 widths_max=TEXT_WIDTH, note: str | None = None, colour_col: int | None = None,
                 colours: dict[str, tuple[str, str | None]] | None = None, wrap_text: bool = True,
                 caps: dict[int, float] | None = None, max_lines: int = MAX_LINES) -> None:
    ws = wb.create_sheet(title)
    lay = _layout(headers, rows, widths_max, wrap_text, caps, max_lines)
    for i, w in enumerate(lay.widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    head_rows = int(bool(note)) + int(bool(groups)) + 1
    across = _pages_across(lay.widths, freeze_cols)
    print_setup(ws, fit_width=across, title_rows=f"{1 + int(bool(note))}:{head_rows}",
                title_cols=f"A:{get_column_letter(freeze_cols)}" if across > 1 and freeze_cols else None)
    # a write-only sheet writes its view (the frozen panes) when the first row arrives
    ws.freeze_panes = f"{get_column_letter(freeze_cols + 1)}{head_rows + 1}"
    ws.auto_filter.ref = f"A{head_rows}:{get_column_letter(max(len(headers), 1))}{head_rows + max(len(rows), 1)}"
    _head_rows(ws, note, groups, headers, lay)
    # Data rows go straight into the sheet's XML when the book is saved (xlsx.defer_rows): at 10,000
    # returns the enterprise list alone has millions of cells. A cell's style is one of a few prototypes,
    # per (number format, font, wrapped) and per status colour, registered now: the book's styles are
    # written before the rows.
    protos: dict[tuple, int] = {}
    row_fonts = list({id(f): f for f in fonts or () if f is not None}.values())
    for fmt in dict.fromkeys([*(formats or ()), "yyyy-mm-dd", None]):  # in order: the same styles.xml every run
        for font in (None, *row_fonts):
            for wrapped in (False, True):
                protos[(fmt, id(font), wrapped)] = style_id(ws, cell(
                    ws, None, border=None, font=font or BODY_FONT, number_format=fmt,
                    alignment=TOP_WRAP if wrapped else TOP))
    for value, (colour, fill) in (colours or {}).items():
        protos[("colour", value)] = style_id(ws, cell(
            ws, None, border=None, font=Font(name="宋体", size=10, bold=True, color=colour), alignment=TOP,
            fill=PatternFill("solid", start_color=fill, end_color=fill) if fill else None))
    col_fmt = [(formats[i] if formats and i < len(formats) else None) for i in range(len(headers))]
    wrap = lay.wrap

    def style(font: int, i: int, v) -> int:
        fmt = col_fmt[i] if i < len(col_fmt) else None
        if isinstance(v, (dt.date, dt.datetime)):
            fmt = "yyyy-mm-dd"
        elif fmt is not None and not (isinstance(v, (int, float)) and not isinstance(v, bool)):
            fmt = None
        return protos[(fmt, font, i < len(wrap) and wrap[i] and isinstance(v, str))]

    known: dict[tuple, int] = {}  # (row font, column, type of value) -> style: a table has a handful

    def style_of(r: int, i: int, v) -> int:
        if i == colour_col and ("colour", v) in protos:
            return protos[("colour", v)]
        font = id(fonts[r]) if fonts and fonts[r] is not None else id(None)
        key = (font, i, type(v))
        sid = known.get(key)
        if sid is None:
            sid = known[key] = style(font, i, v)
        return sid

    defer_rows(ws, head_rows + 1, rows, style_of, lay.height_of(), by_type=not fonts and colour_col is None)


def _groups_row(prefix: int, cols: list[Column]) -> list[str]:
    groups = [""] * prefix
    last = None
    for c in cols:
        groups.append(c.group if c.group != last else "")
        last = c.group
    return groups


# ---- totals ------------------------------------------------------------------------------------
def numeric_frame(rets: list[CheckedReturn], form: Form) -> pd.DataFrame:
    """A row per return: its numeric fields as floats (NaN where not a number) and its city; what totals_of adds
    up, made once for the totals by city and for the province."""
    if not rets:
        return pd.DataFrame()
    numeric = _numeric(form)
    cols = {}  # read row by row (each layout's getter once), then turned: a frame of a dict a return takes thrice the time
    for fid, col in zip(numeric, zip(*value_rows([r.values for r in rets], numeric))):
        try:
            cols[fid] = np.array(col, dtype=float)  # (None becomes NaN)
        except (TypeError, ValueError):
            cols[fid] = pd.to_numeric(pd.Series(col, dtype=object), errors="coerce").to_numpy(dtype=float)
    return pd.DataFrame(cols | {"city": [r.city or "（未填写）" for r in rets]})


def _numeric(form: Form) -> list[str]:
    return [f.id for f in form.fields.values() if f.is_numeric and not f.explains]


def totals_of(frame: pd.DataFrame, form: Form, by: str | None) -> pd.DataFrame:
    """Sum of the additive fields of the returns of `frame` (numeric_frame; per city when by="city"), derived
    fields recomputed from the summed parts; fields that cannot be added up (and ratios that need them) are NaN."""
    if frame.empty:
        return frame
    numeric = _numeric(form)
    additive = [fid for fid in numeric if form.is_additive(fid)]
    if by:
        agg = frame.groupby(by, sort=True)[additive].sum(min_count=1)
        agg.insert(0, "parks", frame.groupby(by).size())
    else:
        agg = frame[additive].sum(min_count=1).to_frame().T
        agg.insert(0, "parks", len(frame))
        agg.index = [PROVINCE]
    agg = agg.reindex(columns=[*agg.columns, *(fid for fid in numeric if fid not in agg)])  # NaN: one step, not a column at a time
    for fid in form.derived_order:
        f = form.fields[fid]
        if not f.is_numeric:
            continue
        if all(form.is_additive(n) or form.fields[n].is_derived for n in f.formula.names):
            agg[fid] = f.formula.value(agg).astype(float)
        else:
            agg[fid] = np.nan
    return agg


def _not_aggregable_note(form: Form) -> str:
    shared = [f for f in form.fields.values() if f.aggregate == "none" and f.year in (None, form.years[0])]
    if not shared:
        return ""
    dependants = sorted({form.fields[d].label for d in form.derived_order
                         if any(form.fields[n].family in {s.family for s in shared}
                                for n in form.fields[d].formula.names)})
    names = "、".join(s.label for s in shared)
    return f"说明：{names}不能跨园区相加，{'、'.join(dependants)}不作汇总。比重、亩均税收等比率均由合计数重新计算，不是各园区比率的平均。"


# ---- the workbook ------------------------------------------------------------------------------
def build_summary(result: BatchResult, forms: dict[str, Form], *, include_errors: bool = False,
                  include_unlisted: bool = False, generated: dt.datetime | None = None,
                  more_findings: Callable[[], list[Finding]] | None = None) -> tuple[Workbook, list[Finding]]:
    """summary.xlsx and what writing it had to change in the parks' texts. The totals are made of
    counted_returns(result, include_errors, include_unlisted). more_findings() gives what writing another
    workbook had to change; it is called when the 问题清单 is written (last), so that the other workbook may
    be written meanwhile."""
    guard = TextGuard()
    wb = Workbook(write_only=True)
    counted = {id(r) for r in counted_returns(result, include_errors, include_unlisted)}
    cur = sorted(current(result), key=lambda r: (_roster_order(r), r.park_name))
    first = next(iter(forms.values()))
    shared = shared_blocks(forms)
    shared_cols = _columns(first, shared, shared=True)
    headers = _name_columns(IDENTITY, shared_cols)

    # 汇总
    rows, fonts = [], []
    for n, r in enumerate(cur, start=1):
        rows.append(_identity(n, r, id(r) in counted, guard) + _row_values(r, shared_cols, guard))
        fonts.append(None if id(r) in counted else EXCLUDED_FONT)
    formats = [None] * len(IDENTITY) + [number_format(c.field) if c.field.is_numeric else None for c in shared_cols]
    left_out = "有错误的报送也计入合计（计入合计列标为“是”）" if include_errors else "有错误的报送不计入合计"
    if any(unlisted(r) for r in cur):
        left_out += "；名单外园区也计入合计" if include_unlisted else "；名单外园区不计入合计（见“报送情况”）"
    note = (f"{first.title}报送汇总（生成时间：{(generated or dt.datetime.now()):%Y-%m-%d %H:%M}）。"
            f"{left_out}，不计入的以灰色显示。")
    _write_table(wb, "汇总", _groups_row(len(IDENTITY), shared_cols), headers, rows, formats, freeze_cols=2,
                 fonts=fonts, note=note, colour_col=STATUS_COL, colours=STATUS_COLOURS)

    # one sheet per category with its own block
    for form in forms.values():
        cols = _columns(form, shared, shared=False)
        rets = [r for r in cur if r.form is form]
        rows = [_identity(n, r, id(r) in counted, guard) + _row_values(r, cols, guard) for n, r in enumerate(rets, start=1)]
        fonts = [None if id(r) in counted else EXCLUDED_FONT for r in rets]
        formats = [None] * len(IDENTITY) + [number_format(c.field) if c.field.is_numeric else None for c in cols]
        own = f"{first.title}报送汇总：{form.category_name}（本类别园区，含本类别特有的栏目）。{left_out}，不计入的以灰色显示。"
        _write_table(wb, form.category_name[:31], _groups_row(len(IDENTITY), cols), _name_columns(IDENTITY, cols),
                     rows, formats, freeze_cols=2, fonts=fonts, note=own, colour_col=STATUS_COL, colours=STATUS_COLOURS)

    _city_sheet(wb, result, forms, counted, shared_cols)
    _list_sheet(wb, result, guard)
    _shared_sheet(wb, result, guard)
    _status_sheet(wb, result, counted, include_unlisted, guard)
    _chart_sheet(wb, result, counted, first, guard)
    # 问题清单 last, with what writing this workbook had to change
    findings = [*result.skipped, *result.findings, *(more_findings() if more_findings else ()), *guard.findings]
    headers = [COLUMNS_ZH[c] for c in FINDING_COLUMNS]
    rows = []
    for f in findings:
        d = f.as_dict()
        d["severity"] = SEVERITY_ZH[f.severity]
        rows.append([guard.clean(d[c]) for c in FINDING_COLUMNS])
    _write_table(wb, "问题清单", None, headers, rows, freeze_cols=0, widths_max=20,
                 caps={FINDING_COLUMNS.index(c): w for c, w in FINDING_WIDTHS.items()}, max_lines=10,
                 colour_col=FINDING_COLUMNS.index("severity"), colours=SEVERITY_COLOURS)
    return wb, guard.findings


def _roster_order(r: CheckedReturn) -> int:
    return r.park.row if r.park else 10**9


def _city_of(city: str | None) -> str:
    return city or "（未填写）"


def _cities(result: BatchResult, counted: set[int]) -> tuple[list[str], dict[str, Counter]]:
    """Every city of the roster (in its order) and of the counted returns, and per city why how many parks are
    not counted (有错误, 无法读取, 未提交, 不在名单中). A file that names no park (an unreadable file the roster
    cannot place) is not a park of any city."""
    cities: dict[str, Counter] = {}
    for p in result.parks:
        if p.park is None and p.current is None:
            continue
        reasons = cities.setdefault(_city_of(p.park.city if p.park else p.city), Counter())
        why = not_counted_reason(p, counted)
        if why:
            reasons[why] += 1
    return list(cities), cities


LEFT_OUT_ORDER = (STATUS_ERRORS, STATUS_UNREADABLE, STATUS_MISSING, NOT_LISTED)


def _left_out_text(reasons: Counter) -> str:
    order = {r: i for i, r in enumerate(LEFT_OUT_ORDER)}
    return "，".join(f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda kv: order.get(kv[0], 99)))


# Long because it lays out one table of three parts (counts, shared indicators, each category's block).
def _city_sheet(wb, result, forms, counted: set[int], shared_cols) -> None:
    """Totals by city and for the province, every roster city listed (with no park counted, too) with how many
    of its parks are not counted and why."""
    rets = [r for r in result.returns if id(r) in counted]
    first = next(iter(forms.values()))
    num_cols = [c for c in shared_cols if c.field.is_numeric and not c.field.explains]
    fixed = ["城市", "园区数", "未计入园区数", "未计入原因"]
    cols = list(num_cols)
    formats = [None, "0", "0", None] + [number_format(c.field) for c in num_cols]
    groups = [""] * len(fixed) + [g for g in _groups_row(0, num_cols)]
    blocks = {}
    for cid, form in forms.items():
        own = [Column(c.field, form.category_name, form.category_name, form.category_name, c.header)
               for c in _columns(form, shared_blocks(forms), shared=False) if c.field.is_numeric and not c.field.explains]
        if own:
            blocks[cid] = own
            cols += [Column(own[0].field, "", "", "", f"{form.category_name}园区数")] + own
            formats += ["0"] + [number_format(c.field) for c in own]
            groups += [form.category_name] + [""] * len(own)
    headers = _name_columns(fixed, cols)
    everyone = numeric_frame(rets, first)
    by_city, province = totals_of(everyone, first, "city"), totals_of(everyone, first, None)
    own = {cid: numeric_frame([r for r in rets if r.form.category_id == cid], forms[cid]) for cid in blocks}
    cat_city = {cid: totals_of(own[cid], forms[cid], "city") for cid in blocks}
    cat_prov = {cid: totals_of(own[cid], forms[cid], None) for cid in blocks}
    cities, reasons = _cities(result, counted)
    cities += [c for c in (by_city.index if len(by_city) else []) if c not in reasons]
    everywhere = sum(reasons.values(), Counter())
    rows, fonts = [], []
    for key, frame, cats, why in [(c, by_city, cat_city, reasons.get(c, Counter())) for c in cities] + \
            [(PROVINCE, province, cat_prov, everywhere)]:
        present = not frame.empty and key in frame.index
        row = [key, int(frame.at[key, "parks"]) if present else 0, sum(why.values()), _left_out_text(why)]
        row += [_num(frame.at[key, c.field.id]) if present else None for c in num_cols]
        for cid, own in blocks.items():
            cf = cats[cid]
            here = not cf.empty and key in cf.index
            row += [int(cf.at[key, "parks"]) if here else 0]
            row += [_num(cf.at[key, c.field.id]) if here else None for c in own]
        rows.append(row)
        fonts.append(Font(name="黑体", size=10, bold=True) if key == PROVINCE else None)
    note = _not_aggregable_note(first) + "未计入园区数：名单中的园区（及名单外的报送）未计入合计的个数，原因见下一列。"
    _write_table(wb, "分市统计", groups, headers, rows, formats, freeze_cols=2, fonts=fonts, note=note)


def _num(v):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return float(v)


MAX_SHEET_ROWS = 1_048_576  # Excel's limit


def _list_sheet(wb, result: BatchResult, guard: TextGuard) -> None:
    """Every list row of the current returns, with the other parks that list the same credit code.
    Built column by column: at 10,000 returns there are most of a million rows."""
    lists = result.lists
    form = next((r.form for r in result.returns if r.form), None)
    spec = form.enterprise_list if form else None
    columns = list(spec.columns) if spec else []
    headers = ["园区名称", "所在省市", "园区类别", *[c.label for c in columns], "另有几个园区填报", "来源文件"]
    rows: Sequence[list] = []
    if not lists.empty:
        rets = result.returns
        ret_ids = lists["ret"].tolist()
        per_ret = {}  # what a return contributes to each of its rows, cleaned once per return
        for i in set(ret_ids):
            r = rets[i]
            per_ret[i] = [guard.clean(v, file=r.file, park=r.park_name, label="企业清单")
                          for v in (r.park_name, r.city, r.form.category_name, r.file)]
        key = spec.column("key")
        others = {code: len(rets) - 1 for code, rets in result.shared.items()}  # the parks: 多园区填报企业

        def park_text(column: Sequence) -> Sequence:
            def at(k: int, v):
                r = rets[ret_ids[k]]
                return guard.clean(v, file=r.file, park=r.park_name, label="企业清单")
            return guard.clean_column(column, at)

        def shown(c) -> Sequence:  # a category as its label (the text as typed where it names none)
            if c.type == "choice":
                return [a or b for a, b in zip(lists[c.id + "_label"].tolist(), lists[c.id + "_raw"].tolist())]
            column = lists[c.id]
            return LazyColumn(pyarrow.array(column.array)) if isinstance(column.dtype, pd.ArrowDtype) else column.tolist()

        texts = [park_text(shown(c)) for c in columns]
        code_list = texts[[c.id for c in columns].index(key)] if key else [""] * len(ret_ids)

        of_park = [[per_ret[i][j] for i in ret_ids] for j in range(4)]  # name, city, category, file
        claimed = [others.get(code) for code in code_list] if others else [None] * len(ret_ids)
        rows = ColumnRows([*of_park[:3], *texts, claimed, of_park[3]])
    # a sheet holds 1,048,576 rows: a longer list goes on over further sheets
    per_sheet = MAX_SHEET_ROWS - 1
    for k in range(0, max(len(rows), 1), per_sheet):
        title = "企业清单汇总" if k == 0 else f"企业清单汇总（{k // per_sheet + 1}）"
        part = rows if len(rows) <= per_sheet else rows.part(k, min(per_sheet, len(rows) - k))
        # not wrapped: Excel and LibreOffice would fit each of up to a million rows to its text on opening
        _write_table(wb, title, None, headers, part, freeze_cols=2, widths_max=40, wrap_text=False)


def _shared_sheet(wb, result: BatchResult, guard: TextGuard) -> None:
    """The enterprises listed by several parks: a row per enterprise and park that lists it (each
    enterprise's parks once, however many parks share it: the table grows with the claims, not their square)."""
    headers = ["统一社会信用代码", "企业名称", "填报园区数", "园区名称", "所在省市", "来源文件"]
    rows = []
    for code, name, rets in result.shared_enterprises():
        for r in rets:
            rows.append([code, guard.clean(name, file=r.file, park=r.park_name, label="企业清单"), len(rets),
                         *(guard.clean(v, file=r.file, park=r.park_name, label="企业清单") for v in (r.park_name, r.city, r.file))])
    _write_table(wb, "多园区填报企业", None, headers, rows, freeze_cols=2,
                 note="同一企业（统一社会信用代码相同）出现在多个园区的企业清单中；请核实企业所在园区。")


UNPLACED = "（未能确定园区）"


def _status_sheet(wb, result: BatchResult, counted: set[int], include_unlisted: bool, guard: TextGuard) -> None:
    """The roster against what arrived: a row per park, whether it is counted and, if not, why; the note
    above names the parks outside the roster that were left out."""
    headers = ["园区名称", "所在省市", "所在区县", "类别", "状态", "计入合计", "未计入原因", "最新报送填写日期", "最新报送文件",
               "报送文件数", "错误数", "警告数", "已被替代的文件"]
    rows = []
    for p in result.parks:
        cur = p.current
        counts = cur.counts() if cur else {"error": "", "warning": ""}
        county = p.park.county if p.park else (cur.values.get(cur.form.roles["county"]) if cur else "")
        # a file no park could be told from (unreadable, outside the roster) is not a park: its name is the file's
        name = p.name if p.park is not None or cur is not None else UNPLACED
        latest = cur.file if cur else "、".join(r.file for r in p.files)  # (unreadable: the files that could not be)
        row = [name, p.city, county, p.category, p.status, "是" if cur is not None and id(cur) in counted else "否",
               not_counted_reason(p, counted), cur.fill_date if cur else None, latest, len(p.files),
               counts["error"], counts["warning"], "、".join(r.file for r in p.files if r.status == STATUS_SUPERSEDED)]
        rows.append([guard.clean(v, label=headers[i], park=p.name) for i, v in enumerate(row)])
    outside = [p for p in result.parks if p.current is not None and unlisted(p.current)]
    note = "计入合计的是每个园区最新一份没有错误的报送；未计入的，原因见“未计入原因”列。"
    if outside:
        names = "、".join(f"{p.name}（{p.current.file}）" for p in outside)
        note += (f"以下 {len(outside)} 个园区不在园区名单中，" + ("按要求也计入了合计和专家评审表：" if include_unlisted else
                 "未计入合计，也未列入专家评审表：") + guard.clean(names, label="园区名称")
                 + ("。" if include_unlisted else "。确属应报园区的，请补入名单后重新汇总，或用 --include-unlisted 一并计入。"))
    _write_table(wb, "报送情况", None, headers, rows, freeze_cols=1, note=note, colour_col=headers.index("状态"),
                 colours=STATUS_COLOURS)


CHART_PAGE_ROWS = 32  # rows of ROW_PT that one A4 landscape page holds within the margins of print_setup
ROW_PT = 15.0
CHART_CM = (24.0, 14.5)  # width, height: a chart fills one page


# Long because it lays out the printed sheet: the tables the charts are drawn from, then a page per chart.
def _chart_sheet(wb, result: BatchResult, counted: set[int], form: Form, guard: TextGuard) -> None:
    """The charts of rules/common.yaml (summary.charts) over the 30 largest parks by the first, and the
    statuses by city (in the status colours): their tables first, then each chart on a page of its own."""
    ws = wb.create_sheet("图表")
    print_setup(ws)
    charts = form.summary.charts
    rets = sorted((r for r in result.returns if id(r) in counted),
                  key=lambda r: -(r.values.get(charts[0].field) or 0))[:30] if charts else []
    statuses = [STATUS_PASSED, STATUS_WARNINGS, STATUS_ERRORS, STATUS_UNREADABLE, STATUS_MISSING]
    cities = list(dict.fromkeys(_city_of(p.city) for p in result.parks if p.park is not None or p.current))
    for i in range(max(len(charts) + 1, len(statuses) + 1)):
        ws.column_dimensions[get_column_letter(i + 1)].width = 34 if i == 0 else (26 if i <= len(charts) else 12)
    n = len(rets)
    ws.append([cell(ws, h, font=HEAD_FONT, fill=HEAD_FILL) for h in ("园区", *(c.title for c in charts))])
    for r in rets:
        ws.append([cell(ws, guard.clean(r.park_name, label="园区", file=r.file, park=r.park_name))]
                  + [cell(ws, _num(r.values.get(c.field)), number_format="#,##0.00") for c in charts])
    ws.append([])
    status_head = n + 3
    ws.append([cell(ws, h, font=HEAD_FONT, fill=HEAD_FILL) for h in ["城市", *statuses]])
    for c in cities:
        counts = [sum(1 for p in result.parks if _city_of(p.city) == c and p.status == s) for s in statuses]
        ws.append([cell(ws, guard.clean(c, label="城市"))] + [cell(ws, x) for x in counts])
    # the chart pages: rows of a fixed height (a chart is anchored to a row), a page break before each page
    top = status_head + len(cities) + 1
    pages = (len(charts) if n else 0) + (1 if cities else 0)
    for r in range(top, top + pages * CHART_PAGE_ROWS):
        if (r - top) % CHART_PAGE_ROWS == 0:
            ws.row_breaks.append(Break(id=r - 1))
        ws.row_dimensions[r].height = ROW_PT
        ws.append([])
    page = 0
    if n:
        for i, c in enumerate(charts):
            chart = BarChart()
            chart.type = "bar"
            chart.title = c.title + ("（前30个园区）" if n == 30 else "")
            chart.width, chart.height = CHART_CM
            chart.add_data(Reference(ws, min_col=i + 2, min_row=1, max_row=n + 1), titles_from_data=True)
            chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=n + 1))
            chart.legend = None
            chart.x_axis.scaling.orientation = "maxMin"  # the largest on top, as the table lists them
            chart.y_axis.crosses = "max"  # and the values' axis below the bars
            chart.y_axis.numFmt = NumFmt(formatCode="#,##0.##", sourceLinked=False)  # (the title names the unit)
            ws.add_chart(chart, f"A{top + page * CHART_PAGE_ROWS + 1}")
            page += 1
    if cities:
        chart = BarChart()
        chart.type = "col"
        chart.grouping = "stacked"
        chart.overlap = 100
        chart.title = "各市报送状态"
        chart.add_data(Reference(ws, min_col=2, max_col=1 + len(statuses), min_row=status_head,
                                 max_row=status_head + len(cities)), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=status_head + 1, max_row=status_head + len(cities)))
        for series, status in zip(chart.series, statuses):
            colour = STATUS_COLOURS[status][0]
            series.graphicalProperties.solidFill = colour
            series.graphicalProperties.line.solidFill = colour
        most = max(sum(1 for p in result.parks if _city_of(p.city) == c and p.status in statuses) for c in cities)
        chart.y_axis.numFmt = NumFmt(formatCode="0", sourceLinked=False)  # parks: whole numbers,
        chart.y_axis.majorUnit = max(1, math.ceil(most / 10))  # never a step of half a park
        chart.width, chart.height = CHART_CM
        ws.add_chart(chart, f"A{top + page * CHART_PAGE_ROWS + 1}")
