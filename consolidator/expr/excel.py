"""Rule expressions as Excel formulas, and the literals Excel reads.
"""

from __future__ import annotations

import ast

from .syntax import BINOPS, CMPOPS, ExprError


_EXCEL_CMP = {"==": "=", "!=": "<>"}


# ---- Excel emitter ---------------------------------------------------------------------------
def excel_number(value: float | int) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def excel_string(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


class ExcelEmitter:
    def __init__(self, ref, is_text, list_count):
        self.ref, self.is_text, self.list_count = ref, is_text, list_count

    def filled(self, name: str) -> str:
        r = self.ref(name)
        return f'LEN(TRIM({r}))>0' if self.is_text(name) else f"ISNUMBER({r})"

    def emit(self, node: ast.AST) -> str:
        if isinstance(node, ast.Name):
            return self.ref(node.id)
        if isinstance(node, ast.Constant):
            return excel_string(node.value) if isinstance(node.value, str) else excel_number(node.value)
        if isinstance(node, ast.BinOp):
            return f"({self.emit(node.left)}{BINOPS[type(node.op)]}{self.emit(node.right)})"
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return f"NOT({self.emit(node.operand)})"
            sign = "-" if isinstance(node.op, ast.USub) else "+"
            return f"({sign}{self.emit(node.operand)})"
        if isinstance(node, ast.BoolOp):
            fn = "AND" if isinstance(node.op, ast.And) else "OR"
            return f"{fn}({','.join(self.emit(v) for v in node.values)})"
        if isinstance(node, ast.Compare):
            op = CMPOPS[type(node.ops[0])]
            return f"({self.emit(node.left)}{_EXCEL_CMP.get(op, op)}{self.emit(node.comparators[0])})"
        if isinstance(node, ast.Call):
            return self.call(node.func.id, node.args)  # type: ignore[attr-defined]
        raise AssertionError(node)

    def _filled_expr(self, node: ast.AST) -> str:
        if isinstance(node, ast.Name):
            return f"(LEN(TRIM({self.ref(node.id)}))>0)"
        return f"(LEN(TRIM({self.emit(node)}))>0)"

    def call(self, name: str, args: list[ast.expr]) -> str:
        if name == "filled":
            return self._filled_expr(args[0])
        if name == "count_filled":
            return "(" + "+".join(f"{self._filled_expr(a)}*1" for a in args) + ")"
        if name == "one_of":
            x = self.emit(args[0])
            options = [f"AND({self._filled_expr(a)},TRIM({x})=TRIM({self.emit(a)}))" for a in args[1:]]
            return f"OR({','.join(options)})"
        if name in ("abs", "min", "max"):
            return f"{name.upper()}({','.join(self.emit(a) for a in args)})"
        if name == "chars":
            return f"LEN({self.emit(args[0])})"
        if name == "list_count":
            if self.list_count is None:
                raise ExprError("list_count 只能用于带企业清单的表单")
            return self.list_count(args[0].value)  # type: ignore[attr-defined]
        raise AssertionError(name)


