"""The checks of the rule vocabulary, as pandera knows them.

A field's `format` (phone, email, uscc, industry), `max_chars` and `headings` are registered check
methods, so a schema names them like pandera's built-ins (`Check.phone()`, `Check.max_chars(limit=300)`);
ranges are pandera's own comparisons. A cross-field rule is a RowCheck: a DataFrame-level check named
by its rule id that pandera reports on the rule's target column, one failure per return.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.extensions as extensions
import pandera.pandas as pa
from pandera.api.base.checks import CheckResult
from pandera.backends.pandas.checks import PandasCheckBackend

from ..expr.text import char_count
from ..rules.formats import JUDGES, industry_problem, uscc_valid
from ..rules.interval import Interval

# ---- registered checks --------------------------------------------------------------------------
# Verdicts on texts already judged: the reading workers judge each return's phone numbers and e-mail
# addresses (RawReturn.judged) while they read, in parallel, and the checker learns them before it
# validates; a text not yet judged is judged here. A verdict on a text never goes stale.
_KNOWN: dict[str, dict[str, bool]] = {"phone": {}, "email": {}}


def learn(judged) -> None:
    """Take the verdicts a reading worker made ((format, text, verdict) triples)."""
    for fmt, text, ok in judged:
        _KNOWN[fmt][text] = ok


def _judge(fmt: str, series: pd.Series) -> pd.Series:
    known, judge = _KNOWN[fmt], JUDGES[fmt]

    def ok(v) -> bool:
        text = str(v)
        verdict = known.get(text)
        if verdict is None:
            verdict = known[text] = judge(text)
        return verdict

    return series.map(ok)


@extensions.register_check_method(supported_types=[pd.Series])
def phone(series: pd.Series) -> pd.Series:
    """A Chinese mobile or landline number (rules.formats.phone_ok)."""
    return _judge("phone", series)


@extensions.register_check_method(supported_types=[pd.Series])
def email(series: pd.Series) -> pd.Series:
    """An e-mail address (rules.formats.email_ok)."""
    return _judge("email", series)


def has_text(texts: pd.Series) -> np.ndarray:
    """Where a column of texts ("" when empty, None where missing) holds some, for a column of Python
    strings (numpy compares them at once) or of Arrow strings (measured in Arrow, none made a Python string)."""
    if isinstance(texts.dtype, pd.ArrowDtype):
        return texts.str.len().fillna(0).to_numpy(dtype=np.int64) > 0
    values = texts.to_numpy(dtype=object)
    return (values != "") & (values != None)  # noqa: E711 (elementwise)


@extensions.register_check_method(supported_types=[pd.Series])
def filled(series: pd.Series) -> pd.Series:
    """Some text: not empty (a list's texts are "" when empty)."""
    return pd.Series(has_text(series), index=series.index)


@extensions.register_check_method(supported_types=[pd.Series])
def uscc(series: pd.Series) -> pd.Series:
    """A well-formed 统一社会信用代码 with its check character (empty texts are `required`'s business)."""
    return pd.Series(uscc_valid(series.array) | ~has_text(series), index=series.index)


@extensions.register_check_method(statistics=["rules_dir"], supported_types=[pd.Series])
def industry(series: pd.Series, *, rules_dir: str) -> pd.Series:
    """A GB/T 4754-2017 code or name (the table in the rules' reference/), judged once per distinct text
    (a list repeats a few dozen of them; found by a set: unique() hashes every row into a table of its own)."""
    distinct = set(series.to_numpy(dtype=object))
    good = [t for t in distinct if isinstance(t, str) and (t == "" or industry_problem(t, rules_dir) is None)]
    return series.isin(good)


def format_check(fmt: str, rules_dir: str, **kw) -> pa.Check:
    """The registered check of a `format:` of the rules, its error the finding's code."""
    extra = {"rules_dir": rules_dir} if fmt == "industry" else {}
    return getattr(pa.Check, fmt)(**extra, error=f"format_{fmt}", **kw)


@extensions.register_check_method(statistics=["limit"], supported_types=[pd.Series])
def max_chars(series: pd.Series, *, limit: int) -> pd.Series:
    """At most `limit` characters, counted as expr.text.char_count (and the workbook) counts them."""
    return series.map(lambda v: char_count(str(v)) <= limit)


@extensions.register_check_method(statistics=["words"], supported_types=[pd.Series])
def contains_all(series: pd.Series, *, words: tuple[str, ...]) -> pd.Series:
    return series.map(lambda v: all(w in str(v) for w in words))


_COMPARISON = {">": "greater_than", ">=": "greater_than_or_equal_to", "<": "less_than",
               "<=": "less_than_or_equal_to"}


def interval_checks(interval: Interval, error: str) -> list[pa.Check]:
    """pandera's built-in comparisons for a range: one check when the range has both ends."""
    bounds = interval.bounds()
    if len(bounds) == 2:
        (low_op, low), (high_op, high) = bounds
        return [pa.Check.in_range(low, high, include_min=low_op == ">=", include_max=high_op == "<=", error=error)]
    (op, bound), = bounds
    return [getattr(pa.Check, _COMPARISON[op])(bound, error=error)]


# ---- checks over a row, reported on one column -----------------------------------------------------
class RowCheck(pa.Check):
    """A DataFrame-level check whose function returns a boolean per row (a return) and whose failures
    pandera reports on the `target` column only: one failure case per failing row, not one per column
    of the frame (a category's frame has a few hundred columns)."""

    def __init__(self, fn, *, target: str, name: str, error: str):
        super().__init__(fn, name=name, error=error, ignore_na=False)
        self.target = target


class _RowCheckBackend(PandasCheckBackend):
    def postprocess_table_with_field_output(self, check_obj: pd.DataFrame, check_output: pd.Series) -> CheckResult:
        ok = np.asarray(check_output, dtype=bool)
        if ok.all():
            return CheckResult(check_output, True, check_obj, None)
        bad = ~ok
        cases = pd.DataFrame({"index": check_obj.index[bad], "column": self.check.target,
                              "failure_case": check_obj[self.check.target].to_numpy()[bad]})
        return CheckResult(check_output, False, check_obj, cases)


RowCheck.register_backend(pd.DataFrame, _RowCheckBackend)
