"""An expression of the rule language, parsed once: what it names, when it can be evaluated (its guard),
its Excel formula, its value on a frame's columns and its Chinese description.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .describe import describe
from .evaluate import ArrayEvaluator, filled, notna, pd
from .excel import ExcelEmitter
from .syntax import ExprError, check_syntax, collect_guard


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
        collect_guard(self.tree, out)
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
        return describe(self.tree, label, list_label)

    # ---- Excel -------------------------------------------------------------------------------
    def to_excel(self, ref: Callable[[str], str], is_text: Callable[[str], bool],
                 list_count: Callable[[str], str] | None = None) -> str:
        """The expression as an Excel formula body (no leading '=')."""
        return ExcelEmitter(ref, is_text, list_count).emit(self.tree)

    def _excel_guarded(self, ref, is_text, list_count, body: str, otherwise: str) -> str:
        """IF(filled, IF(divisors non-zero, body, otherwise), otherwise).

        Excel's AND() evaluates every argument, so a divisor test on an empty cell would itself be
        an error (#VALUE!); the divisor tests are therefore nested inside the filled-test.
        """
        emitter = ExcelEmitter(ref, is_text, list_count)
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
        ev = ArrayEvaluator(frame)
        with np.errstate(divide="ignore", invalid="ignore"):
            return pd.Series(ev.array(ev.eval(self.tree)), index=frame.index)

    def guard(self, frame: pd.DataFrame) -> pd.Series:
        return pd.Series(self._guard(ArrayEvaluator(frame)), index=frame.index)

    def _guard(self, ev: ArrayEvaluator) -> np.ndarray:
        mask = np.ones(ev.n, dtype=bool)
        for name in self.guard_names:
            mask &= filled(ev.column(name))
        with np.errstate(divide="ignore", invalid="ignore"):
            for d in self.divisors:
                value = ev.array(ev.num_of(ev.eval(d)))
                mask &= notna(value) & (value != 0)
        return mask

    def value(self, frame: pd.DataFrame) -> pd.Series:
        """The guarded value: NaN/None where the guard fails."""
        ev = ArrayEvaluator(frame)
        mask = self._guard(ev)
        with np.errstate(divide="ignore", invalid="ignore"):
            result = pd.Series(ev.array(ev.eval(self.tree)), index=frame.index)
        return result.where(mask)

    def violations(self, frame: pd.DataFrame) -> pd.Series:
        """Boolean per row: the guard holds and the check does not."""
        ev = ArrayEvaluator(frame)
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
    check_syntax(tree, text)
    expr = Expr(text=text, tree=tree)
    if allowed_names is not None:
        unknown = [n for n in expr.names if n not in allowed_names]
        if unknown:
            raise ExprError(f"表达式“{text}”引用了不存在的字段：{'、'.join(unknown)}")
    return expr

