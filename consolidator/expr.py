"""Rule expressions: parsed once, compiled to an Excel formula and evaluated on a frame's columns.

The same expression text drives the template's live formulas and conditional formatting and the
checker's recomputation, so both give the same answer by construction. The language is a small,
safe subset of Python expression syntax:

    names (field ids), numbers, "strings", + - * /, unary -, one comparison (< <= > >= == !=),
    and / or / not, and the functions in FUNCTIONS.

An expression is only meaningful when the fields it names have values: `guard` is the condition
under which it is evaluated (every name outside filled()/count_filled() and the candidates of
one_of() has a value, and every divisor is non-zero).
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np


class _Pandas:
    """pandas, imported on first use. The reading workers load the rules (and so this module) but
    never evaluate an expression: they are forked before the main process has paid for pandas."""

    def __getattr__(self, name: str):
        import pandas

        globals()["pd"] = pandas  # from now on the module itself
        return getattr(pandas, name)


pd = _Pandas()

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

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_CMPOPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_EXCEL_CMP = {"==": "=", "!=": "<>"}


class ExprError(ValueError):
    """The expression text is not in the rule language; the message is in Chinese."""


@dataclass(frozen=True)
class Expr:
    text: str
    tree: ast.expr

    # ---- static analysis -------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Every field id the expression mentions, in order of first appearance."""
        funcs = {id(n.func) for n in ast.walk(self.tree) if isinstance(n, ast.Call)}
        found = [n for n in ast.walk(self.tree) if isinstance(n, ast.Name) and id(n) not in funcs]
        found.sort(key=lambda n: (n.lineno, n.col_offset))
        return list(dict.fromkeys(n.id for n in found))

    @property
    def guard_names(self) -> list[str]:
        """Field ids that must have a value for the expression to be evaluated."""
        out: dict[str, None] = {}
        _collect_guard(self.tree, out)
        return list(out)

    @property
    def divisors(self) -> list[ast.expr]:
        return [n.right for n in ast.walk(self.tree) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div)]

    @property
    def list_categories(self) -> list[str]:
        return [
            n.args[0].value
            for n in ast.walk(self.tree)
            if isinstance(n, ast.Call) and n.func.id == "list_count"  # type: ignore[attr-defined]
        ]

    def describe(self, label: Callable[[str], str], list_label: Callable[[str], str] = str) -> str:
        """The expression in Chinese for people: field ids become their labels."""
        return _describe(self.tree, label, list_label)

    # ---- Excel -------------------------------------------------------------------------------
    def to_excel(self, ref: Callable[[str], str], is_text: Callable[[str], bool],
                 list_count: Callable[[str], str] | None = None) -> str:
        """The expression as an Excel formula body (no leading '=')."""
        return _ExcelEmitter(ref, is_text, list_count).emit(self.tree)

    def _excel_guarded(self, ref, is_text, list_count, body: str, otherwise: str) -> str:
        """IF(filled, IF(divisors non-zero, body, otherwise), otherwise).

        Excel's AND() evaluates every argument, so a divisor test on an empty cell would itself be
        an error (#VALUE!); the divisor tests are therefore nested inside the filled-test.
        """
        emitter = _ExcelEmitter(ref, is_text, list_count)
        filled = [emitter.filled(n) for n in self.guard_names]
        nonzero = [f"{emitter.emit(d)}<>0" for d in self.divisors]
        for group in (nonzero, filled):
            if group:
                cond = group[0] if len(group) == 1 else f"AND({','.join(group)})"
                body = f"IF({cond},{body},{otherwise})"
        return body

    def excel_value_formula(self, ref, is_text, list_count=None) -> str:
        """A derived cell: the value when the guard holds, otherwise an empty string."""
        body = self.to_excel(ref, is_text, list_count)
        return "=" + self._excel_guarded(ref, is_text, list_count, body, '""')

    def excel_violation_formula(self, ref, is_text, list_count=None) -> str:
        """TRUE exactly when the guard holds and the check fails (for conditional formatting)."""
        body = f"NOT({self.to_excel(ref, is_text, list_count)})"
        return self._excel_guarded(ref, is_text, list_count, body, "FALSE")

    # ---- evaluation ---------------------------------------------------------------------------
    def evaluate(self, frame: pd.DataFrame) -> pd.Series:
        """Evaluate on every row of `frame` (one row per return, one column per field id).

        `list_count("x")` reads column `list_count__x`. The result is not guarded; see guard().
        """
        ev = _ArrayEvaluator(frame)
        with np.errstate(divide="ignore", invalid="ignore"):
            return pd.Series(ev.array(ev.eval(self.tree)), index=frame.index)

    def guard(self, frame: pd.DataFrame) -> pd.Series:
        return pd.Series(self._guard(_ArrayEvaluator(frame)), index=frame.index)

    def _guard(self, ev: _ArrayEvaluator) -> np.ndarray:
        mask = np.ones(ev.n, dtype=bool)
        for name in self.guard_names:
            mask &= _filled(ev.column(name))
        with np.errstate(divide="ignore", invalid="ignore"):
            for d in self.divisors:
                value = ev.array(ev.num_of(ev.eval(d)))
                mask &= _notna(value) & (value != 0)
        return mask

    def value(self, frame: pd.DataFrame) -> pd.Series:
        """The guarded value: NaN/None where the guard fails."""
        ev = _ArrayEvaluator(frame)
        mask = self._guard(ev)
        with np.errstate(divide="ignore", invalid="ignore"):
            result = pd.Series(ev.array(ev.eval(self.tree)), index=frame.index)
        return result.where(mask)

    def violations(self, frame: pd.DataFrame) -> pd.Series:
        """Boolean per row: the guard holds and the check does not."""
        ev = _ArrayEvaluator(frame)
        mask = self._guard(ev)
        with np.errstate(divide="ignore", invalid="ignore"):
            result = ev.truth(ev.eval(self.tree))
        return pd.Series(mask & ~result, index=frame.index)


def parse(text: str, *, allowed_names: set[str] | None = None) -> Expr:
    """Parse and check an expression; raise ExprError with a Chinese message when it is not valid."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExprError(f"表达式“{text}”语法错误（第{exc.offset}个字符附近）") from None
    _validate(tree, text)
    expr = Expr(text=text, tree=tree)
    if allowed_names is not None:
        unknown = [n for n in expr.names if n not in allowed_names]
        if unknown:
            raise ExprError(f"表达式“{text}”引用了不存在的字段：{'、'.join(unknown)}")
    return expr


# ---- validation ------------------------------------------------------------------------------
def _validate(node: ast.AST, text: str) -> None:
    if isinstance(node, ast.Name):
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float, str)):
            raise ExprError(f"表达式“{text}”中只能使用数字或带引号的文字常量")
        return
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        _validate(node.left, text)
        _validate(node.right, text)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
        _validate(node.operand, text)
        return
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            _validate(v, text)
        return
    if isinstance(node, ast.Compare):
        if len(node.ops) != 1 or type(node.ops[0]) not in _CMPOPS:
            raise ExprError(f"表达式“{text}”中每次只能比较两个值（不支持连续比较或 in/is）")
        _validate(node.left, text)
        _validate(node.comparators[0], text)
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
            _validate(a, text)
        return
    raise ExprError(f"表达式“{text}”包含不支持的写法：{ast.unparse(node)}")


def _collect_guard(node: ast.AST, out: dict[str, None]) -> None:
    if isinstance(node, ast.Name):
        out.setdefault(node.id, None)
        return
    if isinstance(node, ast.Call):
        name = node.func.id  # type: ignore[attr-defined]
        if name in _EMPTY_AWARE or name == "list_count":
            return
        if name == "one_of":
            _collect_guard(node.args[0], out)
            return
    for child in ast.iter_child_nodes(node):
        _collect_guard(child, out)


_ZH_CMP = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "＝", "!=": "≠"}


def _describe(node: ast.AST, label, list_label) -> str:
    d = lambda n: _describe(n, label, list_label)  # noqa: E731
    if isinstance(node, ast.Name):
        return label(node.id)
    if isinstance(node, ast.Constant):
        return f"“{node.value}”" if isinstance(node.value, str) else _excel_number(node.value)
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
        return f"{d(node.left)}{_ZH_CMP[_CMPOPS[type(node.ops[0])]]}{d(node.comparators[0])}"
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


# ---- Excel emitter ---------------------------------------------------------------------------
def _excel_number(value: float | int) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _excel_string(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


class _ExcelEmitter:
    def __init__(self, ref, is_text, list_count):
        self.ref, self.is_text, self.list_count = ref, is_text, list_count

    def filled(self, name: str) -> str:
        r = self.ref(name)
        return f'LEN(TRIM({r}))>0' if self.is_text(name) else f"ISNUMBER({r})"

    def emit(self, node: ast.AST) -> str:
        if isinstance(node, ast.Name):
            return self.ref(node.id)
        if isinstance(node, ast.Constant):
            return _excel_string(node.value) if isinstance(node.value, str) else _excel_number(node.value)
        if isinstance(node, ast.BinOp):
            return f"({self.emit(node.left)}{_BINOPS[type(node.op)]}{self.emit(node.right)})"
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return f"NOT({self.emit(node.operand)})"
            sign = "-" if isinstance(node.op, ast.USub) else "+"
            return f"({sign}{self.emit(node.operand)})"
        if isinstance(node, ast.BoolOp):
            fn = "AND" if isinstance(node.op, ast.And) else "OR"
            return f"{fn}({','.join(self.emit(v) for v in node.values)})"
        if isinstance(node, ast.Compare):
            op = _CMPOPS[type(node.ops[0])]
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


# ---- evaluation on arrays ---------------------------------------------------------------------
# The columns of the frame are taken as numpy arrays (numbers as float64, anything else as Python
# objects) and the expression is evaluated on them: a pandas operation costs tens of microseconds
# more than numpy's, and a batch evaluates every rule and derived field of its forms.

def _is_text_array(value: np.ndarray) -> bool:
    return value.dtype == object


def is_missing(v) -> bool:
    """An empty value as a frame holds it: None, NaN or pandas' NA."""
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _notna(value: np.ndarray) -> np.ndarray:
    if _is_text_array(value):
        return np.array([not is_missing(v) for v in value], dtype=bool)
    return ~np.isnan(value) if value.dtype.kind == "f" else np.ones(len(value), dtype=bool)


def _text(value: np.ndarray) -> np.ndarray:
    """Texts trimmed; empty for a missing value (as Excel's TRIM of an empty cell)."""
    return np.array(["" if is_missing(v) else str(v).strip() for v in value], dtype=object)


def _filled(col: np.ndarray) -> np.ndarray:
    if not _is_text_array(col):
        return _notna(col)
    return np.array([not is_missing(v) and str(v).strip() != "" for v in col], dtype=bool)


_COMPARE = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "==": np.equal,
            "!=": np.not_equal}


class _ArrayEvaluator:
    def __init__(self, frame: pd.DataFrame):
        self.frame, self.n = frame, len(frame)

    def column(self, name: str) -> np.ndarray:
        if name not in self.frame.columns:
            return np.full(self.n, np.nan)
        s = self.frame[name]
        if pd.api.types.is_bool_dtype(s.dtype):
            return s.to_numpy(dtype=bool)
        if pd.api.types.is_numeric_dtype(s.dtype):
            return s.to_numpy(dtype=float, na_value=np.nan)
        return s.to_numpy(dtype=object)

    def array(self, value) -> np.ndarray:
        """A constant as a column of its own (a text constant as Python objects)."""
        if isinstance(value, np.ndarray):
            return value
        return np.full(self.n, value, dtype=object if isinstance(value, str) else None)

    def num_of(self, value):
        """Numbers: text that reads as a number counts as one, anything else is missing."""
        if not isinstance(value, np.ndarray):
            return value
        if _is_text_array(value):
            return pd.to_numeric(pd.Series(value, dtype=object), errors="coerce").to_numpy(dtype=float,
                                                                                            na_value=np.nan)
        return value.astype(float, copy=False)

    def num(self, node: ast.AST):
        return self.num_of(self.eval(node))

    def truth(self, value) -> np.ndarray:
        """True or false per row; a missing value is false."""
        value = self.array(value)
        if value.dtype == bool:
            return value
        if _is_text_array(value):
            return np.array([False if is_missing(v) else bool(v) for v in value], dtype=bool)
        return _notna(value) & (value != 0)

    def bool(self, node: ast.AST) -> np.ndarray:
        return self.truth(self.eval(node))

    def eval(self, node: ast.AST):
        if isinstance(node, ast.Name):
            return self.column(node.id)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.BinOp):
            left, right = self.num(node.left), self.num(node.right)
            op = type(node.op)
            if op is ast.Add:
                return left + right
            if op is ast.Sub:
                return left - right
            if op is ast.Mult:
                return left * right
            if isinstance(right, np.ndarray):
                right = np.where(right != 0, right, np.nan)
            elif right == 0:
                right = np.nan
            return left / right
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return ~self.bool(node.operand)
            v = self.num(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BoolOp):
            values = [self.bool(v) for v in node.values]
            out = values[0]
            for v in values[1:]:
                out = (out & v) if isinstance(node.op, ast.And) else (out | v)
            return out
        if isinstance(node, ast.Compare):
            op = _CMPOPS[type(node.ops[0])]
            left, right = self.eval(node.left), self.eval(node.comparators[0])
            if _is_textual(left) or _is_textual(right):
                left, right = _text(self.array(left)), _text(self.array(right))
            else:
                left, right = self.array(self.num_of(left)), self.array(self.num_of(right))
            return _COMPARE[op](left, right).astype(bool)
        if isinstance(node, ast.Call):
            return self.call(node.func.id, node.args)  # type: ignore[attr-defined]
        raise AssertionError(node)

    def call(self, name: str, args: list[ast.expr]):
        if name == "filled":
            return _filled(self.array(self.eval(args[0])))
        if name == "count_filled":
            return sum(_filled(self.array(self.eval(a))).astype(np.int64) for a in args)
        if name == "one_of":
            x = [t.casefold() for t in _text(self.array(self.eval(args[0])))]
            hit = np.zeros(self.n, dtype=bool)
            for a in args[1:]:
                option = _text(self.array(self.eval(a)))
                hit |= np.array([o != "" and o.casefold() == v for o, v in zip(option, x)], dtype=bool)
            return hit
        if name == "abs":
            return np.abs(self.num(args[0]))
        if name in ("min", "max"):
            # Excel's MIN/MAX ignore empty cells; so do fmin/fmax (NaN only where all are empty)
            fn = np.fmin if name == "min" else np.fmax
            out = self.array(self.num(args[0])).astype(float)
            for a in args[1:]:
                out = fn(out, self.array(self.num(a)).astype(float))
            return out
        if name == "chars":
            return np.array([len(t) for t in _text(self.array(self.eval(args[0])))], dtype=np.int64)
        if name == "list_count":
            col = self.column(f"list_count__{args[0].value}")  # type: ignore[attr-defined]
            return np.where(np.isnan(col), 0.0, col) if col.dtype.kind == "f" else col
        raise AssertionError(name)


def _is_textual(value) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, np.ndarray) and _is_text_array(value)
