"""The expression language of rules/: parsed once, compiled to an Excel formula, evaluated on arrays."""

from .evaluate import is_missing
from .expression import Expr, parse
from .syntax import FUNCTIONS, ExprError

__all__ = ["Expr", "ExprError", "FUNCTIONS", "is_missing", "parse"]
