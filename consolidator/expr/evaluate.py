"""Rule expressions evaluated on a frame's columns as numpy arrays.
"""

from __future__ import annotations

import ast
import math

import numpy as np

from .syntax import CMPOPS
from .text import char_count, text_key


class _Pandas:
    """pandas, imported on first use. The reading workers load the rules (and so this module) but
    never evaluate an expression: they are forked before the main process has paid for pandas."""

    def __getattr__(self, name: str):
        import pandas

        globals()["pd"] = pandas  # from now on the module itself
        return getattr(pandas, name)


pd = _Pandas()

# ---- evaluation on arrays ---------------------------------------------------------------------
# The columns of the frame are taken as numpy arrays (numbers as float64, anything else as Python
# objects) and the expression is evaluated on them: a pandas operation costs tens of microseconds
# more than numpy's, and a batch evaluates every rule and derived field of its forms.

def _is_text_array(value: np.ndarray) -> bool:
    return value.dtype == object


def is_missing(v) -> bool:
    """An empty value as a frame holds it: None, NaN or pandas' NA."""
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def notna(value: np.ndarray) -> np.ndarray:
    if _is_text_array(value):
        return np.array([not is_missing(v) for v in value], dtype=bool)
    return ~np.isnan(value) if value.dtype.kind == "f" else np.ones(len(value), dtype=bool)


def _texts(value: np.ndarray) -> list[str]:
    """The values as text; empty for a missing value (as Excel reads an empty cell)."""
    return ["" if is_missing(v) else str(v) for v in value]


def _keys(value: np.ndarray) -> np.ndarray:
    """The values as they are compared (expr.text.text_key)."""
    return np.array([text_key(t) for t in _texts(value)], dtype=object)


def filled(col: np.ndarray) -> np.ndarray:
    if not _is_text_array(col):
        return notna(col)
    return np.array([text_key(t) != "" for t in _texts(col)], dtype=bool)


_COMPARE = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "==": np.equal,
            "!=": np.not_equal}


class ArrayEvaluator:
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
        return notna(value) & (value != 0)

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
            op = CMPOPS[type(node.ops[0])]
            left, right = self.eval(node.left), self.eval(node.comparators[0])
            if _is_textual(left) or _is_textual(right):
                left, right = _keys(self.array(left)), _keys(self.array(right))
            else:
                left, right = self.array(self.num_of(left)), self.array(self.num_of(right))
            return _COMPARE[op](left, right).astype(bool)
        if isinstance(node, ast.Call):
            return self.call(node.func.id, node.args)  # type: ignore[attr-defined]
        raise AssertionError(node)

    def call(self, name: str, args: list[ast.expr]):
        if name == "filled":
            return filled(self.array(self.eval(args[0])))
        if name == "count_filled":
            return sum(filled(self.array(self.eval(a))).astype(np.int64) for a in args)
        if name == "one_of":
            x = _keys(self.array(self.eval(args[0])))
            hit = np.zeros(self.n, dtype=bool)
            for a in args[1:]:
                option = _keys(self.array(self.eval(a)))
                hit |= np.array([o != "" and o == v for o, v in zip(option, x)], dtype=bool)
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
            return np.array([char_count(t) for t in _texts(self.array(self.eval(args[0])))], dtype=np.int64)
        if name == "list_count":
            col = self.column(f"list_count__{args[0].value}")  # type: ignore[attr-defined]
            return np.where(np.isnan(col), 0.0, col) if col.dtype.kind == "f" else col
        raise AssertionError(name)


def _is_textual(value) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, np.ndarray) and _is_text_array(value)
