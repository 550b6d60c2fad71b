"""The results of a check: each return as checked, each park's status, the whole batch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..findings import ERROR, EXPLAINED, INFO, WARNING, Finding, locate
from ..read.roster import Park
from ..returns import RawReturn
from ..rules.model import Field, Form

if TYPE_CHECKING:  # the list frame's type only: parks.py (through here) is used before the workers start, pandas after
    import pandas as pd

STATUS_PASSED, STATUS_WARNINGS, STATUS_ERRORS = "通过", "有警告", "有错误"
STATUS_UNREADABLE, STATUS_SUPERSEDED, STATUS_MISSING = "无法读取", "已被替代", "未提交"
# where a park stands in the round (the ledger's status, the report's list of parks) beyond its returns' statuses
NOT_SENT, NOT_RECEIVED = "未分发", "未报送"
# what the office does next, most urgent first
ACTIONS = {NOT_RECEIVED: (0, "催报"), STATUS_UNREADABLE: (1, "请园区重发可读的文件"),
           STATUS_ERRORS: (2, "反馈问题，等待修改"), STATUS_WARNINGS: (3, "请园区核实或说明"),
           NOT_SENT: (4, "分发填报表"), STATUS_PASSED: (9, "无需处理")}
STATUSES = (STATUS_PASSED, STATUS_WARNINGS, STATUS_ERRORS, STATUS_UNREADABLE, STATUS_SUPERSEDED, STATUS_MISSING)



@dataclass
class CheckedReturn:
    raw: RawReturn
    form: Form | None
    park: Park | None = None
    park_name: str = ""
    city: str = ""
    status: str = ""
    superseded_by: str | None = None
    values: dict[str, Any] = field(default_factory=dict)  # typed values (derived: recomputed)
    findings: list[Finding] = field(default_factory=list)
    fill_date: dt.date | None = None
    # a superseded return's own findings, had it been the current one (for the park's history)
    version_findings: list[Finding] | None = None

    @property
    def file(self) -> str:
        return self.raw.source.display

    def locate(self, f: Field | None = None) -> dict[str, str]:
        """The finding columns that place a problem of this return (and of field `f`, if given)."""
        return locate(self.file, park=self.park_name, city=self.city,
                        category=self.form.category_name if self.form else "",
                        field=f, cell=self.raw.cells.get(f.id) if f is not None else None)

    @property
    def current(self) -> bool:
        return self.status not in (STATUS_SUPERSEDED, STATUS_UNREADABLE)

    def counts(self) -> dict[str, int]:
        out = {ERROR: 0, WARNING: 0, EXPLAINED: 0, INFO: 0}
        for f in self.findings:
            out[f.severity] += 1
        return out


@dataclass
class ParkStatus:
    key: str
    name: str
    city: str
    category: str
    park: Park | None
    status: str
    current: CheckedReturn | None
    files: list[CheckedReturn]


@dataclass
class BatchResult:
    returns: list[CheckedReturn]
    parks: list[ParkStatus]
    findings: list[Finding]
    skipped: list[Finding]
    lists: pd.DataFrame  # every list row of the current returns
    # enterprises claimed by several returns: credit code -> the returns (their numbers in `returns`)
    shared: dict[str, list[int]] = field(default_factory=dict)

    def shared_enterprises(self) -> list[tuple[str, str, list["CheckedReturn"]]]:
        """(credit code, enterprise name, the returns that list it) for every enterprise claimed by several
        returns, most claimed first: each enterprise once, each return once under it."""
        if not self.shared:
            return []
        spec = next(r.form for r in self.returns if r.form).enterprise_list
        key, name = spec.column("key"), spec.column("name")
        codes = self.lists[key]
        named = self.lists.loc[codes.isin(list(self.shared)), [key, name]].drop_duplicates(key)
        names = dict(zip(named[key].tolist(), named[name].tolist()))
        rows = [(code, names.get(code, ""), [self.returns[i] for i in rets]) for code, rets in self.shared.items()]
        return sorted(rows, key=lambda r: (-len(r[2]), r[0]))

    @property
    def exit_code(self) -> int:
        bad = any(r.status in (STATUS_ERRORS, STATUS_UNREADABLE) for r in self.returns)
        return 1 if bad else 0

    def status_counts(self) -> dict[str, int]:
        counts = {s: 0 for s in STATUSES}
        for p in self.parks:
            counts[p.status] += 1
        counts[STATUS_SUPERSEDED] = sum(r.status == STATUS_SUPERSEDED for r in self.returns)
        return counts


