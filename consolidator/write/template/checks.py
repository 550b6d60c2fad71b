"""The checks shown while a park fills in: conditional formatting turns a cell red (强制性) or orange
(核实性), the 校验提示 column (not printed) says why, and data validation refuses what is not a
number, a date or one of the choices. Writing a reason in the row's 情况说明 clears the orange."""

from __future__ import annotations

import re

from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from ...expr.excel import literal, string_literal
from ...expr.text import excel_char_count, excel_is_blank
from ...rules import Field
from ...rules.layout import COL_CHECK
from ..styles import ERROR_STYLE, FONT_BODY, WARN_STYLE
from .common import Build, Check, merged_range


def collect_field_checks(b: Build) -> None:
    """Each field's own checks (a number, an integer, in range, plausible, an e-mail, a phone
    number, not too long), by the row of its value cell, in writing order."""
    for p in b.layout.values():
        field_checks(b, p.sheet, p.row, b.form.fields[p.fid], p.coord)


def _add(b: Build, sheet: str, row: int, check: Check) -> None:
    b.row_checks.setdefault((sheet, row), []).append(check)


def field_checks(b: Build, sheet: str, row: int, f: Field, coord: str) -> None:
    if f.explains:
        return
    name = b.ref(f.id)
    prefix = f"{f.year}年" if f.year else ""
    note = b.ref(f.note_field) if f.note_field else None
    if f.is_numeric:
        if not f.is_derived:
            _add(b, sheet, row, Check(coord, f"AND(NOT({excel_is_blank(name)}),NOT(ISNUMBER({name})))",
                                      f"{prefix}请填写数字（不带单位）", "error"))
        if f.type == "integer" and not f.is_derived:
            _add(b, sheet, row, Check(coord, f"AND(ISNUMBER({name}),{name}<>INT({name}))", f"{prefix}应为整数",
                                      "error"))
        if f.range is not None:
            _add(b, sheet, row, Check(coord, f"AND(ISNUMBER({name}),NOT({f.range.excel(name)}))",
                                      f"{prefix}应{f.range.describe(f.unit)}", "error"))
        if f.plausible is not None:
            _add(b, sheet, row, Check(coord, f"AND(ISNUMBER({name}),NOT({f.plausible.excel(name)}))",
                                      f"{prefix}通常{f.plausible.describe(f.unit)}，请核实并在情况说明中写明原因",
                                      "warning", note=note))
    elif f.format == "email":
        _add(b, sheet, row, Check(coord, f'AND(NOT({excel_is_blank(name)}),ISERROR(FIND("@",{name})))', "电子邮箱格式不对",
                                  "error"))
    elif f.format == "phone":
        digits = f'SUBSTITUTE(SUBSTITUTE(SUBSTITUTE({name}," ",""),"-",""),"+86","")'
        _add(b, sheet, row, Check(coord, f"AND(NOT({excel_is_blank(name)}),OR(LEN({digits})<7,LEN({digits})>12))",
                                  "电话号码位数不对（手机11位，座机如0512-66681234）", "error"))
    if f.max_chars:
        _add(b, sheet, row, Check(coord, f"{excel_char_count(name)}>{f.max_chars}",
                                  f"原则上不超过{f.max_chars}字，请精简或在情况说明中说明", "warning", note=note))


def rule_checks(b: Build) -> None:
    """The rules of the form, each shown at its target's cell."""
    for rule in b.form.rules:
        sheet, coord = b.layout.cells[rule.target]
        target = b.form.fields[rule.target]
        row = int(re.sub(r"[A-Z]+", "", coord))
        condition = rule.check.excel_violation_formula(b.ref, b.is_text, b.list_count)
        note = b.ref(target.note_field) if target.note_field and rule.severity == "warning" else None
        _add(b, sheet, row, Check(coord, condition, rule.message, rule.severity, note))


def emit_checks(b: Build) -> None:
    """Conditional formatting on each checked cell, and the 校验提示 text of each row."""
    for (sheet, row), checks in b.row_checks.items():
        ws = b.wb[sheet]
        by_cell: dict[str, list[Check]] = {}
        for ch in checks:
            by_cell.setdefault(ch.cell, []).append(ch)
        for coord, cell_checks in by_cell.items():
            _highlight(ws, coord, cell_checks)
        cell = ws.cell(row=row, column=COL_CHECK)
        cell.value = "=" + "&".join(_explanation(ch) for ch in checks)
        cell.font = Font(name=FONT_BODY, size=10, color="C00000")
        cell.alignment = Alignment(wrap_text=True, vertical="center")


def _silenced(ch: Check) -> str:
    """The check's condition; a warning's only while its 情况说明 is empty."""
    return f"AND({ch.condition},{excel_is_blank(ch.note)})" if ch.note else ch.condition


def _explanation(ch: Check) -> str:
    mark = "【错误】" if ch.severity == "error" else "【请核实】"
    return f"IF({_silenced(ch)},{string_literal(mark + ch.message + ' ')},\"\")"


def _highlight(ws: Worksheet, coord: str, checks: list[Check]) -> None:
    """Red while any error condition holds, orange while any warning does."""
    for severity, style in (("error", ERROR_STYLE), ("warning", WARN_STYLE)):
        conds = [_silenced(ch) for ch in checks if ch.severity == severity]
        if not conds:
            continue
        formula = conds[0] if len(conds) == 1 else f"OR({','.join(conds)})"
        ws.conditional_formatting.add(merged_range(ws, coord), FormulaRule(
            formula=[formula], stopIfTrue=True, fill=style.fill, font=style.font))


def validations(b: Build) -> None:
    """Data validation on every cell the park fills in, in writing order."""
    for p in b.layout.values():
        f = b.form.fields[p.fid]
        if b.is_input(f):
            validation(b.wb[p.sheet], f, p.coord)


def _rule_for(f: Field, coord: str) -> tuple[DataValidation | None, str, str]:
    """The validation of a field's cell, its error message and its input prompt."""
    prompt = f.hint or ""
    if f.type == "choice":
        if f.choices:
            return (DataValidation(type="list", formula1=string_literal(",".join(f.choices)), allow_blank=True),
                    f"请从下拉列表中选择：{'、'.join(f.choices)}", prompt)
        return (DataValidation(type="list", formula1=f"choices_{f.id}", allow_blank=True),
                "请从下拉列表中选择（选项为“一、基本信息”中填写的主导产业）", prompt)
    if f.is_numeric:
        cond = [f"ISNUMBER({coord})"]
        if f.type == "integer":
            cond.append(f"{coord}=INT({coord})")
        if f.range is not None:
            cond.append(f.range.excel(coord))
        what = "整数" if f.type == "integer" else "数字"
        error = f"请填写{what}" + (f"，{f.range.describe(f.unit)}" if f.range else "") + "（不带单位和文字）"
        unit = f"单位：{f.unit}。" if f.unit and f.unit != "无" else ""
        return (DataValidation(type="custom", formula1=f"AND({','.join(cond)})", allow_blank=True), error,
                (unit + prompt)[:250])
    if f.type == "date":
        lo, hi = f.range.low, f.range.high  # the loader requires a range on dates
        return (DataValidation(type="date", operator="between", formula1=literal(lo), formula2=literal(hi),
                               allow_blank=True), f"请填写日期，如 {lo.year}-11-30", prompt)
    return None, "", prompt


def validation(ws: Worksheet, f: Field, coord: str) -> None:
    dv, error, prompt = _rule_for(f, coord)
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
    dv.add(merged_range(ws, coord))
