"""pandera's failure cases turned into findings, through the catalogue.

A failure names its return (index), its column (the field) and its check's error: a catalogue code
(required is pandera's `not_nullable`), `formula_mismatch:<field>`, or a rule key. The catalogue gives
the code's severity and message template; DETAILS says what fills the template for each code. A
cross-field rule is its own catalogue entry: its id, severity and message come from the rule file.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from ..expr.describe import describe_expected, number_of
from ..expr.text import char_count
from ..findings import WARNING, Finding, display, make_finding
from ..rules.formats import industry_problem, uscc_problem
from ..rules.model import Field, Form, Rule
from .results import CheckedReturn
from .schema import ENTERED, REQUIRED, FormSchema


@dataclass(frozen=True)
class Failure:
    """One failed check of one return, with what its message needs."""

    ret: CheckedReturn
    field: Field
    frame: pd.DataFrame  # the validated frame (the return's row: ret_index)
    ret_index: int

    @property
    def typed(self) -> str:
        """The cell as the park typed it."""
        cell = self.ret.raw.cells.get(self.field.id)
        return display(cell.raw) if cell else ""

    @property
    def value(self) -> Any:
        return self.ret.values.get(self.field.id)

    @property
    def text(self) -> str:
        return str(self.value or "")


def _range(c: Failure) -> dict:
    return dict(value=c.typed or display(c.value), expected=c.field.range.describe(c.field.unit))


def _plausible(c: Failure) -> dict:
    f, value = c.field, c.value
    side = "low" if f.plausible.low is not None and value is not None and value <= f.plausible.low else "high"
    return dict(value=c.typed or display(value), expected=f.plausible.describe(f.unit),
                hint=dict(f.plausible_hints).get(side, ""))


def _max_chars(c: Failure) -> dict:
    text, limit = c.text, c.field.max_chars
    return dict(count=char_count(text), limit=limit, value=text[:40] + ("…" if len(text) > 40 else ""),
                expected=f"不超过{limit}字")


def _headings(c: Failure) -> dict:
    wanted = c.field.headings
    return dict(missing="、".join(h for h in wanted if h not in c.text), expected="、".join(wanted))


def _formula(c: Failure) -> dict:
    entered, computed = c.frame.at[c.ret_index, c.field.id + ENTERED], c.value
    return dict(value=display(entered), expected=display(round(computed, 4)), trap=_trap(c.field, entered, computed))


def _trap(f: Field, entered: float, computed: float) -> str:
    """The known mistake (rules: traps) that makes the entered value this multiple of the computed one."""
    if not computed or not entered:
        return ""
    ratio = entered / computed
    for trap in f.traps:
        if abs(ratio / trap.factor - 1) < 0.03:
            return f"{trap.message}。"
    return ""


# what fills each code's message template (catalogue: findings.CATALOGUE)
DETAILS: dict[str, Callable[[Failure], dict]] = {
    "required": lambda c: {},
    "range": _range,
    "plausible": _plausible,
    "format_phone": lambda c: dict(value=c.typed),
    "format_email": lambda c: dict(value=c.typed),
    "max_chars": _max_chars,
    "report_headings": _headings,
    "formula_mismatch": _formula,
    "format_uscc": lambda c: dict(value=c.typed, reason=uscc_problem(c.text)),
    "format_industry": lambda c: dict(
        value=c.typed, severity=WARNING if industry_problem(c.text, c.ret.form.rules_dir) == "unknown" else None),
}


def row_values(frame: pd.DataFrame, index) -> Callable:
    """value_of(node) for describe_expected: an expression's number on one row of a frame (NaN when none)."""
    columns = frame.columns

    def get(name: str):
        return frame.at[index, name] if name in columns else None

    return lambda node: number_of(node, get)


def _rule_finding(c: Failure, rule: Rule, form: Form) -> Finding:
    values = "，".join(f"{form.fields[n].display_label}={display(c.ret.values.get(n)) or '（未填写）'}"
                      for n in rule.check.names if n in form.fields)
    expected = describe_expected(rule.check.tree, c.field.id, lambda n: form.fields[n].display_label,
                                 lambda cid: form.enterprise_list.category(cid).label, row_values(c.frame, c.ret_index))
    return Finding(code=rule.id, severity=rule.severity, message=rule.message, value=values, expected=expected,
                   **c.ret.locate(c.field))


def by_return(failures: pd.DataFrame, fs: FormSchema) -> dict[int, list[tuple[str, str]]]:
    """(column, check error) of each return's failures, in the form's order of checks."""
    out: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for k, column, check in zip(failures["index"].tolist(), failures["column"].tolist(), failures["check"].tolist()):
        if (column, check) in fs.order:
            out[int(k)].append((column, check))
    for keys in out.values():
        keys.sort(key=fs.order.__getitem__)
    return out


def findings_of(ret: CheckedReturn, failed: list[tuple[str, str]], fs: FormSchema, frame: pd.DataFrame,
                i: int) -> list[Finding]:
    """The findings of return `ret` (row `i` of `frame`) for its failed checks."""
    out = []
    for column, check in failed:
        field = fs.form.fields[column]
        c = Failure(ret, field, frame, i)
        if check in fs.rules:
            out.append(_rule_finding(c, fs.rules[check], fs.form))
            continue
        if check == REQUIRED and column in ret.raw.unreadable:
            continue  # the value could not be read as its type: that finding says so already
        code = "required" if check == REQUIRED else "formula_mismatch" if check in fs.formulas else check
        out.append(make_finding(code, **DETAILS[code](c), **ret.locate(field)))
    return out
