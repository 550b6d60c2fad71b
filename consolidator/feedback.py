"""What goes back to the parks: personal workbooks, and feedback on their returns.

plan_distribute and plan_feedback turn the roster (and a checked batch) into Outgoing messages;
annotate makes the copy of a return with every problem cell coloured and a comment carrying the
message. All of it is pure; outbox.py writes and sends.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import warnings
from collections import defaultdict

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill

from . import findings as F
from .checker import STATUS_ERRORS, STATUS_MISSING, STATUS_PASSED, STATUS_UNREADABLE, STATUS_WARNINGS, BatchResult
from .form import Form
from .mail import Outgoing, render, safe_filename
from .roster import Park
from .template import workbook_bytes

ERROR_FILL = PatternFill("solid", start_color="FFC7CE", end_color="FFC7CE")
WARNING_FILL = PatternFill("solid", start_color="FFD8A8", end_color="FFD8A8")
COMMENT_AUTHOR = "报送检查"


def personal_workbook(form: Form, park: Park) -> tuple[str, bytes]:
    """The park's own copy: its name, city and county filled in and locked, its id embedded."""
    prefill = {"park_id": park.park_id, "park_name": park.name, "province_city": park.city, "county": park.county}
    data = workbook_bytes(form, park={k: v for k, v in prefill.items() if v})
    return safe_filename(f"{park.name}_{form.category_name}_填报表", ".xlsx"), data


def annotate(data: bytes, findings: list[F.Finding]) -> bytes | None:
    """A copy of the return with each problem cell coloured and commented; None when the file is not
    an .xlsx/.xlsm openpyxl can open. Macros are never carried over: the copy is a plain .xlsx."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(data), keep_vba=False, keep_links=False)
    except Exception:
        return None
    by_cell: dict[tuple[str, str], list[F.Finding]] = defaultdict(list)
    for f in findings:
        if f.sheet and f.cell and f.severity in (F.ERROR, F.WARNING) and f.sheet in wb.sheetnames:
            by_cell[(f.sheet, f.cell)].append(f)
    for (sheet, coord), items in by_cell.items():
        ws = wb[sheet]
        for rng in ws.merged_cells.ranges:
            if coord in rng:
                coord = rng.start_cell.coordinate
                break
        cell = ws[coord]
        worst = F.ERROR if any(f.severity == F.ERROR for f in items) else F.WARNING
        cell.fill = ERROR_FILL if worst == F.ERROR else WARNING_FILL
        text = "\n".join(f"【{'错误' if f.severity == F.ERROR else '请核实'}】{f.message}" for f in items)
        old = cell.comment.text + "\n" if cell.comment else ""
        comment = Comment(ILLEGAL_CHARACTERS_RE.sub("", old + text), COMMENT_AUTHOR)
        comment.width, comment.height = 320, 40 + 18 * text.count("\n") + 18 * (len(text) // 24)
        cell.comment = comment
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _context(park: Park, form: Form | None, options: dict) -> dict:
    return {"park": park, "title": (form.title if form else ""), "category": form.category_name if form else "",
            "deadline": options.get("deadline") or "", "office": options.get("office") or ""}


def plan_distribute(parks: list[Park], forms: dict[str, Form], templates, options: dict,
                    already_sent: set[str] = frozenset()) -> list[Outgoing]:
    """A message per park; the workbook is only built for messages not yet in the send log."""
    out = []
    round_ = options.get("round") or "distribute"
    for park in parks:
        form = forms[park.category]
        key = f"{round_}:{park.park_id}"
        attachments = [] if key in already_sent else [personal_workbook(form, park)]
        subject, body = render(templates, "distribute", **_context(park, form, options))
        out.append(Outgoing(key, "distribute", park, subject, body, attachments))
    return out


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _problem_rows(findings: list[F.Finding]) -> list[dict]:
    rows = []
    for f in findings:
        if f.severity not in (F.ERROR, F.WARNING):
            continue
        rows.append({"severity": "错误" if f.severity == F.ERROR else "需要核实",
                     "place": f"{f.sheet} {f.cell}".strip(), "label": f.label, "value": f.value, "message": f.message})
    rows.sort(key=lambda r: r["severity"] != "错误")
    return rows


def plan_feedback(result: BatchResult, forms: dict[str, Form], templates,
                  options: dict) -> tuple[list[Outgoing], list[tuple[str, str]]]:
    """Messages for the roster's parks, and (park, reason) for those that get none."""
    out: list[Outgoing] = []
    skipped: list[tuple[str, str]] = []
    today = options.get("round") or dt.date.today().isoformat()
    for status in result.parks:
        park = status.park
        if park is None:
            skipped.append((status.name, "不在园区名单中，没有收件地址"))
            continue
        form = forms.get(park.category)
        ctx = _context(park, form, options)
        if status.status == STATUS_MISSING:
            name, data = personal_workbook(form, park)
            subject, body = render(templates, "feedback_reminder", **ctx)
            out.append(Outgoing(f"reminder:{today}:{park.park_id}", "reminder", park, subject, body, [(name, data)]))
            continue
        if status.status == STATUS_UNREADABLE:
            bad = [r for r in status.files if r.status == STATUS_UNREADABLE]
            newest = max(bad, key=lambda r: r.raw.source.mtime)
            data = newest.raw.source.read_bytes() if newest.raw.source.path else b""
            name, blank = personal_workbook(form, park)
            subject, body = render(templates, "feedback_unreadable", file=newest.file,
                                   problems=[{"message": f.message} for f in newest.findings], **ctx)
            out.append(Outgoing(f"unreadable:{park.park_id}:{_digest(data)}", "unreadable", park, subject, body,
                                [(name, blank)]))
            continue
        ret = status.current
        data = ret.raw.source.read_bytes()
        problems = _problem_rows(ret.findings)
        if status.status == STATUS_PASSED or not problems:
            subject, body = render(templates, "feedback_accepted", file=ret.file, **ctx)
            out.append(Outgoing(f"accepted:{park.park_id}:{_digest(data)}", "accepted", park, subject, body))
            continue
        assert status.status in (STATUS_ERRORS, STATUS_WARNINGS)
        annotated = annotate(data, ret.findings)
        name = safe_filename(f"{park.name}_问题标注", ".xlsx")
        subject, body = render(templates, "feedback_problems", file=ret.file, problems=problems,
                               errors=sum(p["severity"] == "错误" for p in problems),
                               warnings=sum(p["severity"] != "错误" for p in problems),
                               annotated=name if annotated else "", **ctx)
        out.append(Outgoing(f"problems:{park.park_id}:{_digest(data)}", "problems", park, subject, body,
                            [(name, annotated)] if annotated else []))
    return out, skipped
