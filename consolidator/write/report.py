"""The check's outputs: report.html for the office, findings.csv for Excel, findings.json.

Everything here turns a BatchResult into text; the command writes the files as one set
(write.files.OutputSet). Park-entered text is never trusted: the report carries it as JSON data and the
page puts it on screen as text (textContent), never as markup; the CSV neutralises cells that a
spreadsheet would read as a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from importlib import resources

import jinja2

from ..check.history import History, histories
from ..check.results import STATUSES, BatchResult
from ..findings import (
    CATALOGUE,
    COLUMNS_ZH,
    FINDING_COLUMNS,
    SEVERITY_ORDER,
    SEVERITY_ZH,
    Finding,
)

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _json_for_script(data) -> str:
    """JSON that is safe inside <script>: no "</script>", no "<!--", no U+2028 surprises."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for ch in "<>&\u2028\u2029":  # replaced only where present: a national round's report is hundreds of MB
        if ch in text:
            text = text.replace(ch, f"\\u{ord(ch):04x}")
    return text


def report_data(result: BatchResult, *, title: str, source: str, generated: dt.datetime) -> dict:
    missing = {f.park: f for f in result.findings if f.code == "not_submitted"}
    history = histories(result)
    parks = []
    for p in result.parks:
        files = []
        for r in p.files:
            files.append({
                "file": r.file, "status": r.status, "superseded_by": r.superseded_by or "",
                "date": r.fill_date.isoformat() if r.fill_date else "",
                "counts": r.counts(),
                "findings": [[f.severity, f.code, f.sheet, f.cell, f.label, f.value, f.expected, f.message]
                             for f in r.findings],
            })
        batch = [missing[p.name]] if p.name in missing and not p.files else []
        parks.append({
            "name": p.name, "city": p.city, "category": p.category, "status": p.status,
            "id": p.park.park_id if p.park else "", "files": files,
            "extra": [[f.severity, f.code, "", "", "", f.value, f.expected, f.message] for f in batch],
            "history": _history_data(history[p.key]) if p.key in history else None,
        })
    by_code: dict[str, list] = {}
    for f in result.findings:
        entry = by_code.setdefault(f.code, [f.code, _title(f), f.severity, 0])
        entry[3] += 1
    counts = result.status_counts()
    return {
        "title": title, "source": source, "generated": generated.strftime("%Y-%m-%d %H:%M"),
        "files": len(result.returns), "skipped": [[f.file, f.message] for f in result.skipped],
        "parks": parks, "statuses": [[s, counts[s]] for s in STATUSES],
        "rules": sorted(by_code.values(), key=lambda e: (SEVERITY_ORDER[e[2]], -e[3])),
        # enterprises listed by several parks: each once, with its parks (the findings only count them)
        "shared": [[code, name, [r.park_name or r.file for r in rets]]
                   for code, name, rets in result.shared_enterprises()],
        "severities": [[k, v] for k, v in SEVERITY_ZH.items()],
    }


def _history_data(h: History) -> dict:
    """A park's versions for the report: each with its time and counts, the cells changed from one to the
    next, and the problems the newest fixed, still has and brought."""
    def problems(fs):
        return [[f.label or f.sheet, f.message] for f in fs]

    return {
        "versions": [[v.file, v.time.strftime("%Y-%m-%d %H:%M"), sum(f.severity == "error" for f in v.findings),
                      sum(f.severity == "warning" for f in v.findings)] for v in h.versions],
        "changes": [[[c.label, c.old, c.new] for c in step] for step in h.changes],
        "fixed": problems(h.fixed), "still": problems(h.still), "new": problems(h.new),
    }


def _title(f: Finding) -> str:
    entry = CATALOGUE.get(f.code)
    return entry.title if entry else f.message.split("。")[0][:30]


def render_html(result: BatchResult, *, title: str = "2026年工业园区高质量发展创新实践 报送检查报告",
                source: str = "", generated: dt.datetime | None = None) -> str:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(resources.files("consolidator.write").joinpath("report.html.j2").read_text("utf-8"))
    data = report_data(result, title=title, source=source, generated=generated or dt.datetime.now())
    return template.render(title=title, data_json=jinja2.utils.markupsafe.Markup(_json_for_script(data)))



def safe_cell(value: str) -> str:
    """A CSV cell that Excel shows as the text it is, never runs as a formula."""
    if value and value.startswith(FORMULA_START):
        try:
            float(value)
            return value
        except ValueError:
            return "'" + value
    return value


def findings_csv(result: BatchResult) -> bytes:
    """Written straight into bytes (not a string first): a national round has hundreds of thousands of rows."""
    buf = io.BytesIO()
    text = io.TextIOWrapper(buf, encoding="utf-8-sig", errors="replace", newline="")  # BOM: Excel reads it as UTF-8
    writer = csv.writer(text, lineterminator="\r\n")
    cols = FINDING_COLUMNS
    writer.writerow([COLUMNS_ZH[c] for c in cols])
    for f in (*result.skipped, *result.findings):
        row = f.as_dict()
        row["severity"] = SEVERITY_ZH[f.severity]
        writer.writerow([safe_cell(str(row[c])) for c in cols])
    text.flush()
    return buf.getvalue()


def findings_json(result: BatchResult) -> bytes:
    """As json.dumps(indent=1) of the whole would write it, the findings one at a time into bytes (a list
    of a few hundred thousand dicts and its text would hold most of the command's memory)."""
    data = {
        "statuses": result.status_counts(),
        "returns": [{"file": r.file, "park": r.park_name, "city": r.city,
                     "category": r.form.category_id if r.form else None, "status": r.status,
                     "superseded_by": r.superseded_by, "counts": r.counts()} for r in result.returns],
        "findings": [],
    }
    head = json.dumps(data, ensure_ascii=False, indent=1)  # ends with ' "findings": []\n}'
    findings = (*result.skipped, *result.findings)
    if not findings:
        return head.encode("utf-8", "replace")
    buf = io.BytesIO()
    buf.write((head[: -len("]\n}")]).encode("utf-8", "replace"))
    for k, f in enumerate(findings):  # each as the whole's dump indents it: two levels down
        item = json.dumps(f.as_dict(), ensure_ascii=False, indent=1).replace("\n", "\n  ")
        buf.write((("," if k else "") + "\n  " + item).encode("utf-8", "replace"))
    buf.write(b"\n ]\n}")
    return buf.getvalue()


def outputs(result: BatchResult, *, source: str = ""):
    """The check's outputs, by file name, made one at a time (each can be written and let go before the
    next is made: a national round's report is most of what the command holds)."""
    # "replace": a name that is not UTF-8 was made readable when found (read.sources.readable_name); any
    # left over (the returns folder's own name, say) must not cost the outputs
    yield "report.html", render_html(result, source=source).encode("utf-8", "replace")
    yield "findings.csv", findings_csv(result)
    yield "findings.json", findings_json(result)
