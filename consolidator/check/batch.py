"""Check a batch of returns: the pure core (no file access, no printing).

read -> check (this package) -> write

The returns of a batch become one frame per category (a row per return, a column per field) and
are validated against the category's pandera schema in one lazy pass; enterprise lists are validated
the same way, all rows of all returns at once. Every failure becomes a Finding located to the sheet and
cell where the park will find it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from operator import attrgetter

import numpy as np
import pandas as pd

from .. import findings as F
from ..expr import is_missing
from ..findings import ERROR, WARNING, Finding
from ..read.normalize import normalise_return
from ..read.roster import Park
from ..returns import RawReturn
from ..rules.formats import FORMAT_CHECKS
from ..rules.model import Form
from .derive import recompute
from .explain import explain
from .lists import check_lists, list_frame
from .parks import attach_parks, newest_wins, park_statuses, roster_findings
from .results import (STATUS_ERRORS, STATUS_PASSED, STATUS_SUPERSEDED, STATUS_UNREADABLE, STATUS_WARNINGS,
                      BatchResult, CheckedReturn)
from .schema import build_schema, findings_for, frame_of, validate


# ---- step 1: normalise each return ----------------------------------------------------------------
def _normalise(ret: CheckedReturn) -> None:
    """Typed values (normally made by the reading workers; made here for a return built in memory)."""
    raw = ret.raw
    if raw.values is None:
        normalise_return(raw, ret.form)  # the enterprise list with it
    ret.values = raw.values  # adopted, not copied: the recomputed derived values are added to it




# ---- the batch ---------------------------------------------------------------------------------------
def check_batch(raws: list[RawReturn], forms: dict[str, Form], roster: list[Park] | None = None,
                skipped: list[Finding] | None = None) -> BatchResult:
    """Check every return of a batch together. Pure: reads nothing, writes nothing."""
    checked: list[CheckedReturn] = []
    for raw in raws:
        ret = CheckedReturn(raw, forms.get(raw.category) if raw.category else None)
        if raw.readable and ret.form is not None:
            _normalise(ret)
        else:
            ret.status = STATUS_UNREADABLE
        ret.findings = list(raw.findings)
        checked.append(ret)
    attach_parks(checked, roster)
    for ret in checked:  # the findings of reading were made before the park was known
        ret.findings = [Finding(**{**f.as_dict(), "park": ret.park_name, "city": ret.city,
                                   "category": ret.form.category_name if ret.form else ""}) for f in ret.findings]
    newest_wins(checked)

    current = [(i, r) for i, r in enumerate(checked) if r.raw.readable and r.status != STATUS_SUPERSEDED]
    frames: dict[str, pd.DataFrame] = {}
    for cid, form in forms.items():
        rets = [(i, r) for i, r in current if r.form is form]
        if not rets:
            continue
        entered = frame_of(form, rets)
        frame = recompute(form, entered)
        for f in form.derived_fields():  # keep what the park entered where the parts are missing
            if f.is_numeric:
                frame[f.id] = frame[f.id].fillna(entered[f.id])
            else:
                frame[f.id] = frame[f.id].where(frame[f.id].notna(), entered[f.id])
        skip = _flags(rets, list(form.fields), lambda r: r.raw.unreadable)
        bad = _flags(rets, [fid for fid, f in form.fields.items() if f.format in FORMAT_CHECKS],
                     lambda r: r.raw.format_bad)
        schema, info = build_schema(form, frame, entered, skip, bad)
        failures = validate(schema, frame)
        by_ret: dict[int, list[str]] = defaultdict(list)
        for k, code in zip(failures["index"].tolist(), failures["check"].tolist()):
            by_ret[int(k)].append(code)
        derived = [f.id for f in form.derived_fields()]
        recomputed = zip(*[[None if is_missing(v) else v for v in frame[fid].tolist()] for fid in derived])
        not_calculated = _not_calculated(form, entered, frame)
        for (i, ret), values in zip(rets, recomputed):  # the frame's rows are the returns, in order
            ret.values.update(zip(derived, values))
            if not_calculated[i]:
                ret.findings.append(F.make("formula_not_calculated", **ret.locate()))
            if i in by_ret:
                findings_for(ret, form, by_ret[i], info, entered, i)
            explain(ret, form)
        frames[cid] = frame
    lists = list_frame(current)
    check_lists(lists, dict(current))
    batch_findings = roster_findings(checked, roster, forms)
    for ret in checked:
        if ret.status:
            continue
        sev = {f.severity for f in ret.findings}
        ret.status = STATUS_ERRORS if ERROR in sev else STATUS_WARNINGS if WARNING in sev else STATUS_PASSED
        order = {t: i for i, t in enumerate(_sheet_order(ret))}
        ret.findings.sort(key=lambda f: (F.SEVERITY_ORDER[f.severity], order.get(f.sheet, len(order)),
                                         _cell_order(f.cell)))
    parks = park_statuses(checked, roster, forms)
    all_findings = [f for r in checked for f in r.findings] + batch_findings
    return BatchResult(checked, parks, all_findings, list(skipped or []), frames, lists)


def _sheet_order(ret: CheckedReturn) -> list[str]:
    """The park's sheet names in the order of the form (its own names, where it renamed them)."""
    if ret.form is None:
        return []
    seen = dict.fromkeys(map(_SHEET, ret.raw.cells.values()))  # the reader keeps the form's order
    if ret.raw.enterprises.rows:
        seen.setdefault(ret.raw.enterprises.sheet, None)
    return list(seen)


_SHEET = attrgetter("sheet")


def _cell_order(cell: str) -> tuple[int, str]:
    m = re.match(r"([A-Z]+)(\d+)", cell or "")
    return (int(m.group(2)), m.group(1)) if m else (0, "")


def _not_calculated(form: Form, entered: pd.DataFrame, frame: pd.DataFrame) -> pd.Series:
    """Returns whose formula cells hold no values although their parts are filled: the workbook was
    saved by a program that does not calculate (its cached results are empty)."""
    derived = [f.id for f in form.derived_fields() if f.is_numeric]
    if not derived:
        return pd.Series(False, index=frame.index)
    return entered[derived].isna().all(axis=1) & frame[derived].notna().any(axis=1)


def _flags(rets: list[tuple[int, CheckedReturn]], columns: list[str], which) -> pd.DataFrame:
    """A boolean frame (return x field), True where `which(return)` names the field: built from the
    few names each return gives, not by asking every return about every field."""
    pos = {fid: k for k, fid in enumerate(columns)}
    out = np.zeros((len(rets), len(columns)), dtype=bool)
    for row, (_, ret) in enumerate(rets):
        for fid in which(ret):
            if fid in pos:
                out[row, pos[fid]] = True
    return pd.DataFrame(out, index=[i for i, _ in rets], columns=columns)


