"""The rule language's syntax: the functions it knows, its operators, and the check that an expression
uses nothing else (every message in Chinese).
"""

from __future__ import annotations

import ast

# name -> (min args, max args or None for any)
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "filled": (1, 1),
    "count_filled": (1, None),
    "one_of": (2, None),
    "abs": (1, 1),
    "min": (2, None),
    "max": (2, None),
    "list_count": (1, 1),
    "chars": (1, 1),
}
# Functions whose arguments may be empty: they do not add their names to the guard.
_EMPTY_AWARE = {"filled", "count_filled"}

BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
CMPOPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


class ExprError(ValueError):
    """The expression text is not in the rule language; the message is in Chinese."""


# ---- validation ------------------------------------------------------------------------------
def check_syntax(node: ast.AST, text: str) -> None:
    if isinstance(node, ast.Name):
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float, str)):
            raise ExprError(f"表达式“{text}”中只能使用数字或带引号的文字常量")
        return
    if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
        check_syntax(node.left, text)
        check_syntax(node.right, text)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
        check_syntax(node.operand, text)
        return
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            check_syntax(v, text)
        return
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1 or type(node.ops[0]) not in CMPOPS:
            raise ExprError(f"表达式“{text}”中每次只能比较两个值（不支持连续比较或 in/is）")
        check_syntax(node.left, text)
        check_syntax(node.comparators[0], text)
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
            raise ExprError(f"表达式“{text}”使用了不支持的函数；可用函数：{'、'.join(FUNCTIONS)}")
        lo, hi = FUNCTIONS[node.func.id]
        if len(node.args) < lo or (hi is not None and len(node.args) > hi):
            raise ExprError(f"表达式“{text}”中函数 {node.func.id} 的参数个数不对")
        if node.func.id == "list_count":
            arg = node.args[0]
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                raise ExprError(f"表达式“{text}”中 list_count 的参数应为带引号的清单类别编号")
            return
        for a in node.args:
            check_syntax(a, text)
        return
    raise ExprError(f"表达式“{text}”包含不支持的写法：{ast.unparse(node)}")


def collect_guard(node: ast.AST, out: dict[str, None]) -> None:
    if isinstance(node, ast.Name):
        out.setdefault(node.id, None)
        return
    if isinstance(node, ast.Call):
        name = node.func.id  # type: ignore[attr-defined]
        if name in _EMPTY_AWARE or name == "list_count":
            return
        if name == "one_of":
            collect_guard(node.args[0], out)
            return
        for arg in node.args:  # not node.func: a function's name is not a field
            collect_guard(arg, out)
        return
    for child in ast.iter_child_nodes(node):
        collect_guard(child, out)

