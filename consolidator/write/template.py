"""Build the workbook that parks fill, from a compiled Form.

Everything in the workbook comes from the Form: the sheets and their order, every label, hint and
footnote, the input cells, the live formulas of computed indicators, the drop-downs and number
validation, the conditional formatting that turns a cell red (强制性) or orange (核实性) while the
park types, and the 校验提示 column that says why.

Every field's cell carries a workbook-level defined name (`fld_<field id>`). Excel, WPS and
LibreOffice move defined names along when rows are inserted or sheets renamed, so the checker
finds every field in a park's edited copy; the formulas use the same names, so they keep working
too. The template's identity (category, version, rule fingerprint and, for personal copies, the
park) is kept in a very hidden sheet and in the workbook's custom properties.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from ..rules import Block, Field, Form
from ..rules.workbook import LIST_PREFIX, META_KEYS, META_SHEET, NAME_PREFIX, PROPERTY_PREFIX
from ..expr.excel import literal, string_literal
from ..expr.text import excel_char_count
from .styles import (BORDER, DERIVED_FILL, ERROR_STYLE, FONT_BODY, FONT_HEAD, HEAD_FILL, INPUT_FILL, LOCKED,
                     UNLOCKED, WARN_STYLE, rows_height)


# Columns of the form sheets: A block title, B label, C-E values, F 情况说明, G 校验提示.
COL_BLOCK, COL_LABEL, COL_V1, COL_V3, COL_NOTE, COL_CHECK = 1, 2, 3, 5, 6, 7
WIDTHS = {1: 14, 2: 34, 3: 15, 4: 15, 5: 15, 6: 24, 7: 44}
PRINT_LAST_COL = COL_NOTE
MAX_ROW_PT = 400.0



@dataclass
class Layout:
    """Where each field's value cell is: field id -> (sheet title, "C5")."""

    cells: dict[str, tuple[str, str]] = field(default_factory=dict)
    # field id -> (sheet, coordinate, text) of the label the value cell is found beside: the reader's
    # fallback when the defined names are gone (a form pasted into a fresh workbook)
    anchors: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    list_columns: dict[str, tuple[str, str]] = field(default_factory=dict)  # column id -> (sheet, "B4:B2003")
    list_first_row: int = 0


def template_filename(form: Form) -> str:
    return f"{form.title}{form.subtitle}（{form.category_name}）.xlsx"


def field_name(fid: str) -> str:
    return NAME_PREFIX + fid


def build_workbook(form: Form, *, park: dict[str, str] | None = None) -> tuple[Workbook, Layout]:
    """The fill-in workbook for `form`. With `park` (park_id, park_name and field values such as
    province_city, county), a personal copy: those values are filled in and locked."""
    return _Builder(form, park or {}).build()


def workbook_bytes(form: Form, *, park: dict[str, str] | None = None) -> bytes:
    """The workbook as .xlsx bytes, identical for identical rules (fixed timestamps)."""
    wb, _ = build_workbook(form, park=park)
    buf = io.BytesIO()
    wb.save(buf)
    return _normalise_zip(buf.getvalue(), form.created.strftime("%Y-%m-%dT%H:%M:%SZ"))


def filled_workbook_bytes(form: Form, values: dict[str, object], enterprises: Iterable[dict[str, str]] = (),
                          *, park: dict[str, str] | None = None,
                          edit: Callable[[Workbook, Layout], None] | None = None) -> bytes:
    """A template filled in as a park would: `values` by field id, `enterprises` as list rows
    (keys are the list's column ids); `edit` may then change the workbook the way parks do
    (overwrite a formula, retype a label). Used for sample data, tests and benchmarks."""
    wb, layout = build_workbook(form, park=park)
    for fid, value in values.items():
        if form.fields[fid].is_derived:
            raise ValueError(f"{fid} is computed by the workbook and cannot be filled")
        sheet, coord = layout.cells[fid]
        wb[sheet][coord].value = value
    rows = list(enterprises)
    if len(rows) > form.enterprise_list.rows:
        raise ValueError(f"{len(rows)} enterprises do not fit the {form.enterprise_list.rows} list rows")
    for i, row in enumerate(rows):
        for cid, value in row.items():
            sheet, rng = layout.list_columns[cid]
            col = re.match(r"[A-Z]+", rng).group()
            wb[sheet][f"{col}{layout.list_first_row + i}"].value = value
    if edit is not None:
        edit(wb, layout)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---- helpers -----------------------------------------------------------------------------------
def _q(sheet_title: str, coord: str) -> str:
    col, row = re.match(r"([A-Z]+)(\d+)", coord).groups()
    return f"{quote_sheetname(sheet_title)}!${col}${row}"


def number_format(f: Field) -> str:
    if f.type == "integer":
        return "0"
    if f.type == "date":
        return 'yyyy"年"m"月"d"日"'
    if f.type == "number":
        d = 2 if f.decimals is None else f.decimals
        return "#,##0" + ("." + "0" * d if d else "")
    return "@"


def header_cell(ws: Worksheet, row: int, col: int, text: str, *, color: str | None = None):
    """A table header: bold, centred, shaded, bordered."""
    c = ws.cell(row=row, column=col, value=text)
    c.font = Font(name=FONT_HEAD, size=11, bold=True, color=color)
    c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    c.fill = HEAD_FILL
    c.border = BORDER
    return c


@dataclass
class _Check:
    """One condition shown in the 校验提示 column and as conditional formatting."""

    cell: str  # coordinate on the sheet
    condition: str  # Excel formula, TRUE when the problem is present
    message: str
    severity: str  # error | warning
    note: str | None = None  # the 情况说明 name that silences a warning


class _Builder:
    def __init__(self, form: Form, park: dict[str, str]):
        self.form, self.park = form, park
        self.wb = Workbook()
        self.layout = Layout()
        self.row_checks: dict[tuple[str, int], list[_Check]] = {}
        self.pending_validations: list[tuple[Worksheet, Field, str]] = []

    # -- entry
    def build(self) -> tuple[Workbook, Layout]:
        wb = self.wb
        wb.remove(wb.active)
        for sheet in self.form.sheets:
            ws = wb.create_sheet(sheet.title)
            self.form_sheet(ws, sheet)
        self.list_sheet()
        self.meta_sheet()
        self.define_names()
        for ws, f, coord in self.pending_validations:
            self.validation(ws, f, coord)
        self.rule_checks()
        self.emit_checks()
        self.properties()
        wb.active = 0
        wb.security = WorkbookProtection(lockStructure=True)
        return wb, self.layout

    def ref(self, fid: str) -> str:
        return field_name(fid)

    def is_text(self, fid: str) -> bool:
        return not (self.form.fields[fid].is_numeric or self.form.fields[fid].type == "date")

    def list_count(self, cid: str) -> str:
        cat = self.form.enterprise_list.category(cid)
        return f"COUNTIF({LIST_PREFIX}category,{string_literal(cat.label)})"

    # -- the form sheets
    def form_sheet(self, ws: Worksheet, sheet) -> None:
        for col, width in WIDTHS.items():
            ws.column_dimensions[get_column_letter(col)].width = width
        ws.sheet_view.showGridLines = False
        row = 1
        if sheet.heading:
            row = self.title_row(ws, row, sheet.heading, size=16)
        for block in sheet.blocks:
            row = self.block(ws, row, block)
            row += 1
        if any(b.kind != "text" for b in sheet.blocks):
            head = ws.cell(row=1, column=COL_CHECK, value="校验提示（此列不打印）")
            head.font = Font(name=FONT_HEAD, size=11, bold=True, color="C00000")
            head.alignment = Alignment(vertical="center")
        self.setup_sheet(ws)
        self.print_setup(ws, f"A1:{get_column_letter(PRINT_LAST_COL)}{max(row - 1, 1)}")

    def title_row(self, ws, row, text, size=14, height=None) -> int:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=PRINT_LAST_COL)
        c = ws.cell(row=row, column=1, value=text)
        c.font = Font(name=FONT_HEAD, size=size, bold=True)
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.row_dimensions[row].height = height or max(size * 1.8, rows_height(text, 110, size))
        return row + 1

    def paragraph(self, ws, row, text, *, style="normal", first_col=1) -> int:
        ws.merge_cells(start_row=row, start_column=first_col, end_row=row, end_column=PRINT_LAST_COL)
        c = ws.cell(row=row, column=first_col, value=text)
        size = {"heading": 12, "note": 9}.get(style, 11)
        c.font = Font(name=FONT_HEAD if style == "heading" else FONT_BODY, size=size, bold=style == "heading",
                      color="595959" if style == "note" else None)
        c.alignment = Alignment(wrap_text=True, vertical="top")
        width = sum(WIDTHS[i] for i in range(first_col, PRINT_LAST_COL + 1))
        ws.row_dimensions[row].height = rows_height(text, width, size)
        return row + 1

    def block(self, ws, row, block: Block) -> int:
        if block.kind == "text":
            if block.title:
                row = self.title_row(ws, row, block.title, size=16)
            for p in block.paragraphs:
                row = self.paragraph(ws, row, p.text, style=p.style)
            return row
        start = row
        for line in (block.intro or "").split("\n") if block.intro else []:
            row = self.paragraph(ws, row, line, first_col=COL_LABEL) if line else row
        if block.kind == "years":
            row = self.years_block(ws, row, block)
        elif block.kind == "repeat":
            row = self.repeat_block(ws, row, block)
        else:
            row = self.fields_block(ws, row, block)
        if block.footnote:
            row = self.paragraph(ws, row, f"注：{block.footnote.text}", style="note", first_col=COL_LABEL)
        if block.outro:
            row = self.paragraph(ws, row, block.outro, first_col=COL_LABEL)
        # The block's title stands in column A beside all its rows, as in the form.
        if block.title:
            if row - 1 > start:
                ws.merge_cells(start_row=start, start_column=COL_BLOCK, end_row=row - 1, end_column=COL_BLOCK)
            c = ws.cell(row=start, column=COL_BLOCK, value=block.title)
            c.font = Font(name=FONT_HEAD, size=11, bold=True)
            c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            c.fill = HEAD_FILL
            for r in range(start, row):
                ws.cell(row=r, column=COL_BLOCK).border = BORDER
        return row

    def anchor(self, ws, coord: str, text: str, *fids: str) -> None:
        for fid in fids:
            self.layout.anchors[fid] = (ws.title, coord, text)

    def label_cell(self, ws, row, f: Field, text: str | None = None, col=COL_LABEL):
        label = text or f.label
        c = ws.cell(row=row, column=col, value=label)
        self.anchor(ws, c.coordinate, label, *self.form.families[f.family])
        if f.note_field:
            self.anchor(ws, c.coordinate, label, f.note_field)
        c.font = Font(name=FONT_BODY, size=11, color="404040" if f.part_of else None)
        c.alignment = Alignment(wrap_text=True, vertical="center", indent=2 if f.part_of else 0)
        c.border = BORDER
        return c

    def value_cell(self, ws, row, col, f: Field, *, end_col=None, end_row=None):
        coord = f"{get_column_letter(col)}{row}"
        if end_col or end_row:
            ws.merge_cells(start_row=row, start_column=col, end_row=end_row or row, end_column=end_col or col)
        c = ws.cell(row=row, column=col)
        for r in range(row, (end_row or row) + 1):
            for cc in range(col, (end_col or col) + 1):
                ws.cell(row=r, column=cc).border = BORDER
        c.number_format = number_format(f)
        c.font = Font(name=FONT_BODY, size=11)
        wrap = f.type in ("text", "longtext", "choice")
        c.alignment = Alignment(wrap_text=wrap, vertical="top" if f.type == "longtext" else "center",
                                horizontal="left" if wrap else "right" if f.is_numeric else None)
        prefilled = f.id in self.park
        if f.is_derived:
            c.value = f.formula.excel_value_formula(self.ref, self.is_text, self.list_count)
            c.fill = DERIVED_FILL
            c.protection = LOCKED
        elif prefilled:
            c.value = self.park[f.id]
            c.fill = DERIVED_FILL
            c.protection = LOCKED
        else:
            c.fill = INPUT_FILL
            c.protection = UNLOCKED
            for r in range(row, (end_row or row) + 1):
                for cc in range(col, (end_col or col) + 1):
                    ws.cell(row=r, column=cc).protection = UNLOCKED
                    ws.cell(row=r, column=cc).fill = INPUT_FILL
            self.pending_validations.append((ws, f, coord))
        self.layout.cells[f.id] = (ws.title, coord)
        self.field_checks(ws, row, f, coord)
        return c

    def hint_rows(self, ws, row, f: Field) -> int:
        if f.hint and f.type != "longtext":
            row = self.paragraph(ws, row, f.hint, style="note", first_col=COL_LABEL)
        if f.footnote:
            row = self.paragraph(ws, row, f"注：{f.footnote.text}", style="note", first_col=COL_LABEL)
        return row

    def note_cell(self, ws, row, f: Field, col=COL_NOTE, end_col=None, end_row=None):
        note = self.form.fields[f.note_field]
        self.value_cell(ws, row, col, note, end_col=end_col, end_row=end_row)

    def fields_block(self, ws, row, block: Block) -> int:
        for family in block.families:
            f = self.form.fields[self.form.families[family][0]]
            if f.type == "longtext":
                row = self.longtext(ws, row, f)
                continue
            self.label_cell(ws, row, f, text=("计算用：" + f.label) if f.part_of else None)
            self.value_cell(ws, row, COL_V1, f, end_col=COL_V3)
            ws.row_dimensions[row].height = max(rows_height(f.label, WIDTHS[COL_LABEL]), 20)
            if f.note_field:
                self.note_cell(ws, row, f)
            else:
                ws.cell(row=row, column=COL_NOTE).border = BORDER
            row = self.hint_rows(ws, row + 1, f)
        return row

    def longtext(self, ws, row, f: Field) -> int:
        self.label_cell(ws, row, f)
        hint = f.hint or ""
        if f.max_chars:
            hint += f"（原则上不超过{f.max_chars}字）" if str(f.max_chars) not in hint else ""
        ws.merge_cells(start_row=row, start_column=COL_V1, end_row=row, end_column=COL_NOTE)
        h = ws.cell(row=row, column=COL_V1, value=hint or None)
        h.font = Font(name=FONT_BODY, size=9, color="595959")
        h.alignment = Alignment(wrap_text=True, vertical="center")
        ws.row_dimensions[row].height = max(rows_height(hint, sum(WIDTHS[i] for i in range(3, 7)), 9),
                                            rows_height(f.label, WIDTHS[COL_LABEL]), 20)
        row += 1
        width = sum(WIDTHS[i] for i in range(COL_LABEL, COL_NOTE + 1))
        chars = f.max_chars or 500
        total = rows_height("字" * chars, width) * 1.1
        n = max(1, math.ceil(total / MAX_ROW_PT))
        self.value_cell(ws, row, COL_LABEL, f, end_col=COL_NOTE, end_row=row + n - 1)
        for r in range(row, row + n):
            ws.row_dimensions[r].height = min(MAX_ROW_PT, max(total / n, 60))
        row += n
        if f.footnote:
            row = self.paragraph(ws, row, f"注：{f.footnote.text}", style="note", first_col=COL_LABEL)
        if f.note_field:
            note = self.form.fields[f.note_field]
            self.label_cell(ws, row, note, text=f"{note.label}（字数超出时填写）")
            self.value_cell(ws, row, COL_V1, note, end_col=COL_NOTE)
            ws.row_dimensions[row].height = 30
            row += 1
        return row

    def years_block(self, ws, row, block: Block) -> int:
        heads = ["指标", *[f"{y}年" for y in self.form.years], "情况说明"]
        for i, text in enumerate(heads):
            header_cell(ws, row, COL_LABEL + i, text)
        hc = ws.cell(row=row, column=COL_CHECK, value="校验提示")
        hc.font = Font(name=FONT_HEAD, size=11, bold=True, color="C00000")
        ws.row_dimensions[row].height = 20
        row += 1
        assert len(self.form.years) == COL_V3 - COL_V1 + 1, "the year table has three value columns"
        for family in block.families:
            members = [self.form.fields[fid] for fid in self.form.families[family]]
            first = members[0]
            self.label_cell(ws, row, first, text=("计算用：" + first.label) if first.part_of else None)
            for i, f in enumerate(members):
                self.value_cell(ws, row, COL_V1 + i, f)
            if first.note_field:
                self.note_cell(ws, row, first)
            else:
                ws.cell(row=row, column=COL_NOTE).border = BORDER
            ws.row_dimensions[row].height = max(rows_height(first.label, WIDTHS[COL_LABEL]), 20)
            row = self.hint_rows(ws, row + 1, first)
        return row

    def repeat_block(self, ws, row, block: Block) -> int:
        families = block.families
        span = COL_NOTE - COL_V1 + 1
        assert len(families) <= span, "a repeated row holds at most four fields"
        width = span // len(families)
        heads = [(COL_LABEL, COL_LABEL, block.number_label or "序号")]
        for i, fam in enumerate(families):
            s = COL_V1 + i * width
            e = COL_NOTE if i == len(families) - 1 else s + width - 1
            heads.append((s, e, self.form.fields[self.form.families[fam][0]].label))
            self.anchor(ws, f"{get_column_letter(s)}{row}", heads[-1][2], *self.form.families[fam])
        for s, e, text in heads:
            if e > s:
                ws.merge_cells(start_row=row, start_column=s, end_row=row, end_column=e)
            c = ws.cell(row=row, column=s, value=text)
            c.font = Font(name=FONT_HEAD, size=11, bold=True)
            c.alignment = Alignment(horizontal="center", vertical="center")
            c.fill = HEAD_FILL
            for cc in range(s, e + 1):
                ws.cell(row=row, column=cc).border = BORDER
        row += 1
        for n in range(1, block.count + 1):
            c = ws.cell(row=row, column=COL_LABEL, value=n)
            c.alignment = Alignment(horizontal="center", vertical="center")
            c.border = BORDER
            for (s, e, _), fam in zip(heads[1:], families):
                self.value_cell(ws, row, s, self.form.fields[self.form.families[fam][n - 1]], end_col=e)
            ws.row_dimensions[row].height = 20
            row += 1
        return row

    # -- checks shown while filling
    def add_check(self, ws, row: int, check: _Check) -> None:
        self.row_checks.setdefault((ws.title, row), []).append(check)

    def field_checks(self, ws, row: int, f: Field, coord: str) -> None:
        if f.explains:
            return
        name = self.ref(f.id)
        prefix = f"{f.year}年" if f.year else ""
        if f.is_numeric:
            if not f.is_derived:
                self.add_check(ws, row, _Check(coord, f"AND(LEN(TRIM({name}))>0,NOT(ISNUMBER({name})))",
                                               f"{prefix}请填写数字（不带单位）", "error"))
            if f.type == "integer" and not f.is_derived:
                self.add_check(ws, row, _Check(coord, f"AND(ISNUMBER({name}),{name}<>INT({name}))",
                                               f"{prefix}应为整数", "error"))
            if f.range is not None:
                self.add_check(ws, row, _Check(
                    coord, f"AND(ISNUMBER({name}),NOT({f.range.excel(name)}))",
                    f"{prefix}应{f.range.describe(f.unit)}", "error"))
            if f.plausible is not None:
                self.add_check(ws, row, _Check(
                    coord, f"AND(ISNUMBER({name}),NOT({f.plausible.excel(name)}))",
                    f"{prefix}通常{f.plausible.describe(f.unit)}，请核实并在情况说明中写明原因", "warning",
                    note=self.ref(f.note_field) if f.note_field else None))
        elif f.format == "email":
            self.add_check(ws, row, _Check(
                coord, f'AND(LEN(TRIM({name}))>0,ISERROR(FIND("@",{name})))', "电子邮箱格式不对", "error"))
        elif f.format == "phone":
            digits = f'SUBSTITUTE(SUBSTITUTE(SUBSTITUTE({name}," ",""),"-",""),"+86","")'
            self.add_check(ws, row, _Check(
                coord, f"AND(LEN(TRIM({name}))>0,OR(LEN({digits})<7,LEN({digits})>12))",
                "电话号码位数不对（手机11位，座机如0512-66681234）", "error"))
        if f.max_chars:
            self.add_check(ws, row, _Check(
                coord, f"{excel_char_count(name)}>{f.max_chars}",
                f"原则上不超过{f.max_chars}字，请精简或在情况说明中说明", "warning",
                note=self.ref(f.note_field) if f.note_field else None))

    def rule_checks(self) -> None:
        for rule in self.form.rules:
            sheet, coord = self.layout.cells[rule.target]
            target = self.form.fields[rule.target]
            row = int(re.sub(r"[A-Z]+", "", coord))
            condition = rule.check.excel_violation_formula(self.ref, self.is_text, self.list_count)
            note = self.ref(target.note_field) if target.note_field and rule.severity == "warning" else None
            self.add_check(self.wb[sheet], row, _Check(coord, condition, rule.message, rule.severity, note))

    def emit_checks(self) -> None:
        """Conditional formatting on each checked cell, and the 校验提示 text of each row."""
        for (sheet, row), checks in self.row_checks.items():
            ws = self.wb[sheet]
            by_cell: dict[str, list[_Check]] = {}
            pieces = []
            for ch in checks:
                by_cell.setdefault(ch.cell, []).append(ch)
                cond = ch.condition
                if ch.note:
                    cond = f"AND({cond},LEN(TRIM({ch.note}))=0)"
                mark = "【错误】" if ch.severity == "error" else "【请核实】"
                pieces.append(f"IF({cond},{string_literal(mark + ch.message + ' ')},\"\")")
            for coord, cell_checks in by_cell.items():
                for severity, style in (("error", ERROR_STYLE), ("warning", WARN_STYLE)):
                    conds = []
                    for ch in cell_checks:
                        if ch.severity != severity:
                            continue
                        conds.append(f"AND({ch.condition},LEN(TRIM({ch.note}))=0)" if ch.note else ch.condition)
                    if not conds:
                        continue
                    formula = conds[0] if len(conds) == 1 else f"OR({','.join(conds)})"
                    rng = self._merged_range(ws, coord)
                    ws.conditional_formatting.add(rng, FormulaRule(formula=[formula], stopIfTrue=True,
                                                                   fill=style.fill, font=style.font))
            cell = ws.cell(row=row, column=COL_CHECK)
            cell.value = "=" + "&".join(pieces)
            cell.font = Font(name=FONT_BODY, size=10, color="C00000")
            cell.alignment = Alignment(wrap_text=True, vertical="center")

    @staticmethod
    def _merged_range(ws, coord: str) -> str:
        """The merged range a cell starts, or the cell itself (values live in the top-left cell)."""
        for rng in ws.merged_cells.ranges:
            if rng.start_cell.coordinate == coord:
                return rng.coord
        return coord

    # -- validation
    def validation(self, ws: Worksheet, f: Field, coord: str) -> None:
        dv = None
        prompt = f.hint or ""
        if f.type == "choice":
            if f.choices:
                dv = DataValidation(type="list", formula1=string_literal(",".join(f.choices)), allow_blank=True)
                error = f"请从下拉列表中选择：{'、'.join(f.choices)}"
            else:
                dv = DataValidation(type="list", formula1=f"choices_{f.id}", allow_blank=True)
                error = "请从下拉列表中选择（选项为“一、基本信息”中填写的主导产业）"
        elif f.is_numeric:
            cond = [f"ISNUMBER({coord})"]
            if f.type == "integer":
                cond.append(f"{coord}=INT({coord})")
            if f.range is not None:
                cond.append(f.range.excel(coord))
            dv = DataValidation(type="custom", formula1=f"AND({','.join(cond)})", allow_blank=True)
            what = "整数" if f.type == "integer" else "数字"
            error = f"请填写{what}" + (f"，{f.range.describe(f.unit)}" if f.range else "") + "（不带单位和文字）"
            unit = f"单位：{f.unit}。" if f.unit and f.unit != "无" else ""
            prompt = (unit + prompt)[:250]
        elif f.type == "date":
            lo, hi = f.range.low, f.range.high  # the loader requires a range on dates
            dv = DataValidation(type="date", operator="between", formula1=literal(lo), formula2=literal(hi), allow_blank=True)
            error = f"请填写日期，如 {lo.year}-11-30"
        if dv is None:
            return
        dv.error = error[:250]
        dv.errorTitle = "填写有误"
        dv.showErrorMessage = True
        if prompt:
            dv.prompt = prompt[:250]
            dv.promptTitle = f.label[:30]
            dv.showInputMessage = True
        ws.add_data_validation(dv)
        dv.add(self._merged_range(ws, coord))

    # -- enterprise list
    def list_sheet(self) -> None:
        """One row per enterprise and category. The input columns are styled as columns (unlocked,
        yellow, text format so that 18-digit codes stay text), not cell by cell, so a park can use as
        many rows as it needs and an empty list costs nothing; row problems show by conditional
        formatting, the counts beside the list compare live with section 三."""
        spec = self.form.enterprise_list
        ws = self.wb.create_sheet(spec.sheet_title)
        ws.sheet_view.showGridLines = False
        cols = list(spec.columns)
        ncols = len(cols)
        widths = [{"category": 30, "name": 36, "credit_code": 22}.get(c.id, 30) for c in cols]
        for i, w in enumerate(widths, start=1):
            dim = ws.column_dimensions[get_column_letter(i)]
            dim.width = w
            dim.protection = UNLOCKED
            dim.fill = INPUT_FILL
            dim.font = Font(name=FONT_BODY, size=11)
            dim.number_format = "@"
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
        t = ws.cell(row=1, column=1, value=spec.title)
        t.font = Font(name=FONT_HEAD, size=14, bold=True)
        t.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.row_dimensions[1].height = 36
        hints = "；".join(f"{c.label}：{c.hint}" for c in cols if c.hint)
        exclusive_text = "、".join(f"同一企业既是{spec_label(spec, a)}又是{spec_label(spec, b)}" for a, b in spec.exclusive)
        ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=ncols)
        h = ws.cell(row=2, column=1, value=(
            f"每行填写一家企业的一个类别（同一企业属于多个类别的，分行填写），行数不限。{hints}。"
            f"显示红色的行有问题：缺少类别或企业名称、信用代码不是18位、同类别重复{'、' + exclusive_text if exclusive_text else ''}。"))
        h.font = Font(name=FONT_BODY, size=9, color="595959")
        h.alignment = Alignment(wrap_text=True, vertical="center")
        ws.row_dimensions[2].height = 42
        for r in (1, 2):  # the title rows stay locked although their columns are not
            for c in range(1, ncols + 1):
                ws.cell(row=r, column=c).protection = LOCKED
                ws.cell(row=r, column=c).fill = PatternFill(fill_type=None)
        header = 3
        first, last = header + 1, header + spec.rows
        for i, text in enumerate([c.label for c in cols], start=1):
            header_cell(ws, header, i, text).protection = LOCKED
        col_of = {c.id: get_column_letter(i + 1) for i, c in enumerate(cols)}
        for cid, letter in col_of.items():
            rng = f"${letter}${first}:${letter}${last}"
            self.wb.defined_names[LIST_PREFIX + cid] = DefinedName(LIST_PREFIX + cid, attr_text=f"{quote_sheetname(ws.title)}!{rng}")
            self.layout.list_columns[cid] = (ws.title, f"{letter}{first}:{letter}{last}")
        self.layout.list_first_row = first
        cat, name, code = col_of["category"], col_of["name"], col_of["credit_code"]
        row_any = "&".join(f"${letter}{first}" for letter in col_of.values())
        problems = {
            cat: [f"AND(LEN(TRIM(${cat}{first}))=0,LEN({row_any})>0)"],
            name: [f"AND(LEN(TRIM(${name}{first}))=0,LEN({row_any})>0)"],
            code: [f"AND(LEN({row_any})>0,LEN(TRIM(${code}{first}))<>18)",
                   f"AND(LEN(TRIM(${code}{first}))>0,COUNTIFS({LIST_PREFIX}category,${cat}{first},"
                   f"{LIST_PREFIX}credit_code,${code}{first})>1)"],
        }
        for a, b in spec.exclusive:
            for x, y in ((spec_label(spec, a), spec_label(spec, b)), (spec_label(spec, b), spec_label(spec, a))):
                problems[code].append(f'AND(${cat}{first}={string_literal(x)},COUNTIFS({LIST_PREFIX}category,{string_literal(y)},'
                                      f"{LIST_PREFIX}credit_code,${code}{first})>0)")
        for letter in col_of.values():
            conds = problems.get(letter, [])
            if conds:
                ws.conditional_formatting.add(f"{letter}{first}:{letter}{last}", FormulaRule(
                    formula=[conds[0] if len(conds) == 1 else f"OR({','.join(conds)})"], stopIfTrue=True,
                    fill=ERROR_STYLE.fill, font=ERROR_STYLE.font))
        # The live counts beside the list, and the category drop-down fed from them.
        sum_col = ncols + 2
        labels = ["企业类别", "填报数量（第三部分）", "清单中企业数", "核对"]
        for i, text in enumerate(labels):
            header_cell(ws, header, sum_col + i, text)
            ws.column_dimensions[get_column_letter(sum_col + i)].width = [34, 14, 14, 10][i]
        ws.column_dimensions[get_column_letter(ncols + 1)].width = 3
        L = [get_column_letter(sum_col + i) for i in range(4)]
        for i, category in enumerate(self.form.enterprise_list.categories):
            r = first + i
            ws[f"{L[0]}{r}"] = category.label
            ws[f"{L[1]}{r}"] = f'=IF(ISNUMBER({self.ref(category.count_field)}),{self.ref(category.count_field)},"")'
            ws[f"{L[2]}{r}"] = f"=COUNTIF({LIST_PREFIX}category,{L[0]}{r})"
            ws[f"{L[3]}{r}"] = f'=IF({L[1]}{r}="","",IF({L[1]}{r}={L[2]}{r},"一致","不一致"))'
            for x in L:
                ws[f"{x}{r}"].border = BORDER
                ws[f"{x}{r}"].font = Font(name=FONT_BODY, size=11)
            ws.conditional_formatting.add(f"{L[3]}{r}", FormulaRule(formula=[f'{L[3]}{r}="不一致"'], stopIfTrue=True,
                                                                    fill=ERROR_STYLE.fill, font=ERROR_STYLE.font))
        cat_last = first + len(self.form.enterprise_list.categories) - 1
        dv = DataValidation(type="list", formula1=f"${L[0]}${first}:${L[0]}${cat_last}", allow_blank=True)
        dv.error, dv.errorTitle, dv.showErrorMessage = "请从下拉列表中选择企业类别", "填写有误", True
        ws.add_data_validation(dv)
        dv.add(f"{cat}{first}:{cat}{last}")
        ws.freeze_panes = f"A{first}"
        self.setup_sheet(ws, list_sheet=True)
        self.print_setup(ws, None, title_rows=f"{header}:{header}")
        # Print only down to the last filled row: a formula print area (Excel and WPS honour it).
        last_filled = f"IFERROR(LOOKUP(2,1/(LEN({LIST_PREFIX}name)>0),ROW({LIST_PREFIX}name)),{header})"
        ws.defined_names.add(DefinedName(
            "_xlnm.Print_Area", localSheetId=self.wb.sheetnames.index(ws.title),
            attr_text=f"OFFSET({quote_sheetname(ws.title)}!$A$1,0,0,MAX({header},{last_filled}),{ncols})"))
        ws.page_setup.orientation = "landscape"

    # -- identity
    def meta_sheet(self) -> None:
        ws = self.wb.create_sheet(META_SHEET)
        values = self.meta_values()
        for i, key in enumerate(META_KEYS, start=1):
            ws.cell(row=i, column=1, value=key)
            ws.cell(row=i, column=2, value=values[key])
        ws.sheet_state = "veryHidden"
        ws.protection.sheet = True

    def meta_values(self) -> dict[str, str]:
        return {
            "category": self.form.category_id,
            "category_name": self.form.category_name,
            "template_version": self.form.template_version,
            "fingerprint": self.form.fingerprint,
            "park_id": self.park.get("park_id", ""),
            "park_name": self.park.get("park_name", ""),
        }

    def properties(self) -> None:
        props = self.wb.properties
        props.creator = "consolidator"
        props.title = f"{self.form.title}{self.form.subtitle}（{self.form.category_name}）"
        props.created = props.modified = self.form.created
        for key, value in self.meta_values().items():
            if value:
                self.wb.custom_doc_props.append(StringProperty(name=PROPERTY_PREFIX + key, value=str(value)))

    def define_names(self) -> None:
        for fid, (sheet, coord) in self.layout.cells.items():
            self.wb.defined_names[field_name(fid)] = DefinedName(field_name(fid), attr_text=_q(sheet, coord))
        for f in self.form.fields.values():
            if f.choices_from:
                cells = [self.layout.cells[c] for c in f.choices_from]
                sheets = {s for s, _ in cells}
                cols = {re.match(r"[A-Z]+", c).group() for _, c in cells}
                rows = sorted(int(re.sub(r"[A-Z]+", "", c)) for _, c in cells)
                if len(sheets) != 1 or len(cols) != 1 or rows != list(range(rows[0], rows[0] + len(rows))):
                    raise ValueError(f"{f.id}: choices_from cells must be one contiguous column")
                (col,), (sheet,) = cols, sheets
                self.wb.defined_names[f"choices_{f.id}"] = DefinedName(
                    f"choices_{f.id}", attr_text=f"{quote_sheetname(sheet)}!${col}${rows[0]}:${col}${rows[-1]}")

    # -- sheet-wide settings
    def setup_sheet(self, ws: Worksheet, list_sheet: bool = False) -> None:
        p = ws.protection
        p.sheet = True
        p.formatRows = False  # allowed: parks may make rows taller to read long text
        p.formatColumns = False
        p.formatCells = True
        if list_sheet:
            p.insertRows = False
            p.deleteRows = False
        p.selectLockedCells = False
        p.selectUnlockedCells = False

    def print_setup(self, ws: Worksheet, area: str | None, title_rows: str | None = None) -> None:
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.orientation = "portrait"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        if area:
            ws.print_area = area
        if title_rows:
            ws.print_title_rows = title_rows
        ws.print_options.horizontalCentered = True
        ws.page_margins.left = ws.page_margins.right = 0.5
        ws.page_margins.top = ws.page_margins.bottom = 0.75
        ws.oddHeader.left.text = f"{self.form.title}（{self.form.category_name}）"
        ws.oddHeader.left.size = 9
        ws.oddFooter.center.text = "第 &P 页，共 &N 页"
        ws.oddFooter.center.size = 9


def spec_label(spec, cid: str) -> str:
    return next(c.label for c in spec.categories if c.id == cid)


def _normalise_zip(data: bytes, stamp: str) -> bytes:
    """Rewrite the package with fixed member times and creation/modification dates, so that the
    same rules always give the same bytes (the committed templates are compared in a test)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>" + stamp.encode() + rb"\2", body)
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, body)
    return out.getvalue()


def write_templates(forms: Iterable[Form], out_dir: Path) -> list[Path]:
    """Write one template per category into out_dir (atomically); return the paths."""
    from .files import atomic_write_bytes

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for form in forms:
        path = out_dir / template_filename(form)
        atomic_write_bytes(path, workbook_bytes(form))
        paths.append(path)
    return paths
