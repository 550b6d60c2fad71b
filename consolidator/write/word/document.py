"""The Word form (.docx) of one return: the category's blank form (skeleton.py) filled with the return's
values, its report typeset to the form's standard (report.py), the 情况说明 and the enterprise list
appended. Pure: the document comes back as bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from copy import deepcopy
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.text import WD_PARAGRAPH_ALIGNMENT
from docx.oxml.ns import qn
from docx.oxml.parser import parse_xml
from docx.shared import Pt
from docx.table import _Cell, _Row
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from lxml.etree import SubElement, tostring

from ...expr import is_missing
from ...rules.model import Field, Form
from ...rules.wordlayout import CHECKED, UNCHECKED, WIDTHS_MM, label_of
from ..evaluation import REDACTED
from ..xlsx import xml_text
from . import report as rpt
from .ooxml import exact_spacing, repeat_as_header, set_fonts
from .skeleton import Place, page_break, row_frame, skeleton, table_frame
from .styles import (
    COVER_PT,
    FANG,
    HEI,
    REPORT_STYLES,
    SECTION_PT,
    SYMBOL_FONT,
    TABLE_PT,
    base_document,
    report_format,
    style,
)

COVER_VALUE_CHARS = 16  # the underlined room after a cover label, in characters
FILE_FORBIDDEN = re.compile(r'[\\/:*?"<>|\x00-\x1f]')

Redact = Callable[[str], str]


def docx_name(park_name: str, form: Form) -> str:
    """The document's file name: 园区名称-经验总结材料（类别）.docx (characters no file name may hold removed)."""
    name = FILE_FORBIDDEN.sub("", xml_text(park_name or "")).strip() or "园区"
    return f"{name}-{form.subtitle}（{form.category_name}）.docx"


def form_document(form: Form, values: dict[str, Any], *, blind: bool = False, number: str = "",
                  enterprises: Iterable[dict[str, Any]] | None = None, show_region: bool = False) -> bytes:
    """The official form of `form` filled with `values` (field id -> typed value, computed indicators
    included, as CheckedReturn.values holds them; missing fields stay blank, so `{}` gives the blank
    form), as .docx bytes. `blind`: the park's name, the filling unit and every contact are hidden, also
    inside the texts (as in the expert panel's workbook), the park's region too unless `show_region`
    (evaluation.region), and the enterprise list shows the count of each kind instead of the enterprises
    (evaluation.list_identifying); `number` (E01) is printed in the header.
    `enterprises`: the enterprise list's rows (column id -> value), appended as the list footnote 5 asks for."""
    w = _Filler(form, values, _redactor(form, values) if blind else None, show_region)
    w.fill(number, list(enterprises or ()))
    if values:  # a filled form was made now (the blank one carries the form's date)
        w.doc.core_properties.created = w.doc.core_properties.modified = _now_utc()
    out = io.BytesIO()
    w.doc.save(out)
    return out.getvalue()


def _now_utc() -> dt.datetime:
    """Now in UTC without a zone (what python-docx writes as …Z), to the second."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def return_document(ret, *, blind: bool = False, number: str = "") -> bytes:
    """form_document for a checked return (check.results.CheckedReturn), with its enterprise list."""
    rows = ret.raw.enterprises.records() if ret.raw is not None else []
    return form_document(ret.form, ret.values, blind=blind, number=number, enterprises=rows)


def _redactor(form: Form, values: dict[str, Any]) -> Redact:
    """What the panel's workbook hides (write/evaluation.py: evaluation.identifying), hidden the same way:
    every identifying value of two characters or more, longest first, wherever a text repeats it."""
    identifying = form.evaluation.identifying if form.evaluation else ()
    secrets = sorted({str(values.get(fid) or "").strip() for fid in identifying} - {""}, key=len, reverse=True)
    secrets = [s for s in secrets if len(s) >= 2]

    def redact(text: str) -> str:
        for s in secrets:
            text = text.replace(s, REDACTED)
        return text

    return redact


@lru_cache(maxsize=32)
def _formatted_run(font: str, size: float, underline: bool = False):
    """The w:rPr python-docx makes for a run in `font` (Latin and East-Asian) at `size`, made once: the
    report and the cover copy it into each run (a copy of an element instead of python-docx's property
    calls, which are most of the time of a document)."""
    p = Document(io.BytesIO(base_document())).add_paragraph()
    run = p.add_run()
    set_fonts(run, font, size)
    if underline:
        run.font.underline = True
    return run._r.rPr


@lru_cache(maxsize=len(REPORT_STYLES))
def _report_paragraph(level: int):
    """The w:pPr of a report paragraph of `level` (its style and the standard set on it), made once."""
    p = Document(io.BytesIO(base_document())).add_paragraph()
    style(p, REPORT_STYLES[level])
    report_format(p.paragraph_format)
    return p._p.pPr


def _run(p: Paragraph, text: str, font: str, size: float, *, underline: bool = False):
    r = text_run(p, text)
    r._r.insert(0, deepcopy(_formatted_run(font, size, underline)))
    return r


def text_run(p: Paragraph, text: str) -> Run:
    """p.add_run(text), the same elements made directly: python-docx's run.text first looks for content to
    clear (an XPath query) and then reads the text a character at a time for tabs and line breaks (the enterprise
    list's hundreds of cells took two thirds of a document's time so). A text with a tab or a line break still
    goes python-docx's way."""
    if not text or "\t" in text or "\n" in text or "\r" in text:
        return p.add_run(text)
    r = SubElement(p._p, _W_R)  # where add_r puts it: a paragraph's runs come last
    t = SubElement(r, _W_T)
    t.text = text
    if len(text.strip()) < len(text):
        t.set(_XML_SPACE, "preserve")
    return Run(r, p)


_W_R, _W_T, _XML_SPACE = qn("w:r"), qn("w:t"), qn("xml:space")


def _filled_rows(blank, rows: list[tuple[str, ...]]) -> list:
    """Copies of the blank row `blank`, each cell's paragraph given its value's run as text_run makes it, all
    parsed at once: the cells of an enterprise list (hundreds of rows) made one by one through deepcopy and
    python-docx's child lookups took a third of a document's time. A row with a tab or a line break in it is made
    the slow way, so that its runs are python-docx's."""
    pieces = tostring(blank, encoding="unicode").split("</w:p>")
    cells = len(blank.tc_lst)
    if len(pieces) != cells + 1 or any(len(tc.p_lst) != 1 for tc in blank.tc_lst):
        return [_slow_row(blank, values) for values in rows]
    head, _, rest = pieces[0].partition(">")
    declared = "".join(_XMLNS.findall(head))  # every namespace of the document: once, on the wrapper
    pieces[0] = _XMLNS.sub("", head) + ">" + rest
    out: list[str] = []
    slow: dict[int, tuple[str, ...]] = {}
    for k, values in enumerate(rows):
        if any(v and ("\t" in v or "\n" in v or "\r" in v) for v in values):
            slow[k] = values
            out.append("</w:p>".join(pieces))  # a place for it
            continue
        for piece, value in zip(pieces, (*values[:cells], *("",) * (cells - len(values)))):
            out.append(piece)
            if value:
                space = ' xml:space="preserve"' if len(value.strip()) < len(value) else ""
                out.append(f"<w:r><w:t{space}>{escape(value)}</w:t></w:r>")
            out.append("</w:p>")
        out.append(pieces[-1])
    made = list(parse_xml(f'<w:tbl{declared}>{"".join(out)}</w:tbl>'))
    for k, values in slow.items():
        made[k] = _slow_row(blank, values)
    return made


def _slow_row(blank, values: tuple[str, ...]):
    tr = deepcopy(blank)
    for tc, value in zip(tr.tc_lst, values):
        if value:
            text_run(Paragraph(tc.p_lst[0], None), value)
    return tr


_XMLNS = re.compile(r'\sxmlns(?::\w+)?="[^"]*"')


class _Filler:
    def __init__(self, form: Form, values: dict[str, Any], redact: Redact | None, show_region: bool = False):
        self.form, self.values, self.redact = form, values, redact
        ev = form.evaluation if redact else None
        self.identifying = {*ev.identifying, *(() if show_region else ev.region)} if ev else set()
        self.list_hidden = set(ev.list_identifying) if ev else set()
        self.skeleton = skeleton(form)
        self.doc = Document(io.BytesIO(self.skeleton.docx))

    def fill(self, number: str, enterprises: list[dict[str, Any]]) -> None:
        a = self.skeleton.anchors
        body = self.doc.element.body
        paragraphs = list(body.iterchildren(qn("w:p")))
        tables = self.doc.tables
        for i, fid, remark in a.cover:
            self.cover_value(Paragraph(paragraphs[i], self.doc._body), self.form.fields[fid], remark)
        for i, fid in a.fields:
            p, f = Paragraph(paragraphs[i], self.doc._body), self.form.fields[fid]
            if f.type == "choice":
                self.add_options(p, f, rpt.SIZE_PT)
            else:
                _run(p, self.shown(f), FANG, rpt.SIZE_PT)
        rows: dict[int, list] = {}
        for place in a.cells:
            if place.table not in rows:
                rows[place.table] = [tr.tc_lst for tr in tables[place.table]._tbl.tr_lst]
            self.cell_value(_Cell(rows[place.table][place.row][place.cell], tables[place.table]), place)
        for t, fid in a.reports:
            self.report(tables[t]._tbl, fid)
        if number:
            header = self.doc.sections[0].header.paragraphs[0]
            header.alignment = WD_PARAGRAPH_ALIGNMENT.RIGHT
            set_fonts(header.add_run(f"评审编号：{xml_text(number)}"), HEI, TABLE_PT)
        self.notes()
        if enterprises:
            self.enterprise_list(enterprises)

    # ---- the values
    def text(self, text: str) -> str:
        text = xml_text(text)
        return self.redact(text) if self.redact else text

    def shown(self, f: Field) -> str:
        """A field's value as the form prints it ("" when there is none)."""
        v = self.values.get(f.id)
        if f.id in self.identifying and not _missing(v):
            return REDACTED
        return self.text(display(f, v))

    def options(self, f: Field) -> list[tuple[str, str]]:
        """A choice as the form prints it, as (box, text) pieces: every option with ☑ (the chosen one) or
        ☐, and what was entered when it is none of them. Options from other fields (choices_from) are
        their values; none filled: the value alone."""
        v = self.values.get(f.id)
        chosen = "" if _missing(v) else str(v)
        if f.choices:
            options = list(f.choices)
        else:
            options = [str(self.values[fid]) for fid in (f.choices_from or ()) if not _missing(self.values.get(fid))]
        pieces = [(CHECKED if o == chosen else UNCHECKED, self.text(o)) for o in options]
        if chosen and chosen not in options:
            pieces.append(("", self.text(f"（{chosen}）" if options else chosen)))
        return pieces

    def add_options(self, p: Paragraph, f: Field, size: float) -> None:
        for i, (box, text) in enumerate(self.options(f)):
            if box:
                _run(p, ("\u3000" if i else "") + box, SYMBOL_FONT, size)
            if size == TABLE_PT:  # in a table, whose style gives the font
                text_run(p, text)
            else:
                _run(p, text, FANG, size)

    def cover_value(self, p: Paragraph, f: Field, remark: str) -> None:
        if f.type == "date":
            v = self.values.get(f.id)
            parts = [str(v.year), str(v.month), str(v.day)] if isinstance(v, (dt.date, dt.datetime)) else [""] * 3
            for value, unit in zip(parts, "年月日"):
                _run(p, f"\u3000{value}\u3000" if value else "\u3000" * (4 if unit == "年" else 3), FANG, COVER_PT,
                     underline=True)
                _run(p, unit, FANG, COVER_PT)
            return
        value = self.shown(f)
        room = max(COVER_VALUE_CHARS - len(remark), 4)
        _run(p, value + "\u3000" * max(room - len(value), 0), FANG, COVER_PT, underline=True)
        if remark:
            _run(p, remark, FANG, COVER_PT)

    def cell_value(self, cell: _Cell, place: Place) -> None:
        f = self.form.fields[place.fid]
        p = cell.paragraphs[0]
        if f.type == "longtext":
            for i, line in enumerate(_lines(self.shown(f))):
                q = p if (i == 0 and not place.after) else cell.add_paragraph()
                style(q, "FormLong")
                text_run(q, line)
        elif f.type == "choice":
            self.add_options(p, f, TABLE_PT)
        else:
            text = self.shown(f)
            if text:
                text_run(p, text)

    # ---- the report, the notes, the list
    def report(self, tbl, fid: str) -> None:
        """The report after its section's table (before the page break to the next section), one paragraph
        per line, to the form's standard: the style says it, and so does each paragraph and run."""
        paragraphs = rpt.report_paragraphs(self.shown(self.form.fields[fid])) or [rpt.ReportParagraph(0, ())]
        after = tbl.getnext()
        anchor = Paragraph(after, self.doc._body) if after is not None and after.tag == qn("w:p") else None
        # an empty line between the table and the report (a paragraph: the standard allows no spacing)
        for para in [rpt.ReportParagraph(0, ()), *paragraphs]:
            p = anchor.insert_paragraph_before() if anchor is not None else self.doc.add_paragraph()
            p._p.insert(0, deepcopy(_report_paragraph(para.level)))
            for piece in para.pieces:
                _run(p, piece.text, piece.font, rpt.SIZE_PT)

    def notes(self) -> None:
        """The 情况说明 the park wrote (the workbook's column, which the form has not): a table, if any."""
        filled = [self.form.fields[fid] for fid in self.skeleton.plan.notes if not _missing(self.values.get(fid))]
        if not filled:
            return
        p = self.doc.add_paragraph()
        exact_spacing(p.paragraph_format, SECTION_PT * 2)
        p.paragraph_format.space_before = Pt(12)
        _run(p, "附：数据情况说明", HEI, SECTION_PT)
        rows = [(label_of(self.form.fields[self.form.families[f.explains][0]]), self.shown(f)) for f in filled]
        self.simple_table(("指标", "情况说明"), rows, (50, 110))

    def enterprise_list(self, rows: list[dict[str, Any]]) -> None:
        spec = self.form.enterprise_list
        page_break(self.doc)
        p = self.doc.add_paragraph()
        exact_spacing(p.paragraph_format, SECTION_PT * 2)
        _run(p, spec.title, HEI, SECTION_PT)
        labels = {c.id: c.label for c in spec.categories}  # a list as checked names its categories by id
        columns = [c for c in spec.columns if c.id not in self.list_hidden]
        body = [tuple(self.text(labels.get(v, v) if c.role == "category" and isinstance(v, str) else _plain(v))
                      for c in columns for v in [r.get(c.id)]) for r in rows]
        heads, roles = tuple(c.label for c in columns), [c.role for c in columns]
        if self.list_hidden:  # blind: how many enterprises of each kind, by category, then as the list first names them
            order, at = {self.text(c.label): i for i, c in enumerate(spec.categories)}, roles.index("category")
            kinds = sorted(Counter(body).items(), key=lambda kind: order.get(kind[0][at], len(order)))
            body = [(*kind, str(n)) for kind, n in kinds]
            heads, roles = (*heads, "企业数量"), [*roles, "count"]
            hidden = "、".join(c.label for c in spec.columns if c.id in self.list_hidden)
            p = self.doc.add_paragraph()
            _run(p, f"（评审用材料隐去{hidden}，按{'、'.join(heads[:-1])}列出企业数量，共 {len(rows)} 家。）",
                 FANG, TABLE_PT)
        self.simple_table(heads, body, _list_widths(roles))

    def simple_table(self, heads: tuple[str, ...], rows: list[tuple[str, ...]], widths_mm) -> None:
        """A header and a row per entry: the table framed by python-docx once a process (framing it took ~1.5 ms a
        document), its body rows copies of one blank row (an enterprise list has hundreds)."""
        tbl, blank = _framed(self.skeleton.docx, heads, tuple(widths_mm))
        tbl = deepcopy(tbl)
        self.doc.element.body._insert_tbl(tbl)  # where doc.add_table puts it
        tbl.extend(_filled_rows(blank, rows))


@lru_cache(maxsize=8)
def _framed(docx: bytes, heads: tuple[str, ...], widths_mm: tuple[float, ...]):
    """A simple table as python-docx frames it in a document of this blank form (the skeleton's bytes): the
    table with its header row filled in, and the blank body row apart."""
    table = Document(io.BytesIO(docx)).add_table(rows=2, cols=len(heads))
    table_frame(table, widths_mm)
    head, blank = table._tbl.tr_lst
    for tr, sid in ((head, "FormHead"), (blank, "FormText")):
        for tc in tr.tc_lst:
            style(_Cell(tc, table).paragraphs[0], sid)
        row_frame(_Row(tr, table), split=False)
    repeat_as_header(_Row(head, table))
    blank.getparent().remove(blank)
    for tc, value in zip(head.tc_lst, heads):
        if value:
            text_run(Paragraph(tc.p_lst[0], None), value)
    table._tbl.getparent().remove(table._tbl)
    return table._tbl, blank


def _missing(v) -> bool:
    return v is None or is_missing(v) or (isinstance(v, str) and not v.strip())


def display(f: Field, v) -> str:
    """A value as the form prints it: counts whole, numbers with two decimals (or the field's own) and
    thousands separators, dates as 2026年11月15日, texts as they are ("" for nothing)."""
    if _missing(v):
        return ""
    if f.type == "date" and isinstance(v, (dt.date, dt.datetime)):
        return f"{v.year}年{v.month}月{v.day}日"
    if f.is_numeric and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
        if f.type == "integer" and float(v).is_integer():
            return f"{int(v):,}"
        decimals = 2 if f.decimals is None else f.decimals
        return f"{v:,.{decimals}f}"
    return str(v)


def _plain(v) -> str:
    if _missing(v):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _list_widths(roles: list[str | None]) -> tuple[float, ...]:
    """The list's columns over the page. The credit code keeps its 18 characters on one line even in a wide
    substitute font (LibreOffice's where 仿宋_GB2312 is missing: 42 mm broke it in two); the industry, a code
    such as C39 more often than a name, has what is left."""
    fixed = {"category": 38 if "name" in roles else 76, "name": 46, "key": 50, "count": 24}  # (76: a label on a line)
    rest = sum(WIDTHS_MM) - sum(fixed[r] for r in roles if r in fixed)
    others = sum(1 for r in roles if r not in fixed)
    return tuple(fixed[r] if r in fixed else max(rest / max(others, 1), 20) for r in roles)
