"""Rule expressions in Chinese, for people: field ids become their labels.
"""

from __future__ import annotations

import ast

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


