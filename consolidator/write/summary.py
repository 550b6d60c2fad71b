"""The province-level summary workbook (summary.xlsx), from a checked batch.

Pure: a BatchResult in, an openpyxl workbook out (write-only, so that a national round of
10,000 returns fits in memory). Totals are sums of the parks' parts; every ratio of a total is
recomputed from the summed parts with the same rule expression as in the template (province
亩均税收 = total tax / total developed area in 亩), never averaged across parks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ..check.results import (
    STATUS_ERRORS,
    STATUS_MISSING,
    STATUS_PASSED,
    STATUS_SUPERSEDED,
    STATUS_UNREADABLE,
    STATUS_WARNINGS,
    BatchResult,
    CheckedReturn,
)
from ..findings import COLUMNS_ZH, FINDING_COLUMNS, SEVERITY_ZH, Finding
from ..rules import Field, Form
from .styles import BODY_FONT, CENTER, HEAD_FILL, HEAD_FONT
from .template import number_format
from .xlsx import LazyRows, TextGuard, cell, defer_rows, fit_widths, style_id

EXCLUDED_FONT = Font(name="宋体", size=10, color="808080")
PROVINCE = "全省合计"
IDENTITY = ["序号", "园区名称", "所在省市", "所在区县", "类别", "状态", "计入合计", "错误数", "警告数", "填写日期", "来源文件"]


@dataclass
class Column:
    field: Field
    group: str

    @property
    def header(self) -> str:
        return self.field.display_label


def included(result: BatchResult, include_errors: bool) -> list[CheckedReturn]:
    """The returns the totals are made of: the newest of each park, accepted (or, when asked, all)."""
    ok = {STATUS_PASSED, STATUS_WARNINGS} | ({STATUS_ERRORS} if include_errors else set())
    return [r for r in result.returns if r.status in ok]


def current(result: BatchResult) -> list[CheckedReturn]:
    return [r for r in result.returns if r.status in (STATUS_PASSED, STATUS_WARNINGS, STATUS_ERRORS)]


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
                    cols.append(Column(f, group))
                    if f.note_field and fid == form.families[fam][-1]:
                        cols.append(Column(form.fields[f.note_field], group))
    return cols


def shared_blocks(forms: dict[str, Form]) -> set[tuple[str, str]]:
    sets = [{(s.id, b.id) for s in f.sheets for b in s.blocks} for f in forms.values()]
    return set.intersection(*sets)


def _row_values(ret: CheckedReturn, cols: list[Column], guard: TextGuard) -> list:
    out = []
    for c in cols:
        v = ret.values.get(c.field.id)
        if isinstance(v, float) and np.isnan(v):
            v = None
        out.append(guard.clean(v, label=c.header, file=ret.file, park=ret.park_name))
    return out


def _identity(n: int, ret: CheckedReturn, counted: bool, guard: TextGuard) -> list:
    counts = ret.counts()
    county = ret.park.county if ret.park else ret.values.get(ret.form.roles["county"])
    row = [n, ret.park_name, ret.city, county, ret.form.category_name, ret.status, "是" if counted else "否",
           counts["error"], counts["warning"], ret.fill_date, ret.file]
    return [guard.clean(v, label=IDENTITY[i], file=ret.file, park=ret.park_name) for i, v in enumerate(row)]


def _write_table(wb: Workbook, title: str, groups: list[str] | None, headers: list[str], rows: Sequence[list],
                 formats: list[str | None] | None = None, *, freeze_cols: int = 2, fonts=None, guard=None,
                 widths_max=40, note: str | None = None) -> None:
    ws = wb.create_sheet(title)
    sample = [headers] + rows[:200]
    for i, w in enumerate(fit_widths(sample, maximum=widths_max), start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    head_rows = int(bool(note)) + int(bool(groups)) + 1
    # a write-only sheet writes its view (the frozen panes) when the first row arrives
    ws.freeze_panes = f"{get_column_letter(freeze_cols + 1)}{head_rows + 1}"
    ws.auto_filter.ref = f"A{head_rows}:{get_column_letter(max(len(headers), 1))}{head_rows + max(len(rows), 1)}"
    if note:
        ws.append([cell(ws, note, font=Font(name="宋体", size=10, color="595959"), border=None)])
    if groups:
        ws.append([cell(ws, g, font=HEAD_FONT, fill=HEAD_FILL, alignment=CENTER) for g in groups])
    ws.append([cell(ws, h, font=HEAD_FONT, fill=HEAD_FILL, alignment=CENTER) for h in headers])
    # Data rows go straight into the sheet's XML when the book is saved (xlsx.defer_rows): at 10,000
    # returns the enterprise list alone has millions of cells. A cell gets a style only where it needs a
    # number format or the row's font, from one prototype per (format, font).
    protos: dict[tuple, int] = {}  # registered now: the book's styles are written before the rows
    row_fonts = list({id(f): f for f in fonts or () if f is not None}.values())
    for fmt in {*(formats or ()), "yyyy-mm-dd", None}:
        for font in (None, *row_fonts):
            if fmt is not None or font is not None:
                protos[(fmt, id(font))] = style_id(ws, cell(ws, None, border=None, font=font or BODY_FONT,
                                                            number_format=fmt))

    def style_of(r: int, i: int, v) -> int:
        font = fonts[r] if fonts else None
        fmt = formats[i] if formats and i < len(formats) else None
        if isinstance(v, (dt.date, dt.datetime)):
            fmt = "yyyy-mm-dd"
        if not (fmt is not None and isinstance(v, (int, float, dt.date)) and not isinstance(v, bool)):
            fmt = None
        if fmt is None and font is None:
            return 0
        return protos[(fmt, id(font))]

    defer_rows(ws, head_rows + 1, rows, style_of)
    ws.print_options.gridLines = False
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"1:{head_rows}"


def _groups_row(prefix: int, cols: list[Column]) -> list[str]:
    groups = [""] * prefix
    last = None
    for c in cols:
        groups.append(c.group if c.group != last else "")
        last = c.group
    return groups


# ---- totals ------------------------------------------------------------------------------------
def totals(rets: list[CheckedReturn], form: Form, by: str | None) -> pd.DataFrame:
    """Sum of the additive fields of `rets` (per city when by="city"), derived fields recomputed from
    the summed parts; fields that cannot be added up (and ratios that need them) are NaN."""
    numeric = [f.id for f in form.fields.values() if f.is_numeric and not f.explains]
    frame = pd.DataFrame([{fid: r.values.get(fid) for fid in numeric} | {"city": r.city or "（未填写）"}
                          for r in rets])
    if frame.empty:
        return frame
    for fid in numeric:
        frame[fid] = pd.to_numeric(frame[fid], errors="coerce").astype(float)
    additive = [fid for fid in numeric if form.is_additive(fid)]
    if by:
        agg = frame.groupby(by, sort=True)[additive].sum(min_count=1)
        agg.insert(0, "parks", frame.groupby(by).size())
    else:
        agg = frame[additive].sum(min_count=1).to_frame().T
        agg.insert(0, "parks", len(frame))
        agg.index = [PROVINCE]
    for fid in numeric:
        if fid not in agg:
            agg[fid] = np.nan
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
                  generated: dt.datetime | None = None) -> tuple[Workbook, list[Finding]]:
    guard = TextGuard()
    wb = Workbook(write_only=True)
    counted = {id(r) for r in included(result, include_errors)}
    cur = sorted(current(result), key=lambda r: (_roster_order(r), r.park_name))
    first = next(iter(forms.values()))
    shared = shared_blocks(forms)
    shared_cols = _columns(first, shared, shared=True)

    # 汇总
    rows, fonts = [], []
    for n, r in enumerate(cur, start=1):
        rows.append(_identity(n, r, id(r) in counted, guard) + _row_values(r, shared_cols, guard))
        fonts.append(None if id(r) in counted else EXCLUDED_FONT)
    formats = [None] * len(IDENTITY) + [number_format(c.field) if c.field.is_numeric else None for c in shared_cols]
    note = (f"{first.title}报送汇总（生成时间：{(generated or dt.datetime.now()):%Y-%m-%d %H:%M}）。"
            + ("有错误的报送也计入合计（计入合计列标为“是”）。" if include_errors else "有错误的报送不计入合计，以灰色显示。"))
    _write_table(wb, "汇总", _groups_row(len(IDENTITY), shared_cols), IDENTITY + [c.header for c in shared_cols],
                 rows, formats, freeze_cols=2, fonts=fonts, note=note)

    # one sheet per category with its own block
    for form in forms.values():
        cols = _columns(form, shared, shared=False)
        rets = [r for r in cur if r.form is form]
        rows = [_identity(n, r, id(r) in counted, guard) + _row_values(r, cols, guard) for n, r in enumerate(rets, start=1)]
        fonts = [None if id(r) in counted else EXCLUDED_FONT for r in rets]
        formats = [None] * len(IDENTITY) + [number_format(c.field) if c.field.is_numeric else None for c in cols]
        _write_table(wb, form.category_name[:31], _groups_row(len(IDENTITY), cols), IDENTITY + [c.header for c in cols],
                     rows, formats, freeze_cols=2, fonts=fonts)

    _city_sheet(wb, result, forms, include_errors, shared_cols)
    _list_sheet(wb, result, guard)
    _shared_sheet(wb, result, guard)
    _status_sheet(wb, result, counted, guard)
    _chart_sheet(wb, result, counted, first, guard)
    # 问题清单 last, with what writing this workbook had to change
    findings = [*result.skipped, *result.findings, *guard.findings]
    headers = [COLUMNS_ZH[c] for c in FINDING_COLUMNS]
    rows = []
    for f in findings:
        d = f.as_dict()
        d["severity"] = SEVERITY_ZH[f.severity]
        rows.append([guard.clean(d[c]) for c in FINDING_COLUMNS])
    _write_table(wb, "问题清单", None, headers, rows, freeze_cols=0, widths_max=60)
    return wb, guard.findings


def _roster_order(r: CheckedReturn) -> int:
    return r.park.row if r.park else 10**9


def _city_sheet(wb, result, forms, include_errors, shared_cols) -> None:
    rets = included(result, include_errors)
    first = next(iter(forms.values()))
    num_cols = [c for c in shared_cols if c.field.is_numeric and not c.field.explains]
    headers = ["城市", "园区数"] + [c.header for c in num_cols]
    formats = [None, "0"] + [number_format(c.field) for c in num_cols]
    groups = ["", ""] + [g for g in _groups_row(0, num_cols)]
    blocks = {}
    for cid, form in forms.items():
        own = [c for c in _columns(form, shared_blocks(forms), shared=False) if c.field.is_numeric
               and not c.field.explains]
        if own:
            blocks[cid] = own
            headers += [f"{form.category_name}园区数"] + [c.header for c in own]
            formats += ["0"] + [number_format(c.field) for c in own]
            groups += [form.category_name] + [""] * len(own)
    by_city = totals(rets, first, "city")
    province = totals(rets, first, None)
    cat_city = {cid: totals([r for r in rets if r.form.category_id == cid], forms[cid], "city") for cid in blocks}
    cat_prov = {cid: totals([r for r in rets if r.form.category_id == cid], forms[cid], None) for cid in blocks}
    rows, fonts = [], []
    cities = list(by_city.index) if len(by_city) else []
    for key, frame, cats in [(c, by_city, cat_city) for c in cities] + [(PROVINCE, province, cat_prov)]:
        if frame.empty:
            continue
        row = [key, int(frame.at[key, "parks"])] + [_num(frame.at[key, c.field.id]) for c in num_cols]
        for cid, own in blocks.items():
            cf = cats[cid]
            present = not cf.empty and key in cf.index
            row += [int(cf.at[key, "parks"]) if present else 0]
            row += [_num(cf.at[key, c.field.id]) if present else None for c in own]
        rows.append(row)
        fonts.append(Font(name="黑体", size=10, bold=True) if key == PROVINCE else None)
    _write_table(wb, "分市统计", groups, headers, rows, formats, freeze_cols=2, fonts=fonts,
                 note=_not_aggregable_note(first))


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

        def park_text(column: list) -> list:
            return [guard.clean(v, file=rets[i].file, park=rets[i].park_name, label="企业清单")
                    for v, i in zip(column, ret_ids)]

        def shown(c) -> list:  # a category as its label (the text as typed where it names none)
            if c.type == "choice":
                return [a or b for a, b in zip(lists[c.id + "_label"].tolist(), lists[c.id + "_raw"].tolist())]
            return lists[c.id].tolist()

        texts = [park_text(shown(c)) for c in columns]
        code_list = texts[[c.id for c in columns].index(key)] if key else [""] * len(ret_ids)

        def row(k: int) -> list:
            i = ret_ids[k]
            name, city, cat, file = per_ret[i]
            code = code_list[k]
            return [name, city, cat, *(t[k] for t in texts), others.get(code), file]

        rows = LazyRows(len(ret_ids), row)
    # a sheet holds 1,048,576 rows: a longer list goes on over further sheets
    per_sheet = MAX_SHEET_ROWS - 1
    for k in range(0, max(len(rows), 1), per_sheet):
        title = "企业清单汇总" if k == 0 else f"企业清单汇总（{k // per_sheet + 1}）"
        part = rows if len(rows) <= per_sheet else LazyRows(min(per_sheet, len(rows) - k), lambda j, k=k: rows[k + j])
        _write_table(wb, title, None, headers, part, freeze_cols=2)


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


def _status_sheet(wb, result: BatchResult, counted: set[int], guard: TextGuard) -> None:
    headers = ["园区名称", "所在省市", "所在区县", "类别", "状态", "计入合计", "最新报送填写日期", "最新报送文件", "报送文件数",
               "错误数", "警告数", "已被替代的文件"]
    rows = []
    for p in result.parks:
        cur = p.current
        counts = cur.counts() if cur else {"error": "", "warning": ""}
        county = p.park.county if p.park else (cur.values.get(cur.form.roles["county"]) if cur else "")
        row = [p.name, p.city, county, p.category, p.status, "是" if cur is not None and id(cur) in counted else "否",
               cur.fill_date if cur else None, cur.file if cur else "", len(p.files), counts["error"],
               counts["warning"], "、".join(r.file for r in p.files if r.status == STATUS_SUPERSEDED)]
        rows.append([guard.clean(v, label=headers[i], park=p.name) for i, v in enumerate(row)])
    _write_table(wb, "报送情况", None, headers, rows, freeze_cols=1)


def _chart_sheet(wb, result: BatchResult, counted: set[int], form: Form, guard: TextGuard) -> None:
    """The charts of rules/common.yaml (summary.charts) over the 30 largest parks by the first, and the
    statuses by city."""
    ws = wb.create_sheet("图表")
    charts = form.summary.charts
    rets = sorted((r for r in result.returns if id(r) in counted),
                  key=lambda r: -(r.values.get(charts[0].field) or 0))[:30] if charts else []
    for i in range(len(charts) + 1):
        ws.column_dimensions[get_column_letter(i + 1)].width = 16 if i else 34
    ws.append([cell(ws, h, font=HEAD_FONT, fill=HEAD_FILL) for h in ("园区", *(c.title for c in charts))])
    for r in rets:
        ws.append([cell(ws, guard.clean(r.park_name, label="园区", file=r.file, park=r.park_name))]
                  + [cell(ws, _num(r.values.get(c.field)), number_format="#,##0.00") for c in charts])
    n = len(rets)
    status_start = n + 3
    statuses = [STATUS_PASSED, STATUS_WARNINGS, STATUS_ERRORS, STATUS_UNREADABLE, STATUS_MISSING]
    for _ in range(2):
        ws.append([])
    ws.append([cell(ws, h, font=HEAD_FONT, fill=HEAD_FILL) for h in ["城市", *statuses]])
    cities = sorted({p.city or "（未填写）" for p in result.parks})
    for c in cities:
        counts = [sum(1 for p in result.parks if (p.city or "（未填写）") == c and p.status == s) for s in statuses]
        ws.append([cell(ws, guard.clean(c, label="城市"))] + [cell(ws, x) for x in counts])
    column = get_column_letter(len(charts) + 3)  # beside the table, after a blank column
    if n:
        for i, c in enumerate(charts):
            chart = BarChart()
            chart.type = "bar"
            chart.title = c.title + ("（前30个园区）" if n == 30 else "")
            chart.height, chart.width = 9 + n * 0.25, 18
            chart.add_data(Reference(ws, min_col=i + 2, min_row=1, max_row=n + 1), titles_from_data=True)
            chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=n + 1))
            chart.legend = None
            chart.y_axis.title = c.title
            ws.add_chart(chart, f"{column}{2 + 20 * i}")
    if cities:
        chart = BarChart()
        chart.type = "col"
        chart.grouping = "stacked"
        chart.overlap = 100
        chart.title = "各市报送状态"
        header_row = status_start + 1
        chart.add_data(Reference(ws, min_col=2, max_col=1 + len(statuses), min_row=header_row,
                                 max_row=header_row + len(cities)), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=header_row + 1, max_row=header_row + len(cities)))
        chart.height, chart.width = 9, 18
        ws.add_chart(chart, f"{column}{2 + 20 * len(charts)}")
