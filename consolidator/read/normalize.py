"""What parks type, read as what they meant.

Numbers as text ("1,234.5", full-width "１２３", "12.5亿元" in a 亿元 cell, "约100"), "—"/"无"/"/" for
nothing, "35%" in a % cell, dates typed as text or stored as serial numbers. Each conversion that
the office should know about comes back with a note (shown as an info finding with the original
text); what cannot be read comes back with the code of the problem.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from array import array
from itertools import accumulate
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa

from ..findings import display, locate, make_finding
from ..returns import PackedCells
from ..rules.formats import JUDGES, nfkc
from ..rules.model import Field, Form

EMPTY_MARKERS = {"", "—", "——", "-", "--", "－", "–", "/", "／", "\\", "无", "暂无", "没有", "不适用", "空",
                 "n/a", "na", "null", "none", "/无", "无/"}
APPROX_PREFIXES = ("大约", "约", "近", "逾")
# unit written after a number -> (unit of the cell it may stand in, factor to that unit)
UNIT_FACTORS = {
    ("亿元", "亿元"): 1.0, ("万元", "万元"): 1.0, ("万元", "亿元"): 1e-4, ("亿元", "万元"): 1e4,
    ("元", "万元"): 1e-4,
}
COUNT_UNITS = ("个", "家", "户")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
EXCEL_EPOCH = dt.date(1899, 12, 30)


class Read(NamedTuple):
    """A cell's value as read: `value` (None when empty), or `problem` (a finding code). (A tuple:
    made for every cell of every return.)"""

    value: Any = None
    problem: str | None = None
    note: str | None = None  # how the text was converted, when the office should know


_EMPTY = Read()


def read_value(field: Field, raw: Any) -> Read:
    """Normalise one raw cell value for `field`."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return _EMPTY
    if isinstance(raw, str) and raw.strip() == "":
        return _EMPTY
    if field.is_numeric:
        return _number(field, raw)
    if field.type == "date":
        return _date(raw)
    return _text(field, raw)


def _number(field: Field, raw: Any) -> Read:
    if isinstance(raw, bool):
        return Read(problem="type_number")
    if isinstance(raw, (int, float)):
        value = float(raw)
    elif isinstance(raw, (dt.date, dt.datetime, dt.time, dt.timedelta)):
        return Read(problem="type_number")
    else:
        text = nfkc(str(raw)).strip()
        if text.lower() in EMPTY_MARKERS:
            return Read(note="视为未填写")
        notes = []
        text = re.sub(r"\s+", "", text)
        for prefix in APPROX_PREFIXES:
            if text.startswith(prefix) and len(text) > len(prefix):
                text = text[len(prefix):]
                notes.append(f"去掉了“{prefix}”")
                break
        factor = 1.0
        unit = field.unit or ""
        if text.endswith("%"):
            if unit != "%":
                return Read(problem="type_number")
            text = text[:-1]
            notes.append("去掉了百分号")
        else:
            for (written, cell_unit), f in sorted(UNIT_FACTORS.items(), key=lambda kv: -len(kv[0][0])):
                if cell_unit == unit and text.endswith(written):
                    text = text[: -len(written)]
                    factor = f
                    notes.append("去掉了单位" if f == 1 else f"按{written}换算为{unit}")
                    break
            else:
                if unit and unit not in ("无", "%") and text.endswith(unit):
                    text = text[: -len(unit)]
                    notes.append("去掉了单位")
                elif field.type == "integer" and text.endswith(COUNT_UNITS):
                    text = text[:-1]
                    notes.append("去掉了单位")
        if _THOUSANDS.match(text):
            text = text.replace(",", "")
            notes.append("去掉了千位分隔符")
        if not _NUMBER.match(text):
            return Read(problem="type_number")
        value = float(text) * factor
        if nfkc(str(raw)) != str(raw) and not notes:
            notes.append("全角数字转为半角")
        note = "，".join(notes) or ("文本格式的数字" if not isinstance(raw, (int, float)) else None)
        if not math.isfinite(value):
            return Read(problem="type_number")
        if field.type == "integer" and not float(value).is_integer():
            return Read(problem="type_integer")
        return Read(value=value, note=note)
    if not math.isfinite(value):
        return Read(problem="type_number")
    if field.type == "integer" and not value.is_integer():
        return Read(problem="type_integer")
    return Read(value=value)


def _date(raw: Any) -> Read:
    if isinstance(raw, dt.datetime):
        return Read(value=raw.date())
    if isinstance(raw, dt.date):
        return Read(value=raw)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if 20000 < raw < 80000:  # an Excel serial date in a cell not formatted as a date
            return Read(value=EXCEL_EPOCH + dt.timedelta(days=int(raw)), note="日期序列号转为日期")
        return Read(problem="type_date")
    text = nfkc(str(raw)).strip()
    if text.lower() in EMPTY_MARKERS:
        return Read(note="视为未填写")
    m = _DATE.match(text)
    if not m:
        return Read(problem="type_date")
    try:
        return Read(value=dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))), note="文本格式的日期")
    except ValueError:
        return Read(problem="type_date")


def _text(field: Field, raw: Any) -> Read:
    if isinstance(raw, float) and raw.is_integer():
        raw = str(int(raw))  # 13912345678 typed into a text cell is stored as a number
    elif isinstance(raw, (dt.datetime, dt.date)):
        raw = raw.isoformat()[:10]
    text = unicodedata.normalize("NFC", str(raw)).strip()
    if field.type != "longtext" and text.lower() in EMPTY_MARKERS:
        return Read(note="视为未填写")
    if field.type == "choice" and field.choices:
        if text in field.choices:
            return Read(value=text)
        folded = {nfkc(c).replace(" ", "").casefold(): c for c in field.choices}
        hit = folded.get(nfkc(text).replace(" ", "").casefold())
        if hit is not None:
            return Read(value=hit, note="按选项读取")
        return Read(value=text, problem="choice")
    return Read(value=text)


# ---- a whole return ----------------------------------------------------------------------------------
def normalise_return(raw, form: Form) -> None:
    """Typed values of a return as read (raw.values, raw.unreadable) and its enterprise list's
    normalised columns; each conversion or problem becomes a finding in raw.findings.

    Runs once, in the reading worker (read.workers.read_one): the main process only validates."""
    values: dict[str, Any] = {}
    unreadable = set()
    cells = raw.cells  # (packed as the reader made it: no Cell made for a value that needs no finding)
    read = zip(cells.fids, cells.raws) if isinstance(cells, PackedCells) else ((k, c.raw) for k, c in cells.items())
    fields = form.fields
    for fid, value in read:
        if value is None:  # (as read_value reads it, without the call: most of a form is empty or numbers)
            values[fid] = None
            continue
        f = fields[fid]
        if value.__class__ is float and f.is_numeric and math.isfinite(value) and (
                f.type != "integer" or value.is_integer()):
            values[fid] = value
            continue
        got = read_value(f, value)
        if got.problem and got.problem != "choice":
            unreadable.add(fid)
            raw.findings.append(make_finding(got.problem, value=display(value), **_located(raw, form, f)))
            continue
        values[fid] = got.value
        if got.problem == "choice":
            raw.findings.append(make_finding("choice", value=display(value), expected="、".join(f.choices),
                                       **_located(raw, form, f)))
            unreadable.add(fid)
            values[fid] = None
        elif got.note:
            read = "空白" if got.value is None else display(got.value)  # ("无", "/": 已按“空白”读取（视为未填写）)
            raw.findings.append(make_finding("value_normalised", value=display(value), read=read,
                                       how=got.note, **_located(raw, form, f)))
    raw.values, raw.unreadable = values, frozenset(unreadable)
    raw.judged = tuple((f.format, str(values[f.id]), JUDGES[f.format](str(values[f.id])))
                       for f in form.fields.values() if f.format in JUDGES and values.get(f.id) is not None)
    normalise_list(raw.enterprises, form)


def _located(raw, form: Form, f: Field) -> dict[str, str]:
    return locate(raw.source.display, category=form.category_name, field=f, cell=raw.cells.get(f.id))


def normalise_list(rows, form: Form) -> None:
    """The enterprise list's raw columns -> the columns the checker validates, as the rules declare
    them: a text column as its text (stripped; "" when empty); a `format: uscc` column as the canonical
    code and `<id>_numeric` (the code was stored as a number: its last digits are lost); a choice column
    (it chooses among the list's categories) as `<id>_raw` (the text), `<id>` (the category id, None when
    the text names none) and `<id>_label`. (RawReturn.share then pools the repeated texts: one object
    each in a worker, returns.TextCodes in the main process.)

    The columns of mostly distinct texts (names, codes) and the flags are kept as pyarrow arrays: a
    national round lists most of a million enterprises, and a Python string costs some 50 bytes beyond
    its characters (returns.EnterpriseRows)."""
    if rows.normalised:
        return
    raw, empty = rows.columns, [None] * len(rows.rows)
    out: dict[str, list | pa.Array] = {}
    repetitive = []
    for c in form.enterprise_list.columns:
        values = raw.get(c.id, empty)
        if c.type == "choice":
            out.update(_choice_columns(c.id, values, form))
            repetitive += [c.id + "_raw", c.id, c.id + "_label"]
        elif c.format == "uscc":
            out[c.id] = arrow_texts([v.upper() if v.__class__ is str and v.isascii() and v.isalnum() else code_text(v)
                                     for v in values])  # (the usual code inline: most of a million rows)
            out[c.id + "_numeric"] = arrow_flags([isinstance(v, float) for v in values])
        else:
            texts = [v.strip() if v.__class__ is str else "" if v is None else display(v).strip() for v in values]
            if c.format:  # a code from a table (industry): a list repeats a few dozen of them
                repetitive.append(c.id)
            out[c.id] = texts if c.format else arrow_texts(texts)
    rows.columns, rows.repetitive, rows.normalised = out, tuple(repetitive), True
    rows.rows = _compact(rows.rows)


def _compact(rows) -> range | array:
    """A list's worksheet rows: a range where they follow each other (as a list mostly does), else an array."""
    rows = list(rows)
    if rows and rows == list(range(rows[0], rows[0] + len(rows))):
        return range(rows[0], rows[0] + len(rows))
    return array("i", rows)


def arrow_texts(texts: list[str]) -> pa.Array:
    """Texts as an Arrow array, made from its two buffers (pyarrow.array would load pandas into the reading
    worker, a third of a second each)."""
    encoded = [t.encode("utf-8") for t in texts]
    offsets = array("i", accumulate(map(len, encoded), initial=0))
    return pa.StringArray.from_buffers(len(texts), pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded)))


def arrow_flags(flags: list[bool]) -> pa.Array:
    """Flags as an Arrow array (its bits, as arrow_texts)."""
    bits = np.packbits(np.array(flags, dtype=bool), bitorder="little")
    return pa.BooleanArray.from_buffers(pa.bool_(), len(flags), [None, pa.py_buffer(bits.tobytes())])


def _choice_columns(cid: str, values: list, form: Form) -> dict[str, list]:
    labels = {nfkc(c.label): c for c in form.enterprise_list.categories}
    texts, ids, names = [], [], []
    seen: dict[tuple, tuple[str, str | None, str]] = {}  # a list repeats a handful of category texts
    for v in values:
        key = (v.__class__, v)  # 1.0 and True are equal keys, but not equal texts
        got = seen.get(key)
        if got is None:
            text = "" if v is None else str(v).strip()
            c = labels.get(nfkc(text).strip()) if v is not None else None
            got = seen[key] = (text, c.id if c else None, c.label if c else "")
        texts.append(got[0])
        ids.append(got[1])
        names.append(got[2])
    return {cid + "_raw": texts, cid: ids, cid + "_label": names}


def code_text(raw: Any) -> str:
    """A credit code as text: spaces dropped, full-width folded, upper case."""
    if raw is None:
        return ""
    if isinstance(raw, float):
        return display(raw)
    if isinstance(raw, str) and raw.isascii() and raw.isalnum():  # the usual code: nothing to fold
        return raw.upper()
    return re.sub(r"\s+", "", nfkc(str(raw))).upper()
