"""Check a batch of returns: the pure core (no file access, no printing).

read -> check (this package) -> write

The returns of a batch become one frame per category (a row per return, a column per field) and
are validated against the category's pandera schema in one lazy pass; enterprise lists are validated
the same way, all rows of all returns at once. Every failure becomes a Finding located to the sheet and
cell where the park will find it.
"""

from __future__ import annotations

import gc
import re
from dataclasses import replace
from multiprocessing import get_all_start_methods
from operator import attrgetter

import pandas as pd
import pandera.pandas as pa

from ..cores import WorkerDied, fork_call
from ..expr import is_missing
from ..findings import ERROR, SEVERITY_ORDER, WARNING, Finding, make_finding
from ..read.roster import Park
from ..returns import PackedCells, RawReturn
from ..rules.formats import uscc_check_char
from ..rules.model import Form
from .cascade import group_cascades
from .checks import learn
from .explain import explain, explain_list
from .failures import by_return, findings_of
from .lists import check_lists, list_frame, list_schema
from .parks import attach_parks, newest_wins, park_statuses, roster_findings
from .results import (
    STATUS_ERRORS,
    STATUS_PASSED,
    STATUS_SUPERSEDED,
    STATUS_UNREADABLE,
    STATUS_WARNINGS,
    BatchResult,
    CheckedReturn,
)
from .schema import form_schema, frame_of, validate, with_recomputed


def check_batch(raws: list[RawReturn], forms: dict[str, Form], roster: list[Park] | None = None,
                skipped: list[Finding] | None = None) -> BatchResult:
    """Check every return of a batch together. Pure: reads nothing, writes nothing. The returns come
    as the reading workers made them: read and normalised (read.workers.read_one)."""
    checked = [_adopt(raw, forms) for raw in raws]
    attach_parks(checked, roster)
    for ret in checked:  # the findings of reading were made before the park was known
        whose = dict(park=ret.park_name, city=ret.city, category=ret.form.category_name if ret.form else "")
        ret.findings = [replace(f, **whose) for f in ret.findings]
    newest_wins(checked)
    current = [(i, r) for i, r in enumerate(checked) if r.raw.readable and r.status != STATUS_SUPERSEDED]
    groups = [(form, rets) for form in forms.values() if (rets := [(i, r) for i, r in current if r.form is form])]
    if FORK_LEAST <= len(current) <= FORK_MOST and "fork" in get_all_start_methods():
        lists, shared = _forms_beside_lists(groups, current, forms)
    else:
        for form, rets in groups:
            _check_form(form, rets)
        # each form's validated frame is garbage now, but in reference cycles (closures of pandas and pandera refer
        # to it): with the cyclic collector paused for the batch (pipeline.gc_paused) and the returns read frozen
        # before checking (pipeline.run_check), the youngest generation holds only what the check made, and
        # collecting it frees them before the list frame is built (~11 MB at 10,000 returns, which would otherwise
        # stay to the end)
        gc.collect(0)
        lists = list_frame(current)
        shared = check_lists(lists, dict(current), forms)
    _check_versions(forms, [(i, r) for i, r in enumerate(checked) if r.status == STATUS_SUPERSEDED and r.form])
    batch_findings = roster_findings(checked, roster, forms)
    group_cascades(checked)  # one finding on the cell that causes many
    for ret in checked:
        if not ret.status:
            _conclude(ret)
    parks = park_statuses(checked, roster, forms)
    all_findings = [f for r in checked for f in r.findings] + batch_findings
    return BatchResult(checked, parks, all_findings, list(skipped or []), lists, shared)


def warm_up(forms: dict[str, Form]) -> None:
    """Build every schema and load what pandera loads on its first validation (its pandas backends),
    ahead of the batch: the command runs this while the workers read."""
    for form in forms.values():
        form_schema(form)
        list_schema(form.enterprise_list, form.rules_dir)
    pa.DataFrameSchema({"x": pa.Column(checks=[pa.Check.filled()])}).validate(pd.DataFrame({"x": ["x"]}))
    uscc_check_char("0" * 17)  # (python-stdnum, loaded when a code's check character is named)


def _adopt(raw: RawReturn, forms: dict[str, Form]) -> CheckedReturn:
    ret = CheckedReturn(raw, forms.get(raw.category) if raw.category else None)
    if raw.readable and ret.form is not None:
        if raw.values is None:
            raise ValueError(f"{raw.source.display}: a return must be normalised when read (read.workers.read_one)")
        ret.values = raw.values  # adopted, not copied: the recomputed derived values are added to it
        learn(raw.judged)
        raw.judged = ()  # learnt: nothing reads them again (a reading the ledger keeps was pickled before)
    else:
        ret.status = STATUS_UNREADABLE
    ret.findings = list(raw.findings)
    return ret


# The forms' checks and the lists' at once, on the machine's cores, for a batch of FORK_LEAST to FORK_MOST current
# returns: below, forking costs more than it saves; above, the check is a small part of the command's time (most of
# it is reading), while a forked worker's copy of the pages it touches grows with the batch (at 1,000 returns the
# two workers add some 40 MB to the peak; at 10,000 it would come when the lists make the main process's peak).
FORK_LEAST, FORK_MOST = 200, 4000


def _forms_beside_lists(groups: list, current: list[tuple[int, CheckedReturn]], forms: dict[str, Form]):
    """Each form's checks (_check_form) in a worker forked from this process for it, on its copy of the returns,
    while this process checks the lists; then each return's findings are the worker's (what it read, and the form's)
    followed by its list findings, as when one follows the other: the list checks read nothing the form checks
    make, and explain_list, which explains a list row's warnings, changes each finding on its own and none twice.
    (Only where the system forks: fork_call elsewhere checks the form at once, before the lists.)"""
    reading = {id(ret): list(ret.findings) for _, ret in current}  # the findings of reading, which both start from
    outcomes = [fork_call(_form_checked, group) for group in groups]
    lists = list_frame(current)
    shared = check_lists(lists, dict(current), forms)
    listed = {id(ret): ret.findings[len(reading[id(ret)]):] for _, ret in current}
    for (form, rets), outcome in zip(groups, outcomes):
        try:
            checked = outcome()
        except WorkerDied:  # (killed, say, by the system when memory ran out): the form is checked here instead
            for _, ret in rets:
                ret.findings = reading[id(ret)]
            checked = _form_checked((form, rets))
        derived = [f.id for f in form.derived_fields()]
        for (_, ret), (values, findings) in zip(rets, checked):
            ret.values.update(zip(derived, values))
            ret.findings = findings + listed[id(ret)]
            if not lists.empty:  # (check_lists explains nothing when no return has a list)
                explain_list(ret)
    return lists, shared


def _form_checked(group: tuple[Form, list[tuple[int, CheckedReturn]]]) -> list[tuple[list, list[Finding]]]:
    """What _check_form gives each return of a form: its recomputed values and its findings."""
    form, rets = group
    _check_form(form, rets)
    derived = [f.id for f in form.derived_fields()]
    return [([ret.values.get(fid) for fid in derived], ret.findings) for _, ret in rets]


def _check_form(form: Form, rets: list[tuple[int, CheckedReturn]]) -> pd.DataFrame:
    """Validate the current returns of one form in one pass; their findings and recomputed values are
    added to them. Returns the validated frame."""
    fs = form_schema(form)
    entered = frame_of(form, rets)
    frame = with_recomputed(form, entered)
    failed = by_return(validate(fs.schema, frame), fs)
    derived = [f.id for f in form.derived_fields()]
    recomputed = zip(*[[None if is_missing(v) else v for v in frame[fid].tolist()] for fid in derived])
    not_calculated = _not_calculated(form, entered, frame)
    for (i, ret), values in zip(rets, recomputed):  # the frame's rows are the returns, in order
        ret.values.update(zip(derived, values))
        if not_calculated[i]:
            ret.findings.append(make_finding("formula_not_calculated", **ret.locate()))
        if i in failed:
            ret.findings.extend(findings_of(ret, failed[i], fs, frame, i))
        explain(ret, form)
    return frame


def _check_versions(forms: dict[str, Form], older: list[tuple[int, CheckedReturn]]) -> None:
    """The findings each superseded return would have as the current one (its field checks; the batch-wide
    ones, such as enterprises claimed by several parks, are the current return's): for the park's history."""
    for form in forms.values():
        rets = [(i, r) for i, r in older if r.form is form]
        if not rets:
            continue
        kept = {i: r.findings for i, r in rets}
        for _, r in rets:
            r.findings = list(r.version_findings or [])
        _check_form(form, rets)
        for i, r in rets:
            r.version_findings, r.findings = r.findings, kept[i]
            _conclude_version(r)


def _conclude_version(ret: CheckedReturn) -> None:
    status, findings = ret.status, ret.findings
    ret.findings = ret.version_findings or []
    _conclude(ret)
    ret.version_findings, ret.findings, ret.status = ret.findings, findings, status


def _conclude(ret: CheckedReturn) -> None:
    """The return's status from its findings, which are put in the order the park reads the form."""
    sev = {f.severity for f in ret.findings}
    ret.status = STATUS_ERRORS if ERROR in sev else STATUS_WARNINGS if WARNING in sev else STATUS_PASSED
    order = {t: i for i, t in enumerate(_sheet_order(ret))}
    ret.findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], order.get(f.sheet, len(order)),
                                     _cell_order(f.cell)))


def _sheet_order(ret: CheckedReturn) -> list[str]:
    """The park's sheet names in the order of the form (its own names, where it renamed them)."""
    if ret.form is None:
        return []
    cells = ret.raw.cells  # the reader keeps the form's order; packed, its sheet names are one column
    seen = dict.fromkeys(cells.sheets if isinstance(cells, PackedCells) else map(_SHEET, cells.values()))
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
