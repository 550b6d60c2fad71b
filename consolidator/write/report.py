"""The check's outputs: report.html for the office, findings.csv for Excel, findings.json.

Everything here turns a BatchResult into text; the command writes the files as one set
(write.files.OutputSet). Park-entered text is never trusted: the report carries it as JSON data and the
page puts it on screen as text (textContent), never as markup; the CSV neutralises cells that a
spreadsheet would read as a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import os
import re
from collections.abc import Iterator
from importlib import resources

import jinja2

from ..check.history import History, histories
from ..check.results import (
    ACTIONS,
    NOT_RECEIVED,
    STATUS_ERRORS,
    STATUS_MISSING,
    STATUS_SUPERSEDED,
    STATUS_UNREADABLE,
    STATUS_WARNINGS,
    STATUSES,
    BatchResult,
    CheckedReturn,
    ParkStatus,
)
from ..findings import (
    CATALOGUE,
    COLUMNS_ZH,
    FINDING_COLUMNS,
    SEVERITY_ORDER,
    SEVERITY_ZH,
    Finding,
    display,
)
from ..rules.model import Form, Rule

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _json_for_script(data) -> str:
    """JSON that is safe inside <script>: no "</script>", no "<!--", no U+2028 surprises."""
    return _script_safe(json.dumps(data, ensure_ascii=False, separators=(",", ":")))


def _script_safe(text: str) -> str:
    for ch in "<>&\u2028\u2029":  # replaced only where present: a national round's report is hundreds of MB
        if ch in text:
            text = text.replace(ch, f"\\u{ord(ch):04x}")
    return text


def _json_pieces(data: dict) -> list[bytes]:
    """_json_for_script(data) in UTF-8, made a top-level item at a time and each item of a list value: the
    same bytes, but never the whole as one text (at a national round ~10 MB, and its escaped copy)."""
    if not isinstance(data, dict) or not all(k.__class__ is str for k in data):  # (json's own way with keys)
        return [_json_for_script(data).encode("utf-8", "replace")]
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    pieces, sep = [], "{"
    for key, value in data.items():
        if isinstance(value, list) and value:
            pieces.append((sep + _script_safe(dumps(key)) + ":[").encode("utf-8", "replace"))
            pieces.extend((("," if k else "") + _script_safe(dumps(v))).encode("utf-8", "replace")
                          for k, v in enumerate(value))
            sep = "],"
        else:
            pieces.append((sep + _script_safe(dumps(key) + ":" + dumps(value))).encode("utf-8", "replace"))
            sep = ","
    pieces.append(b"]}" if sep == "]," else b"}" if data else b"{}")
    return pieces


def report_data(result: BatchResult, *, title: str, source: str, generated: dt.datetime) -> dict:
    """Everything the page shows, as JSON-ready data (park text stays data: the page puts it on screen as
    text). The parks come in the roster's order, each with what the office must do next (`todo`)."""
    missing = {f.park: f for f in result.findings if f.code == "not_submitted"}
    history = histories(result)
    forms = {id(r.form): r.form for r in result.returns if r.form is not None}
    titles = rule_titles(list(forms.values()))
    roster = any(p.park is not None for p in result.parks)
    parks = []
    for p in result.parks:
        files = []
        for r in p.files:
            files.append({
                "file": r.file, "status": r.status, "superseded_by": r.superseded_by or "",
                "date": r.fill_date.isoformat() if r.fill_date else "",
                "counts": r.counts(),
                "findings": [[f.severity, f.code, _sheet(r, f), f.cell, f.label, f.value, f.expected, f.message]
                             for f in r.findings],
            })
        batch = [missing[p.name]] if p.name in missing and not p.files else []
        kind = _kind(p, roster)
        parks.append({
            "name": p.name, "city": p.city, "category": p.category, "status": p.status, "kind": kind,
            "id": p.park.park_id if p.park else "", "files": files, "contact": _contact(p),
            "extra": [[f.severity, f.code, "", "", "", f.value, f.expected, f.message] for f in batch],
            "history": _history_data(history[p.key]) if p.key in history else None,
            "todo": _todo(p, kind),
        })
    by_code: dict[str, dict] = {}
    for f in result.findings:
        entry = by_code.setdefault(f.code, {s: 0 for s in SEVERITY_ORDER})
        entry[f.severity] += 1
        if f.code not in titles:
            titles[f.code] = _title(f)
    return {
        "title": title, "source": source, "generated": generated.strftime("%Y-%m-%d %H:%M"),
        "files": len(result.returns), "skipped": [[f.file, f.message] for f in result.skipped],
        "parks": parks, "statuses": [[s, n] for s, n in _status_counts(result, parks).items()],
        "roster": roster, "titles": titles,
        "rules": sorted(([code, titles[code], [n[s] for s in SEVERITY_ORDER]] for code, n in by_code.items()),
                        key=lambda e: tuple(-n for n in e[2])),
        # enterprises listed by several parks: each once, with its parks (the findings only count them)
        "shared": [[code, name, [r.park_name or r.file for r in rets]]
                   for code, name, rets in result.shared_enterprises()],
        "severities": [[k, v] for k, v in SEVERITY_ZH.items()],
    }


# whose a park entry is: a park of the roster (or, without one, a park its return names), a park its return
# names that the roster lacks, or a file no park could be found for
ROSTER, OUTSIDE, UNKNOWN = "roster", "outside", "unknown"
# what the office does next about a park (as `consolidator status` says it), most urgent first
TODO = {STATUS_MISSING: ACTIONS[NOT_RECEIVED], **{s: ACTIONS[s] for s in (STATUS_UNREADABLE, STATUS_ERRORS,
                                                                           STATUS_WARNINGS)}}
TODO_OUTSIDE = (5, "核对名单：确属应报园区的补入名单，名称写法不同的请园区改正")
TODO_UNKNOWN = (6, "查看文件：找不到所属园区")


def _kind(p: ParkStatus, roster: bool) -> str:
    if p.key.startswith("file:"):
        return UNKNOWN
    return OUTSIDE if roster and p.park is None else ROSTER


def _todo(p: ParkStatus, kind: str) -> list | None:
    """[order, what to do] for a park the office must act on, None for one that needs nothing."""
    if kind == UNKNOWN:
        return list(TODO_UNKNOWN)
    if kind == OUTSIDE:
        return list(TODO_OUTSIDE)
    return list(TODO[p.status]) if p.status in TODO else None


def _status_counts(result: BatchResult, parks: list[dict]) -> dict[str, int]:
    """Parks by status, counting only the roster's parks (all named parks when there is no roster); the
    superseded count is of files."""
    counts = {s: 0 for s in STATUSES}
    for p in parks:
        if p["kind"] == ROSTER:
            counts[p["status"]] += 1
    counts[STATUS_SUPERSEDED] = sum(r.status == STATUS_SUPERSEDED for r in result.returns)
    return counts


def _contact(p: ParkStatus) -> list[str]:
    """[name, phone, e-mail]: the roster's contact and address; the phone (the roster has none), and for a
    park outside the roster all three, from the contact block of its return."""
    ret = p.current or next((r for r in p.files if r.form is not None), None)
    typed = _return_contact(ret) if ret is not None else ["", "", ""]
    if p.park is None:
        return typed
    return [p.park.contact or typed[0], typed[1], p.park.email or typed[2]]


def _return_contact(ret: CheckedReturn) -> list[str]:
    """[name, phone, e-mail] as the return gives them."""
    if ret.form is None:
        return ["", "", ""]
    return [display(ret.values.get(fid)) if fid else "" for fid in _contact_fields(ret.form)]


@functools.lru_cache(maxsize=None)
def _contact_fields(form: Form) -> tuple[str | None, str | None, str | None]:
    """The fields of a form's contact block (the block named 联系人, else the last block with a phone
    number): its name, phone and e-mail field ids (None where it has none)."""
    phones = [f for f in form.fields.values() if f.format == "phone"]
    if not phones:
        return None, None, None
    titled = [f.block for f in phones if "联系人" in (form.block(f.block).title or "")]
    block = titled[0] if titled else phones[-1].block
    mine = [f for f in form.fields.values() if f.block == block]
    name = next((f.id for f in mine if f.type == "text" and not f.format), None)
    email = next((f.id for f in mine if f.format == "email"), None)
    return name, next(f.id for f in mine if f.format == "phone"), email


@functools.lru_cache(maxsize=None)
def _sheet_titles(form: Form) -> dict[str, str]:
    return {s.id: s.title for s in form.sheets}


def _sheet(ret: CheckedReturn, f: Finding) -> str:
    """The sheet as the park named it, with the form's name where the park's differs: "Sheet3（一、基本信息）"."""
    if not f.sheet or ret.form is None:
        return f.sheet
    form = ret.form
    if f.field in form.fields:
        official = _sheet_titles(form).get(form.fields[f.field].sheet, "")
    elif f.sheet == ret.raw.enterprises.sheet:
        official = form.enterprise_list.sheet_title
    else:
        official = ""
    return f"{f.sheet}（{official}）" if official and official != f.sheet else f.sheet


_WORDS = {"year": "各", "prev_year": "上"}  # 2025年 -> 各年; with the previous year: 当年 ... 上年


def rule_titles(forms: list[Form]) -> dict[str, str]:
    """A title per cross-field rule, said for all its repetitions (not one year's): "各年利润率超出…",
    "当年营业收入与上年相比…", "第2、3个主导产业已填写…"."""
    by_id: dict[str, list[Rule]] = {}
    for form in forms:
        for r in form.rules:
            by_id.setdefault(r.id, []).append(r)
    return {rid: _rule_title(rules) for rid, rules in by_id.items()}


def _rule_title(rules: list[Rule]) -> str:
    messages = list(dict.fromkeys(r.message for r in rules))
    if len(messages) > 1:
        keys = {k for r in rules for k, _ in r.bindings}
        values = {k: list(dict.fromkeys(str(v) for r in rules for kk, v in r.bindings if kk == k)) for k in keys}
        words = {k: ("当" if k == "year" and "prev_year" in keys else _WORDS.get(k) or "、".join(values[k]))
                 for k in keys}
        said = []
        for r in rules:
            text = r.message
            for k, v in r.bindings:
                text = re.sub(rf"(?<!\d){re.escape(str(v))}(?!\d)", words[k], text)
            said.append(text)
        messages = list(dict.fromkeys(said))
    if len(messages) > 1:  # the repetitions differ in words the bindings do not give: keep what they share
        head = os.path.commonprefix(messages)
        tail = os.path.commonprefix([m[len(head):][::-1] for m in messages])[::-1]
        messages = [head + "各类" + tail]
    return messages[0].rstrip("。")


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


REPORT_TITLE = "2026年工业园区高质量发展创新实践 报送检查报告"


def render_html(result: BatchResult, *, title: str = REPORT_TITLE, source: str = "",
                generated: dt.datetime | None = None) -> str:
    return b"".join(html_bytes(result, title=title, source=source, generated=generated)).decode("utf-8")


def html_bytes(result: BatchResult, *, title: str = REPORT_TITLE, source: str = "",
               generated: dt.datetime | None = None) -> Iterator[bytes]:
    """The report page in UTF-8, in pieces: its data (most of the page at a national round) made and encoded
    an item at a time (_json_pieces) and let go before the template is rendered around a mark of it."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(resources.files("consolidator.write").joinpath("report.html.j2").read_text("utf-8"))
    data = _json_pieces(report_data(result, title=title, source=source, generated=generated or dt.datetime.now()))
    head, tail = template.render(title=title, data_json=jinja2.utils.markupsafe.Markup(_DATA_HERE)).split(_DATA_HERE)
    # "replace": a name that is not UTF-8 was made readable when found (read.sources.readable_name); any
    # left over (the returns folder's own name, say) must not cost the outputs
    yield head.encode("utf-8", "replace")
    yield from data
    yield tail.encode("utf-8", "replace")


_DATA_HERE = "\x00report-data\x00"  # where the page's data goes in the rendered template (no text of it has NUL)


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
    """findings.csv whole (outputs() writes it in pieces)."""
    return b"".join(findings_csv_pieces(result))


_PIECE = 1 << 20  # characters of an output made at a time


def findings_csv_pieces(result: BatchResult) -> Iterator[bytes]:
    """findings.csv in pieces of about a MB: a national round has hundreds of thousands of rows, and the whole
    text, made last, was the command's peak."""
    yield "\ufeff".encode("utf-8")  # BOM: Excel reads it as UTF-8
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    cols = FINDING_COLUMNS
    writer.writerow([COLUMNS_ZH[c] for c in cols])
    for f in (*result.skipped, *result.findings):
        row = f.as_dict()
        row["severity"] = SEVERITY_ZH[f.severity]
        writer.writerow([safe_cell(str(row[c])) for c in cols])
        if text.tell() > _PIECE:
            yield text.getvalue().encode("utf-8", "replace")
            text.seek(0)
            text.truncate()
    yield text.getvalue().encode("utf-8", "replace")


def findings_json(result: BatchResult) -> bytes:
    """findings.json whole (outputs() writes it in pieces)."""
    return b"".join(findings_json_pieces(result))


def findings_json_pieces(result: BatchResult) -> Iterator[bytes]:
    """As json.dumps(indent=1) of the whole would write it, the findings one at a time, in pieces of about a MB
    (a list of a few hundred thousand dicts and its text would hold most of the command's memory)."""
    data = {
        "statuses": result.status_counts(),
        "returns": [{"file": r.file, "park": r.park_name, "city": r.city,
                     "category": r.form.category_id if r.form else None, "status": r.status,
                     "superseded_by": r.superseded_by, "counts": r.counts()} for r in result.returns],
        "findings": [],
    }
    head = indented_json(data)  # ends with ' "findings": []\n}'
    del data
    findings = (*result.skipped, *result.findings)
    if not findings:
        yield head.encode("utf-8", "replace")
        return
    piece = [head[: -len("]\n}")]]
    size = len(piece[0])
    for k, f in enumerate(findings):  # each as the whole's dump indents it: two levels down
        item = ("," if k else "") + "\n  " + indented_json(f.as_dict(), 2)
        piece.append(item)
        size += len(item)
        if size > _PIECE:
            yield "".join(piece).encode("utf-8", "replace")
            piece, size = [], 0
    piece.append("\n ]\n}")
    yield "".join(piece).encode("utf-8", "replace")


_CONTAINERS = (dict, list, tuple)
_PLAIN = json.JSONEncoder(ensure_ascii=False).encode


@functools.lru_cache(maxsize=16)
def _flat(level: int):
    """json's C encoder for a container of plain values `level` levels down: its item separator carries
    the newline and the indent of the next item."""
    return json.JSONEncoder(ensure_ascii=False, separators=(",\n" + " " * (level + 1), ": ")).encode


def indented_json(obj: Any, level: int = 0) -> str:
    """json.dumps(obj, ensure_ascii=False, indent=1) as it stands `level` levels down, made by json's C
    encoder (an indent makes json.dumps take its Python one, several times slower)."""
    if not obj or not isinstance(obj, _CONTAINERS):
        return _PLAIN(obj)
    pad, end = "\n" + " " * (level + 1), "\n" + " " * level
    if isinstance(obj, dict):
        if not all(k.__class__ is str for k in obj):  # keys json turns into texts: its own way
            return json.dumps(obj, ensure_ascii=False, indent=1).replace("\n", end)
        if not any(isinstance(v, _CONTAINERS) for v in obj.values()):
            return "{" + pad + _flat(level)(obj)[1:-1] + end + "}"
        items = (_PLAIN(k) + ": " + indented_json(v, level + 1) for k, v in obj.items())
        return "{" + pad + ("," + pad).join(items) + end + "}"
    if not any(isinstance(v, _CONTAINERS) for v in obj):
        return "[" + pad + _flat(level)(obj)[1:-1] + end + "]"
    return "[" + pad + ("," + pad).join(indented_json(v, level + 1) for v in obj) + end + "]"


def outputs(result: BatchResult, *, source: str = ""):
    """The check's outputs, by file name, made one at a time (each can be written and let go before the
    next is made: a national round's report is most of what the command holds)."""
    yield "report.html", html_bytes(result, source=source)
    yield "findings.csv", findings_csv_pieces(result)
    yield "findings.json", findings_json_pieces(result)
