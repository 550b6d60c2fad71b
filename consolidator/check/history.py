"""A park's returns as versions: what changed from one to the next, and which problems a corrected return
fixed, still has, or brought. Pure: works on a checked batch (check_batch gives every superseded return the
findings it would have had as the current one)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from ..findings import ERROR, WARNING, Finding, display
from .results import BatchResult, CheckedReturn

OPEN = (ERROR, WARNING)


@dataclass(frozen=True)
class Change:
    field: str
    label: str
    old: str
    new: str
    sheet: str = ""
    cell: str = ""


@dataclass
class Version:
    ret: CheckedReturn
    findings: list[Finding]

    @property
    def file(self) -> str:
        return self.ret.file

    @property
    def time(self) -> dt.datetime:
        return self.ret.raw.source.mtime

    def open_problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity in OPEN]


@dataclass
class History:
    """A park with more than one readable return, oldest first."""

    park: str
    versions: list[Version]
    changes: list[list[Change]]  # between version k and k + 1
    fixed: list[Finding] = field(default_factory=list)  # open in the previous version, gone from the current
    still: list[Finding] = field(default_factory=list)  # open in both (as the current one has them)
    new: list[Finding] = field(default_factory=list)  # open in the current only


def problem_key(f: Finding) -> tuple[str, str, str]:
    """The same problem in two versions: the same rule on the same field (or on the same list row)."""
    return (f.code, f.field, f.cell if not f.field else "")


def histories(result: BatchResult) -> dict[str, History]:
    """Park key -> its history, for every park that sent more than one readable return."""
    out = {}
    for status in result.parks:
        rets = [r for r in status.files if r.raw.readable and r.form is not None]
        if len(rets) < 2 or status.current is None:
            continue
        rets.sort(key=lambda r: (r.fill_date or dt.date.min, r.raw.source.mtime, r.file))
        versions = [Version(r, r.findings if r is status.current else (r.version_findings or [])) for r in rets]
        changes = [changed(a.ret, b.ret) for a, b in zip(versions, versions[1:])]
        before, now = versions[-2].open_problems(), versions[-1].open_problems()
        was = {problem_key(f) for f in before}
        is_ = {problem_key(f) for f in now}
        out[status.key] = History(status.name, versions, changes,
                                  fixed=[f for f in before if problem_key(f) not in is_],
                                  still=[f for f in now if problem_key(f) in was],
                                  new=[f for f in now if problem_key(f) not in was])
    return out


def changed(old: CheckedReturn, new: CheckedReturn) -> list[Change]:
    """Every field whose value differs between two returns of a form (as normalised), in the form's order."""
    out = []
    for f in new.form.fields.values():
        a, b = old.values.get(f.id), new.values.get(f.id)
        if _same(a, b):
            continue
        cell = new.raw.cells.get(f.id)
        out.append(Change(f.id, f.display_label, display(a), display(b), cell.sheet if cell else "",
                          cell.coord if cell else ""))
    n_old, n_new = len(old.raw.enterprises), len(new.raw.enterprises)
    if n_old != n_new:
        out.append(Change("", new.form.enterprise_list.sheet_title, f"{n_old} 行", f"{n_new} 行"))
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    if a in (None, "") and b in (None, ""):
        return True
    return a == b
