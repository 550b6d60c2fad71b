"""What goes back to the parks: personal workbooks, and feedback on their returns.

plan_distribute and plan_feedback turn the roster (and a checked batch) into Outgoing messages, with
the personal workbooks and the annotated copies (write/annotate.py) attached. All of it is pure;
mail/send.py writes and sends.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from ..check.history import History, histories
from ..check.results import (
    STATUS_ERRORS,
    STATUS_MISSING,
    STATUS_PASSED,
    STATUS_UNREADABLE,
    STATUS_WARNINGS,
    BatchResult,
)
from ..cores import map_on_cores
from ..findings import ERROR, WARNING, Finding
from ..read.roster import Park
from ..rules import Form
from ..write.annotate import annotate
from ..write.personal import personal_bytes
from ..write.word import docx_name, return_document
from .compose import Outgoing, render, safe_filename


def personal_workbook(form: Form, park: Park) -> tuple[str, bytes]:
    """The park's own copy: its name, city and county filled in and locked, its id embedded."""
    # the category's workbook built once, the park's id, name, city and county put in (write/personal.py)
    data = personal_bytes(form, park_id=park.park_id, park_name=park.name, city=park.city, county=park.county)
    return safe_filename(f"{park.name}_{form.category_name}_填报表", ".xlsx"), data


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
        out.append(Outgoing(key, "distribute", park, subject, body, attachments, round=round_))
    return out


def _annotated(result: BatchResult) -> dict[int, bytes | None]:
    """The annotated copy of every current return with problems (id of the return -> bytes), made on all cores:
    loading and saving a return through openpyxl is most of a feedback run."""
    rets = [s.current for s in result.parks if s.park is not None and s.current is not None
            and s.status in (STATUS_ERRORS, STATUS_WARNINGS) and _problem_rows(s.current.findings)]
    copies = map_on_cores(_annotate_job, [(r.raw.source.read_bytes(), r.findings) for r in rets])
    return {id(r): c for r, c in zip(rets, copies)}


def _annotate_job(job: tuple) -> bytes | None:
    data, findings = job
    return annotate(data, findings)


def _not_yet(park: Park, options: dict) -> str:
    """Why a park that sent nothing gets no reminder today (empty: it gets one). With the ledger: not before
    `remind_after` days after its distribution, and at most once every `remind_every` days."""
    last = options.get("last_sent") or {}
    today = options.get("today") or dt.date.today()
    sent, reminded = last.get((park.park_id, "distribute")), last.get((park.park_id, "reminder"))
    after, every = options.get("remind_after", 0), options.get("remind_every", 1)
    if sent and (today - dt.date.fromisoformat(sent[:10])).days < after:
        return f"分发后未满 {after} 天（{sent[:10]} 分发），暂不提醒"
    if reminded and (today - dt.date.fromisoformat(reminded[:10])).days < every:
        return f"{reminded[:10]} 已提醒过，{every} 天内不再提醒"
    return ""


def _corrections(h: History | None) -> dict:
    """What a corrected return changed, for the mail: the earlier file and the problems fixed, left and new."""
    if h is None:
        return {"previous": "", "fixed": [], "still": [], "new": []}

    def rows(fs):
        return [{"label": f.label or f.sheet, "message": f.message} for f in fs]

    return {"previous": h.versions[-2].file, "fixed": rows(h.fixed), "still": rows(h.still), "new": rows(h.new)}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _problem_rows(findings: list[Finding]) -> list[dict]:
    rows = []
    for f in findings:
        if f.severity not in (ERROR, WARNING):
            continue
        # a list row's label is a place (企业清单第17行): beside 企业清单 C17 it would say the place twice
        label = "" if f.sheet and f.cell and f.label.startswith(f.sheet) else f.label
        rows.append({"severity": "错误" if f.severity == ERROR else "需要核实",
                     "place": f"{f.sheet} {f.cell}".strip(), "label": label, "value": f.value, "message": f.message})
    rows.sort(key=lambda r: r["severity"] != "错误")
    return rows


def plan_feedback(result: BatchResult, forms: dict[str, Form], templates,
                  options: dict) -> tuple[list[Outgoing], list[tuple[str, str]]]:
    """Messages for the roster's parks, and (park, reason) for those that get none."""
    out: list[Outgoing] = []
    skipped: list[tuple[str, str]] = []
    today = options.get("round") or dt.date.today().isoformat()
    history = histories(result)
    annotated_copies = _annotated(result)
    for status in result.parks:
        park = status.park
        if park is None:
            skipped.append((status.name, "不在园区名单中，没有收件地址"))
            continue
        form = forms.get(park.category)
        ctx = _context(park, form, options)
        if status.status == STATUS_MISSING:
            wait = _not_yet(park, options)
            if wait:
                skipped.append((park.name, wait))
                continue
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
        ctx.update(_corrections(history.get(status.key)))
        if status.status == STATUS_PASSED or not problems:
            doc = [(docx_name(park.name, form), return_document(ret))] if options.get("word", True) else []
            subject, body = render(templates, "feedback_accepted", file=ret.file, word=doc[0][0] if doc else "", **ctx)
            out.append(Outgoing(f"accepted:{park.park_id}:{_digest(data)}", "accepted", park, subject, body, doc,
                                file_sha256=hashlib.sha256(data).hexdigest()))
            continue
        assert status.status in (STATUS_ERRORS, STATUS_WARNINGS)
        annotated = annotated_copies.get(id(ret))
        name = safe_filename(f"{park.name}_问题标注", ".xlsx")
        subject, body = render(templates, "feedback_problems", file=ret.file, problems=problems,
                               errors=sum(p["severity"] == "错误" for p in problems),
                               warnings=sum(p["severity"] != "错误" for p in problems),
                               annotated=name if annotated else "", **ctx)
        out.append(Outgoing(f"problems:{park.park_id}:{_digest(data)}", "problems", park, subject, body,
                            [(name, annotated)] if annotated else [], file_sha256=hashlib.sha256(data).hexdigest()))
    return out, skipped
