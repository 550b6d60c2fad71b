"""Which park a return belongs to, which of a park's returns counts, and what the roster says is missing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from ..findings import Finding, make_finding
from ..read.roster import Park, park_key
from ..returns import RawReturn
from ..rules.model import Form
from .results import (
    STATUS_MISSING,
    STATUS_SUPERSEDED,
    STATUS_UNREADABLE,
    CheckedReturn,
    ParkStatus,
)


# ---- step 2: which return of a park counts ------------------------------------------------------------
def attach_parks(checked: list[CheckedReturn], roster: list[Park] | None) -> None:
    by_id = {p.park_id: p for p in roster or []}
    by_name = {park_key(p.name): p for p in roster or []}
    for ret in checked:
        park = None
        if ret.raw.park_id and ret.raw.park_id in by_id:
            park = by_id[ret.raw.park_id]
        roles = ret.form.roles if ret.form else {}  # which fields name the park, its city, the filling date
        name = ret.values.get(roles["park_name"]) if ret.form else None
        if park is None and name:
            park = by_name.get(park_key(name))
        if park is None and not ret.raw.readable:
            hits = [p for p in roster or [] if park_key(p.name) in park_key(ret.file)]
            park = max(hits, key=lambda p: len(p.name)) if hits else None
        ret.park = park
        ret.park_name = park.name if park else (name or "")
        ret.city = park.city if park else str(ret.values.get(roles.get("city")) or "")
        fill = ret.values.get(roles.get("fill_date"))
        ret.fill_date = fill if isinstance(fill, dt.date) else None


def newest_wins(checked: list[CheckedReturn]) -> None:
    groups: dict[str, list[CheckedReturn]] = defaultdict(list)
    for ret in checked:
        if ret.raw.readable:
            key = ret.park.park_id if ret.park else "name:" + park_key(ret.park_name or ret.file)
            groups[key].append(ret)
    for rets in groups.values():
        rets.sort(key=lambda r: (r.fill_date or dt.date.min, r.raw.source.mtime, r.file))
        newest = rets[-1]
        for old in rets[:-1]:
            old.status = STATUS_SUPERSEDED
            old.superseded_by = newest.file
            old.version_findings = old.findings  # those of reading; its checks are added by check_batch
            old.findings = [make_finding("superseded", newer=newest.file, **old.locate())]




def roster_findings(checked: list[CheckedReturn], roster: list[Park] | None, forms: dict[str, Form]) -> list[Finding]:
    out: list[Finding] = []
    if roster is None:
        return out
    for ret in checked:
        if ret.status == STATUS_SUPERSEDED or not ret.raw.readable:
            continue
        if ret.park is None:
            ret.findings.append(make_finding("park_not_in_roster", value=ret.park_name or ret.file, **ret.locate()))
        elif ret.form and ret.park.category and ret.park.category != ret.form.category_id:
            ret.findings.append(make_finding("category_mismatch", value=ret.form.category_name,
                                       expected=forms[ret.park.category].category_name, **ret.locate()))
    seen = {r.park.park_id for r in checked if r.park}
    for park in roster:
        if park.park_id not in seen:
            out.append(make_finding("not_submitted", name=park.name, park=park.name, city=park.city,
                              category=forms[park.category].category_name if park.category in forms else ""))
    return out


def park_statuses(checked: list[CheckedReturn], roster: list[Park] | None, forms) -> list[ParkStatus]:
    groups: dict[str, list[CheckedReturn]] = defaultdict(list)
    for ret in checked:
        key = ret.park.park_id if ret.park else ("name:" + park_key(ret.park_name) if ret.park_name else "file:" + ret.file)
        groups[key].append(ret)
    out = []
    for key, rets in groups.items():
        cur = next((r for r in rets if r.current), None)
        status = cur.status if cur else (STATUS_UNREADABLE if any(r.status == STATUS_UNREADABLE for r in rets)
                                         else STATUS_SUPERSEDED)
        first = cur or rets[0]
        cat = first.form.category_name if first.form else (forms[first.park.category].category_name
                                                             if first.park and first.park.category in forms else "")
        out.append(ParkStatus(key, first.park_name or first.file, first.city, cat, first.park, status, cur, rets))
    for park in roster or []:
        if park.park_id not in groups:
            cat = forms[park.category].category_name if park.category in forms else ""
            out.append(ParkStatus(park.park_id, park.name, park.city, cat, park, STATUS_MISSING, None, []))
    order = {p.park_id: p.row for p in roster or []}
    out.sort(key=lambda p: (order.get(p.park.park_id, 10**9) if p.park else 10**9, p.name))
    return out


# files a park sends beside its return: the stamped scan, photos, a Word or OFD document
ATTACHMENT_SUFFIXES = {".pdf": "PDF 文件", ".jpg": "图片", ".jpeg": "图片", ".png": "图片", ".gif": "图片", ".bmp": "图片",
                       ".tif": "图片", ".tiff": "图片", ".heic": "图片", ".ofd": "OFD 文件", ".doc": "Word 文档",
                       ".wps": "WPS 文档"}


def _place_of(display: str) -> str:
    """The folder (or the archive) a file was found in."""
    outer = display.split("!", 1)[0] if "!" in display else display
    return outer if "!" in display else (outer.rsplit("/", 1)[0] if "/" in outer else "")


def split_attachments(raws: list[RawReturn], roster: list[Park] | None,
                      forms: dict[str, Form]) -> tuple[list[RawReturn], list[Finding]]:
    """The returns to check, and a finding for each file that is a park's attachment rather than a return:
    a PDF, image or document that could not be read as a return and whose name contains a roster park's
    name, or that lies in the same folder or archive as a return of that park."""
    candidates = [r for r in raws if not r.readable and Path(r.source.display).suffix.lower() in ATTACHMENT_SUFFIXES]
    if not candidates:
        return raws, []
    by_id = {p.park_id: p for p in roster or []}
    by_name = {park_key(p.name): p for p in roster or []}
    where: dict[str, Park] = {}
    for r in raws:
        if r.readable and r.category in forms:
            form = forms[r.category]
            name = str((r.values or {}).get(form.roles["park_name"]) or "").strip()
            park = by_id.get(r.park_id or "") or by_name.get(park_key(name))
            if park is None and name and roster is None:  # no roster: the park as its return names it
                park = by_name.setdefault(park_key(name), Park(r.park_id or "", name, "", "", r.category, "", "", 0))
            if park is not None:
                where.setdefault(_place_of(r.source.display), park)
    names = longest_first(by_name.values())
    found, taken = [], set()
    for r in candidates:
        park = named_park(r.source.display, names) or where.get(_place_of(r.source.display))
        if park is None:
            continue
        taken.add(id(r))
        found.append(attachment_finding(r.source.display, park, forms))
    return [r for r in raws if id(r) not in taken], found


def is_attachment_like(display: str) -> bool:
    return Path(display).suffix.lower() in ATTACHMENT_SUFFIXES


def longest_first(parks) -> list[tuple[str, Park]]:
    """(name key, park), the longest name first: 苏州工业园区 is found before 苏州 would be."""
    return sorted(((park_key(p.name), p) for p in parks), key=lambda kp: -len(kp[0]))


def named_park(display: str, names: list[tuple[str, Park]]) -> Park | None:
    """The park (of longest_first) whose name the file's name, or its folder's, contains."""
    key = park_key(display)
    return next((p for name, p in names if name in key), None)


def attachment_finding(display: str, park: Park, forms: dict[str, Form]) -> Finding:
    return make_finding("park_attachment", file=display, park=park.name, city=park.city,
                        category=forms[park.category].category_name if park.category in forms else "",
                        park_name=park.name, kind=ATTACHMENT_SUFFIXES[Path(display).suffix.lower()])
