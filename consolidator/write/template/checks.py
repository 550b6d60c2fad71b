"""The checks shown while a park fills in, the checker's own: conditional formatting turns a cell red for
an error (强制性) and orange for a warning (核实性), the 校验提示 column (not printed) says why in the same
colours, and data validation refuses what is not a number, a date or one of the choices.

Every check is evaluated on the cells as the checker reads them (write/template/calc.py): "1,709.6" is a
number, "—" is nothing, a computed cell overwritten by hand is an error (formula_mismatch) and its ranges
are judged on the recomputed value, a 情况说明 silences a warning only when it gives a reason ("核实无误" is
none, and says so). Empty required cells show once something has been typed on the sheet, so a blank
template is not red all over. Each Check carries the finding code it stands for, which
tests/test_sheet_agreement.py compares with `check`'s findings cell by cell.
"""

from __future__ import annotations

import re

from openpyxl.formatting.rule import FormulaRule, Rule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.styles.numbers import NumberFormat
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from ...expr.excel import literal, string_literal
from ...expr.text import excel_char_count
from ...rules import Field
from ...rules.layout import CHECK_PT, COL_CHECK
from ..styles import ERROR_COLOR, ERROR_STYLE, FONT_BODY, WARN_STYLE, WARNING_COLOR
from .calc import helper
from .common import Build, Check, merged_range

MARKS = {"error": "【错误】", "warning": "【请核实】"}
CHOICE_FORMAT_ID = 300  # the number formats that show a choice as ☑/☐ (above those of the cells)


def collect_field_checks(b: Build) -> None:
    """Each field's own checks (required, a number, an integer, in range, plausible, an e-mail, a phone
    number, not too long, the report's headings, a computed cell left alone), by the row of its value
    cell, in writing order."""
    for p in b.layout.values():
        field_checks(b, p.sheet, p.row, b.form.fields[p.fid], p.coord)


def _add(b: Build, sheet: str, row: int, check: Check) -> None:
    b.row_checks.setdefault((sheet, row), []).append(check)


def field_checks(b: Build, sheet: str, row: int, f: Field, coord: str) -> None:
    if f.explains:
        return  # a 情况说明: explanation_checks
    fid = f.id
    prefix = f"{f.year}年" if f.year else ""

    def add(condition: str, message: str, severity: str, code: str, note: str | None = None) -> None:
        _add(b, sheet, row, Check(coord, condition, prefix + message, severity, note, code, fid))

    if f.required and not f.is_derived:
        add(f"AND(started_{f.sheet},st_{fid}=0)", "必填，请填写" + ("（数值为零的填0）" if f.is_numeric else ""),
            "error", "required")
    if f.is_numeric:
        add(f"st_{fid}=2", "请填写数字（不带单位和文字）", "error", "type_number")
        if f.type == "integer":
            add(f"st_{fid}=3", "应为整数", "error", "type_integer")
        if f.is_derived:
            tol = f.tolerance or 0.0
            add(f"IFERROR(AND(ISNUMBER(num_{fid}),ISNUMBER(calc_{fid}),"
                f"ABS(num_{fid}-calc_{fid})>{literal(tol)}+1E-9*ABS(calc_{fid})),FALSE)",
                "与脚注公式的计算结果不一致，请勿在灰色计算栏手工填数（已被覆盖的请改用下发的模板）",
                "error", "formula_mismatch")
    elif f.type == "date":
        add(f"st_{fid}=2", "请填写日期，如2026年11月30日", "error", "type_date")
    elif f.type == "choice" and f.choices:
        add(f"st_{fid}=2", f"请从下拉列表中选择：{'、'.join(f.choices)}", "error", "choice")
    value = b.ref(fid)
    if f.range is not None and (f.is_numeric or f.type == "date"):
        add(f"AND(ISNUMBER({value}),NOT({f.range.excel(value)}))", f"应{f.range.describe(f.unit)}", "error", "range")
    if f.plausible is not None:
        add(f"AND(ISNUMBER({value}),NOT({f.plausible.excel(value)}))",
            f"通常{f.plausible.describe(f.unit)}，请核实或在情况说明中写明原因", "warning", "plausible",
            f.note_field)
    if f.format == "email":
        add(f'AND(txt_{fid}<>"",NOT(fmt_{fid}))', "电子邮箱格式不对，应为一个完整的地址，如name@example.com",
            "error", "format_email")
    elif f.format == "phone":
        add(f'AND(txt_{fid}<>"",NOT(fmt_{fid}))', "电话号码不对：填写11位手机号或带区号的座机号码（如0512-66681234）",
            "error", "format_phone")
    if f.max_chars:
        add(f"{excel_char_count(f'txt_{fid}')}>{f.max_chars}",
            f"原则上不超过{f.max_chars}字，请精简或在情况说明中说明", "warning", "max_chars", f.note_field)
    if f.headings:
        found = ",".join(f"ISNUMBER(FIND({string_literal(h)},txt_{fid}))" for h in f.headings)
        add(f'AND(txt_{fid}<>"",NOT(AND({found})))', f"报告应包含以下标题：{'、'.join(f.headings)}", "warning",
            "report_headings", f.note_field)


def rule_checks(b: Build) -> None:
    """The rules of the form, each shown at its target's cell; a cascade (a rule failing for two or more
    fields against one common field, check/cascade.py) as one check on the common field's cell instead."""
    families = _cascades(b)
    for rule in b.form.rules:
        sheet, coord = b.layout.cells[rule.target]
        target = b.form.fields[rule.target]
        row = int(re.sub(r"[A-Z]+", "", coord))
        condition = rule.check.excel_violation_formula(b.ref, b.is_text, b.list_count)
        family = families.get((rule.id, rule.target))
        if family is not None:  # alone it stays where it is: either field may be the wrong one
            condition = f"AND({condition},{_family_name('n', family)}<2)"
        note = target.note_field if target.note_field and rule.severity == "warning" else None
        _add(b, sheet, row, Check(coord, condition, rule.message, rule.severity, note, rule.id, rule.target))
    done = set()
    for common, members in families.values():
        key = (common, members[0].severity, members[0].message)
        if key not in done:
            done.add(key)
            _cascade_checks(b, common, members)


def _cascades(b: Build) -> dict[tuple[str, str], tuple[str, list]]:
    """(rule id, target) -> (common field, the family's rule instances in the checker's order): the rules
    the checker puts together (same common field, severity and message), when it does."""
    try:
        from ...check.cascade import common_fields
    except ImportError:  # a checker that does not group
        return {}
    order = {fid: i for i, fid in enumerate(b.form.fields)}
    groups: dict[tuple, list] = {}
    for rule, common in common_fields(b.form).values():
        groups.setdefault((common, rule.severity, rule.message), []).append(rule)
    out = {}
    for (common, _, _), rules in groups.items():
        if len(rules) < 2:  # (instances with messages of their own are never put together)
            continue
        rules.sort(key=lambda r: order[r.target])
        out.update({(r.id, r.target): (common, rules) for r in rules})
    return out


def _family_name(kind: str, family: tuple[str, list]) -> str:
    common, members = family
    return f"cascade_{kind}_{common}_{members[0].id}"


def _failing(b: Build, members: list) -> str:
    """How many of a family's rule instances fail."""
    return "(" + "+".join(f"IFERROR(--({r.check.excel_violation_formula(b.ref, b.is_text, b.list_count)}),0)"
                          for r in members) + ")"


def _cascade_checks(b: Build, common: str, members: list) -> None:
    """One check on the common field for two or more failures, saying how many fields it contradicts (a
    helper cell counts them). Under the code of the family's first rule: the checker's code is that of the
    first failing one, the text the same."""
    sheet, coord = b.layout.cells[common]
    row = int(re.sub(r"[A-Z]+", "", coord))
    label = b.form.fields[common].display_label
    n = helper(b, _family_name("n", (common, members)), _failing(b, members))
    detail = f'{n}&{string_literal(f"项不符，请先核对“{label}”。" + members[0].message)}'
    _add(b, sheet, row, Check(coord, f"{n}>=2", f"“{label}”与以下", members[0].severity, None, members[0].id,
                              common, detail))


def explanation_checks(b: Build) -> None:
    """A 情况说明 written while a warning of its row stands, that gives no reason ("核实无误"): the checker
    says explanation_invalid, on the 情况说明's cell."""
    warnings: dict[str, list[str]] = {}
    for checks in b.row_checks.values():
        for ch in checks:
            if ch.severity == "warning" and ch.note:
                warnings.setdefault(ch.note, []).append(ch.condition)
    for note, conds in warnings.items():
        sheet, coord = b.layout.cells[note]
        row = int(re.sub(r"[A-Z]+", "", coord))
        any_warning = conds[0] if len(conds) == 1 else f"OR({','.join(conds)})"
        _add(b, sheet, row, Check(
            coord, f'AND(txt_{note}<>"",NOT(ok_{note}),{any_warning})',
            "情况说明未写明具体原因（“核实无误”“数据准确”等不算说明）",
            "warning", None, "explanation_invalid", note))
        b.needs_reason[note] = f'AND({any_warning},txt_{note}="")'


def emit_checks(b: Build) -> None:
    """Conditional formatting on each checked cell, and the 校验提示 text of each row (red while it holds
    an error, orange for warnings only)."""
    for (sheet, row), checks in b.row_checks.items():
        ws = b.wb[sheet]
        by_cell: dict[str, list[Check]] = {}
        for ch in checks:
            by_cell.setdefault(ch.cell, []).append(ch)
        for coord, cell_checks in by_cell.items():
            _highlight(ws, coord, cell_checks)
        cell = ws.cell(row=row, column=COL_CHECK)
        cell.value = "=" + "&".join(_explanation(ch) for ch in checks)
        cell.font = Font(name=FONT_BODY, size=CHECK_PT, color=WARNING_COLOR)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.conditional_formatting.add(cell.coordinate, FormulaRule(
            formula=[f'ISNUMBER(FIND({string_literal(MARKS["error"])},{cell.coordinate}))'], stopIfTrue=True,
            font=Font(color=ERROR_COLOR)))
    for note, condition in b.needs_reason.items():  # an empty 情况说明 that a warning asks for: yellow
        sheet, coord = b.layout.cells[note]
        ws = b.wb[sheet]
        ws.conditional_formatting.add(merged_range(ws, coord), FormulaRule(
            formula=[condition], stopIfTrue=True, fill=PatternFill(bgColor="FFF2CC", fill_type="solid")))


def _silenced(ch: Check) -> str:
    """The check's condition; a warning's only while its 情况说明 gives no reason. A condition that
    cannot be evaluated (an error value typed into a cell) shows nothing rather than an error."""
    cond = f"AND({ch.condition},NOT(ok_{ch.note}))" if ch.note else ch.condition
    return f"IFERROR({cond},FALSE)"


def _explanation(ch: Check) -> str:
    if ch.detail:
        return f"IF({_silenced(ch)},{string_literal(MARKS[ch.severity] + ch.message)}&{ch.detail}&\" \",\"\")"
    return f"IF({_silenced(ch)},{string_literal(MARKS[ch.severity] + ch.message + ' ')},\"\")"


def _highlight(ws: Worksheet, coord: str, checks: list[Check]) -> None:
    """Red while any error condition holds, orange while any warning does."""
    for severity, style in (("error", ERROR_STYLE), ("warning", WARN_STYLE)):
        conds = [_silenced(ch) for ch in checks if ch.severity == severity]
        if not conds:
            continue
        formula = conds[0] if len(conds) == 1 else f"OR({','.join(conds)})"
        ws.conditional_formatting.add(merged_range(ws, coord), FormulaRule(
            formula=[formula], stopIfTrue=True, fill=style.fill, font=style.font))


def choice_marks(b: Build) -> None:
    """A choice of fixed options shows, on screen and on paper, every option with ☑ at the chosen one
    ("☑是　☐否"), as the official form prints them: a number format applied by conditional formatting
    (the cell keeps its text, which the checker reads)."""
    n = CHOICE_FORMAT_ID
    for p in b.layout.values():
        f = b.form.fields[p.fid]
        if f.type != "choice" or not f.choices:
            continue
        ws = b.wb[p.sheet]
        for chosen in f.choices:
            shown = "　".join(("☑" if c == chosen else "☐") + c for c in f.choices)
            dxf = DifferentialStyle(numFmt=NumberFormat(numFmtId=n, formatCode=f';;;"{shown}"'))
            n += 1
            ws.conditional_formatting.add(merged_range(ws, p.coord), Rule(
                type="expression", dxf=dxf, formula=[f"txt_{f.id}={string_literal(chosen)}"]))


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
