"""Recompute the derived indicators of many returns at once.

The input is a frame with one row per return and one column per input field id (numbers as
floats, text as str, empty as NaN/None); the output adds one column per derived field, computed
from the same rule expressions that became the template's Excel formulas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..rules.model import Form


def recompute(form: Form, frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with every derived field (re)computed from its parts."""
    out = frame.copy()
    for fid in form.derived_order:
        f = form.fields[fid]
        value = f.formula.value(out)
        if f.is_numeric:
            value = pd.to_numeric(value, errors="coerce").astype(float)
            value = value.where(np.isfinite(value))
        out[fid] = value
    return out
