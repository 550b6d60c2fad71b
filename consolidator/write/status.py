"""The round at a glance (`consolidator status`): per park what was sent, what came back, where it stands
and how long ago, sorted by what the office must do first. Built from the ledger's rows; pure."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from ..check.results import (
    ACTIONS,
    NOT_RECEIVED,
    NOT_SENT,
    STATUS_SUPERSEDED,
)
from .styles import HEAD_FILL, HEAD_FONT
from .xlsx import workbook_to_bytes, xml_text

COLUMNS = ("园区编号", "园区", "所在城市", "分发", "报送文件数", "最近报送", "状态", "最近反馈", "距最近一次往来（天）", "下一步")


@dataclass(frozen=True)
class ParkRow:
    park_id: str
    name: str
    city: str
    distributed: str  # date or ""
    files: int
    received: str
    status: str
    feedback: str
    days: int | None
    action: str

    def cells(self) -> list:
        return [self.park_id, self.name, self.city, self.distributed or "—", self.files, self.received or "—",
                self.status, self.feedback or "—", "" if self.days is None else self.days, self.action]


def status_rows(parks: list[dict], sent: list[dict], received: list[dict], today: dt.date) -> list[ParkRow]:
    """One row per park of the ledger, the most urgent first (then the longest waiting)."""
    by_park: dict[str, list[dict]] = {}
    for r in received:
        if r.get("park_id") and r.get("kind", "return") == "return":
            by_park.setdefault(r["park_id"], []).append(r)
    rows = []
    for p in parks:
        pid = p["park_id"]
        mine = [s for s in sent if s["park_id"] == pid]
        dist = max((s["sent_at"] for s in mine if s["kind"] == "distribute"), default="")
        fb = max((s["sent_at"] for s in mine if s["kind"] != "distribute"), default="")
        files = sorted(by_park.get(pid, []), key=lambda r: r["received_at"])
        current = [r for r in files if r.get("status") not in (STATUS_SUPERSEDED, None)]
        status = (current or files)[-1]["status"] if files else (NOT_RECEIVED if dist else NOT_SENT)
        last_received = files[-1]["received_at"] if files else ""
        latest = max(dist, fb, last_received)
        days = (today - dt.date.fromisoformat(latest[:10])).days if latest else None
        rows.append(ParkRow(pid, p["name"], p.get("city") or "", dist[:10], len(files), last_received[:16].replace("T", " "),
                            status or "未检查", fb[:10], days, ACTIONS.get(status, (5, "检查报送文件"))[1]))
    rows.sort(key=lambda r: (ACTIONS.get(r.status, (5, ""))[0], -(r.days or 0), r.park_id))
    return rows


def status_csv(rows: list[ParkRow]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow(r.cells())
    return buf.getvalue().encode("utf-8-sig")


def status_xlsx(rows: list[ParkRow], title: str) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("进度")
    for letter, width in zip("ABCDEFGHIJ", (10, 34, 16, 12, 10, 17, 10, 12, 12, 22)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A3"
    ws.print_title_rows = "1:2"  # page set-up before the first row: a write-only sheet streams its rows
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.append([xml_text(title)])
    head = []
    for name in COLUMNS:
        c = WriteOnlyCell(ws, value=name)
        c.font, c.fill = HEAD_FONT, HEAD_FILL
        head.append(c)
    ws.append(head)
    for r in rows:
        ws.append([xml_text(v) if isinstance(v, str) else v for v in r.cells()])
    return workbook_to_bytes(wb)
