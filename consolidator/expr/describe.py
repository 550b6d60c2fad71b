"""Rule expressions in Chinese, for people: field ids become their labels.
"""

from __future__ import annotations

import ast
import math

from .excel import number_literal
from .syntax import CMPOPS

_ZH_CMP = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "＝", "!=": "≠"}


def describe(node: ast.AST, label, list_label) -> str:
    d = lambda n: describe(n, label, list_label)  # noqa: E731
    if isinstance(node, ast.Name):
        return label(node.id)
    if isinstance(node, ast.Constant):
        return f"“{node.value}”" if isinstance(node.value, str) else number_literal(node.value)
    if isinstance(node, ast.BinOp):
        op = {ast.Add: "+", ast.Sub: "-", ast.Mult: "×", ast.Div: "÷"}[type(node.op)]
        left, right = d(node.left), d(node.right)
        if isinstance(node.right, ast.BinOp):
            right = f"({right})"
        return f"{left}{op}{right}"
    if isinstance(node, ast.UnaryOp):
        return f"并非{d(node.operand)}" if isinstance(node.op, ast.Not) else f"-{d(node.operand)}"
    if isinstance(node, ast.BoolOp):
        first = node.values[0]
        if (isinstance(node.op, ast.Or) and len(node.values) == 2 and isinstance(first, ast.UnaryOp)
                and isinstance(first.op, ast.Not)):  # "not a or b" reads "if a then b"
            return f"若{d(first.operand)}，则{d(node.values[1])}"
        return ("且" if isinstance(node.op, ast.And) else "或").join(d(v) for v in node.values)
    if isinstance(node, ast.Compare):
        return f"{d(node.left)}{_ZH_CMP[CMPOPS[type(node.ops[0])]]}{d(node.comparators[0])}"
    if isinstance(node, ast.Call):
        name, args = node.func.id, node.args  # type: ignore[attr-defined]
        if name == "filled":
            return f"{d(args[0])}已填写"
        if name == "count_filled":
            return f"{'、'.join(d(a) for a in args)}中已填写的个数"
        if name == "one_of":
            return f"{d(args[0])}为{'、'.join(d(a) for a in args[1:])}之一"
        if name == "list_count":
            return f"企业清单中{list_label(args[0].value)}的个数"  # type: ignore[attr-defined]
        if name == "chars":
            return f"{d(args[0])}的字数"
        return f"{name}({'，'.join(d(a) for a in args)})"
    raise AssertionError(node)


# ---- what a field should be, in words with numbers ------------------------------------------------
_ZH_BOUND = {"<": "小于", "<=": "不大于", ">": "大于", ">=": "不小于", "==": "等于", "!=": "不等于"}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _names(node: ast.AST) -> set[str]:
    calls = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and id(n) not in calls}


def _factor(node: ast.AST, name: str) -> float | None:
    """k when `node` is k × the field `name` (the field alone, times or divided by a number), else None."""
    if isinstance(node, ast.Name):
        return 1.0 if node.id == name else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
        left, right = node.left, node.right
        if isinstance(right, ast.Constant) and isinstance(right.value, (int, float)) and right.value:
            k = _factor(left, name)
            if k is not None:
                return k * right.value if isinstance(node.op, ast.Mult) else k / right.value
        if isinstance(node.op, ast.Mult) and isinstance(left, ast.Constant) and isinstance(left.value, (int, float)):
            k = _factor(right, name)
            return None if k is None else k * left.value
    return None


def bounds(node: ast.AST, name: str, value_of) -> list[tuple[str, float, ast.AST, float]] | None:
    """The comparisons a check puts on field `name`, solved for it: (operator, number, the other side,
    the factor it was divided by), one per comparison of an "and"; None when the check is not made of
    comparisons of `name` alone (times a number) with something that does not mention it.
    `value_of(node)` is the other side's value for the return at hand (NaN when it has none)."""
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
        out = []
        for v in node.values:
            part = bounds(v, name, value_of)
            if part is None:
                return None
            out += part
        return out
    if not isinstance(node, ast.Compare) or len(node.ops) != 1:
        return None
    op, left, right = CMPOPS[type(node.ops[0])], node.left, node.comparators[0]
    k = _factor(left, name)
    if k is None or name in _names(right):
        k, left, right, op = _factor(right, name), right, left, _FLIP[op]
        if k is None or name in _names(right):
            return None
    if k < 0:
        op = _FLIP[op]
    if isinstance(right, ast.Constant):
        value = float(right.value) if isinstance(right.value, (int, float)) else math.nan
    else:
        try:
            value = float(value_of(right))
        except (TypeError, ValueError):  # text, or nothing to go by
            value = math.nan
    return [(op, value if math.isnan(value) else value / k, right, k)]


def number_of(node: ast.AST, get) -> float:
    """The number an arithmetic expression has for one return, `get(name)` giving each field's value
    (list_count("x") is the field "list_count__x"); NaN when a part is empty, not a number or not
    arithmetic. One return's numbers without a frame: a finding's expectation is made per failure.
    (Module-level functions, not closures: a closure that calls itself is a reference cycle, which would keep
    `get`, and the validated frame it reads, until the cyclic collector runs.)"""
    if isinstance(node, ast.Name):
        return _num(get(node.id))
    if isinstance(node, ast.Constant):
        return _num(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = number_of(node.operand, get)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in (ast.Add, ast.Sub, ast.Mult, ast.Div):
        a, b = number_of(node.left, get), number_of(node.right, get)
        if isinstance(node.op, ast.Div):
            return a / b if b else math.nan
        return a + b if isinstance(node.op, ast.Add) else a - b if isinstance(node.op, ast.Sub) else a * b
    if isinstance(node, ast.Call):
        name = node.func.id  # type: ignore[attr-defined]
        if name == "list_count":
            v = _num(get(f"list_count__{node.args[0].value}"))  # type: ignore[attr-defined]
            return 0.0 if math.isnan(v) else v
        values = [number_of(a, get) for a in node.args]
        if name == "abs" and values:
            return abs(values[0])
        if name in ("min", "max") and values:
            present = [v for v in values if not math.isnan(v)]  # as Excel's MIN and MAX
            return (min if name == "min" else max)(present) if present else math.nan
    return math.nan


def _num(v) -> float:
    try:
        return math.nan if v is None or isinstance(v, (bool, str)) else float(v)
    except (TypeError, ValueError):
        return math.nan


def _number(v: float) -> str:
    v = round(v, 2 if abs(v) >= 1 else 4)
    return number_literal(0 if v == 0 else v)


def describe_bound(op: str, value: float, other: ast.AST, k: float, label, list_label) -> str:
    """One solved comparison in words: "不大于941.22（3×2024年营业收入（亿元））"."""
    if isinstance(other, ast.Constant) and k == 1:
        return f"{_ZH_BOUND[op]}{describe(other, label, list_label)}"
    what = describe(other, label, list_label)
    if k != 1:
        what = f"({what})" if isinstance(other, ast.BinOp) else what
        what += f"÷{number_literal(k)}" if abs(k) >= 1 else f"×{number_literal(round(1 / k, 6))}"
    if math.isnan(value):  # the other side has no value: say what it is made of
        return f"{_ZH_BOUND[op]}{what}"
    return f"{_ZH_BOUND[op]}{_number(value)}（{what}）"


def describe_expected(node: ast.AST, name: str, label, list_label, value_of) -> str:
    """What field `name` should be for the check `node` to hold, in words and with the return's numbers:
    "不大于941.22（3×2024年营业收入（亿元））且不小于104.58（2024年营业收入（亿元）÷3）". A check that is not
    made of comparisons of the field alone is described as a whole (describe)."""
    if (isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and len(node.values) == 2
            and isinstance(node.values[0], ast.UnaryOp) and isinstance(node.values[0].op, ast.Not)):
        condition = describe(node.values[0].operand, label, list_label)  # "not a or b": if a then b
        return f"若{condition}，则{describe_expected(node.values[1], name, label, list_label, value_of)}"
    solved = bounds(node, name, value_of)
    if not solved:
        return describe(node, label, list_label)
    return "且".join(describe_bound(*b, label, list_label) for b in solved)
