"""One root cause, one finding: a rule that fails for several fields against one common field.

A rule written once for many fields (`for_each`) that compares each with the same field, such as
"each kind of enterprise <= 全部企业数量", fails for all of them when that one field is wrong: 全部企业数量
= 0 gives six identical findings, none of them on the cell that causes them. Such failures are put
together as one finding on the common field's cell, listing the fields it contradicts with their values;
failures of similar rules (the same common field, severity and message, e.g. count_le_total and
green_count_le_total) join the same finding. A single failure stays where it is: with one field against
the common one, either may be the wrong one.

Which field is common is read from the rules, never named here: of a rule's expanded instances, the one
field every check mentions that is no instance's target.
"""

from __future__ import annotations

import math
from collections import defaultdict
from functools import lru_cache

from ..expr.describe import bounds, describe_bound, number_of
from ..findings import CASCADE_MESSAGE, Finding, display
from ..rules.model import Form, Rule
from .results import CheckedReturn


@lru_cache(maxsize=None)
def common_fields(form: Form) -> dict[tuple[str, str], tuple[Rule, str]]:
    """(rule id, target) -> (the rule instance, its common field), for every rule of `form` written for
    several targets against one field they all share."""
    by_id: dict[str, list[Rule]] = defaultdict(list)
    for r in form.rules:
        by_id[r.id].append(r)
    out = {}
    for rules in by_id.values():
        targets = {r.target for r in rules}
        if len(rules) < 2 or len(targets) != len(rules):
            continue
        shared = set(rules[0].check.names).intersection(*(r.check.names for r in rules[1:])) - targets
        if len(shared) == 1:
            common = shared.pop()
            out.update({(r.id, r.target): (r, common) for r in rules})
    return out


def group_cascades(checked: list[CheckedReturn]) -> None:
    """Every return's cascades as one finding each (also in a superseded return's own findings)."""
    for ret in checked:
        if ret.form is None:
            continue
        ret.findings = grouped(ret, ret.findings)
        if ret.version_findings:
            ret.version_findings = grouped(ret, ret.version_findings)


def grouped(ret: CheckedReturn, findings: list[Finding]) -> list[Finding]:
    """The findings with each cascade (two or more failures against one common field) replaced by one
    finding on the common field, where the first of them was."""
    families = common_fields(ret.form)
    groups: dict[tuple, list[tuple[Finding, Rule]]] = defaultdict(list)
    for f in findings:
        hit = families.get((f.code, f.field))
        if hit:
            rule, common = hit
            groups[(common, f.severity, f.message)].append((f, rule))
    cascades = {key: members for key, members in groups.items() if len(members) > 1}
    if not cascades:
        return findings
    first = {id(members[0][0]): key for key, members in cascades.items()}
    gone = {id(f) for members in cascades.values() for f, _ in members}
    out = []
    for f in findings:
        if id(f) in first:
            key = first[id(f)]
            out.append(_cascade(ret, key[0], cascades[key]))
        elif id(f) not in gone:
            out.append(f)
    return out


def _cascade(ret: CheckedReturn, common: str, members: list[tuple[Finding, Rule]]) -> Finding:
    form = ret.form
    field = form.fields[common]
    cell = ret.raw.cells.get(common)
    value = display(cell.raw) if cell is not None and cell.raw is not None else display(ret.values.get(common))
    place = cell.sheet if cell is not None else ""
    items = []
    for f, _ in members:
        where = f.cell if f.sheet == place or not f.sheet else f"{f.sheet} {f.cell}"
        items.append(f"{f.label}为{display(ret.values.get(f.field))}" + (f"（{where}）" if where else ""))
    first = members[0][0]
    message = CASCADE_MESSAGE.format(label=field.display_label, value=value or "空", count=len(members),
                                     items="、".join(items), message=first.message)
    return Finding(code=first.code, severity=first.severity, message=message,
                   value=value, expected=_expected(ret, common, members), **ret.locate(field))


def _expected(ret: CheckedReturn, common: str, members: list[tuple[Finding, Rule]]) -> str:
    """What the common field should be for every member to hold: the strictest of their bounds when they
    all bound it the same way ("不小于13（国家高新技术企业数量（个））"), else each member's in turn."""
    form = ret.form
    label = lambda n: form.fields[n].display_label  # noqa: E731
    list_label = lambda cid: form.enterprise_list.category(cid).label  # noqa: E731
    value_of = _row(ret)
    solved = []
    for _, rule in members:
        b = bounds(rule.check.tree, common, value_of)
        if not b or len(b) != 1:
            solved = []
            break
        solved.append(b[0])
    ops = {b[0] for b in solved}
    if solved and len(ops) == 1 and ops <= {"<", "<=", ">", ">="} and all(not math.isnan(b[1]) for b in solved):
        pick = max if ops <= {">", ">="} else min
        return describe_bound(*pick(solved, key=lambda b: b[1]), label, list_label)
    return "；".join(dict.fromkeys(f.expected for f, _ in members if f.expected))


def _row(ret: CheckedReturn):
    """value_of(node) on the return's values."""
    return lambda node: number_of(node, ret.values.get)
