"""Rule expressions as Excel formulas, and the literals Excel reads (numbers, dates, strings)."""

from __future__ import annotations

import ast
import datetime as dt

from .syntax import BINOPS, CMPOPS, ExprError
from .text import excel_char_count, excel_is_blank, excel_text_key, text_key

_EXCEL_CMP = {"==": "=", "!=": "<>"}


# ---- literals ----------------------------------------------------------------------------------
def number_literal(value: float | int) -> str:
    """A number as Excel reads it and people write it: 100, not 100.0; 0.3, not 0.30000000000000004."""
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def string_literal(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def literal(value: float | int | str | dt.date) -> str:
    """Any constant of a rule file as an Excel formula literal."""
    if isinstance(value, str):
        return string_literal(value)
    if isinstance(value, dt.date):
        return f"DATE({value.year},{value.month},{value.day})"
    return number_literal(value)


# ---- the emitter -------------------------------------------------------------------------------


class ExcelEmitter:
    def __init__(self, ref, is_text, list_count):
        self.ref, self.is_text, self.list_count = ref, is_text, list_count

    def filled(self, name: str) -> str:
        r = self.ref(name)
        return f"NOT({excel_is_blank(r)})" if self.is_text(name) else f"ISNUMBER({r})"

    def textual(self, node: ast.AST) -> bool:
        """Whether a comparison operand is text (a text field or a string constant)."""
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str)
        return isinstance(node, ast.Name) and self.is_text(node.id)

    def emit(self, node: ast.AST) -> str:
        if isinstance(node, ast.Name):
            return self.ref(node.id)
        if isinstance(node, ast.Constant):
            return literal(node.value)
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
            left, right = node.left, node.comparators[0]
            if op in ("==", "!=") and (self.textual(left) or self.textual(right)):
                same = f"EXACT({self.key(left)},{self.key(right)})"
                return same if op == "==" else f"NOT({same})"
            return f"({self.emit(left)}{_EXCEL_CMP.get(op, op)}{self.emit(right)})"
        if isinstance(node, ast.Call):
            return self.call(node.func.id, node.args)  # type: ignore[attr-defined]
        raise AssertionError(node)

    def key(self, node: ast.AST) -> str:
        """A text operand as it is compared (expr.text.text_key); a constant's key is made here."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return string_literal(text_key(node.value))
        return excel_text_key(self.emit(node))

    def _filled_expr(self, node: ast.AST) -> str:
        return f"NOT({excel_is_blank(self.emit(node))})"

    def call(self, name: str, args: list[ast.expr]) -> str:
        if name == "filled":
            return self._filled_expr(args[0])
        if name == "count_filled":
            return "(" + "+".join(f"{self._filled_expr(a)}*1" for a in args) + ")"
        if name == "one_of":
            options = [f"AND({self._filled_expr(a)},EXACT({self.key(args[0])},{self.key(a)}))" for a in args[1:]]
            return f"OR({','.join(options)})"
        if name in ("abs", "min", "max"):
            return f"{name.upper()}({','.join(self.emit(a) for a in args)})"
        if name == "chars":
            return excel_char_count(self.emit(args[0]))
        if name == "list_count":
            if self.list_count is None:
                raise ExprError("list_count 只能用于带企业清单的表单")
            return self.list_count(args[0].value)  # type: ignore[attr-defined]
        raise AssertionError(name)


