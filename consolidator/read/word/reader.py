"""A .docx return read into the same RawReturn as a workbook: the cells are the form's own words (the sheet a
section's heading, the cell its label and year), so that every finding names where the park finds it."""

from __future__ import annotations

import io
import zipfile
from zlib import error as zlib_error

from docx.text.paragraph import Paragraph
from lxml import etree

from ...findings import locate, make_finding
from ...returns import Cell, EnterpriseRows, RawReturn
from ...rules.model import Field, Form
from ..package import Refused, inspect_package
from .anchors import Anchor, anchors
from .document import Body, label_key, open_body, squash
from .form import NOT_FOUND, Layout, find, lay_out, raw_value
from .format import format_findings

MAX_XML_BYTES = 32 * 2**20  # one XML part of a form is well under 1 MB; lxml needs several times a part's size


def read_word(ret: RawReturn, data: bytes, forms: dict[str, Form]) -> RawReturn:
    """Read a Word package (.docx) as a return. Raises read.package.Refused for a file that is not read;
    a document that is not the form is not read as one."""
    body = _open(data)
    form = _identify(body, forms)
    ret.category, ret.located_by = form.category_id, "word"
    ret.findings.append(make_finding("read_from_word", file=ret.source.display, category=form.category_name))
    layout = lay_out(body, form)
    report = _read_fields(ret, body, layout, form)
    _read_list(ret, layout, form)
    if report:
        fid, a = next((fid, a) for fid, a in anchors(form).items() if a.kind == "report")
        where = locate(ret.source.display, category=form.category_name, field=form.fields[fid],
                       cell=Cell(a.sheet, "", None))
        ret.findings.extend(format_findings(report, body.document, where))
    return ret


def _read_fields(ret: RawReturn, body: Body, layout: Layout, form: Form) -> list[Paragraph]:
    """Every field's cell, found by its label; a field the form has no place for is a finding (those the
    official form lacks, which this round added, all in one). Returns the report's paragraphs."""
    missing: list[Field] = []
    report: list[Paragraph] = []
    for fid, f in form.fields.items():
        a = anchors(form).get(fid)
        if a is not None and a.kind == "report":
            found = _report(body, layout, form, f, a)
            if found is not NOT_FOUND:
                report = [p for p, _ in found]
                raw = raw_value(f, [t for _, t in found])
        else:
            found = raw = find(f, a, body, layout) if a is not None else NOT_FOUND
        if found is not NOT_FOUND:
            ret.cells[fid] = Cell(a.sheet, a.where(), raw)
        elif f.source == "added" and not f.explains:
            missing.append(f)
        elif not f.explains:  # (a 情况说明 the park did not write explains nothing)
            ret.findings.append(make_finding("field_not_found", file=ret.source.display, field=fid,
                                             label=a.label if a else f.label))
    if missing:
        ret.findings.append(make_finding("word_fields_missing", file=ret.source.display, category=form.category_name,
                                         value="、".join(f.display_label for f in missing)))
    return report


def _open(data: bytes) -> Body:
    """The document, once its package has been found safe to parse (as a workbook's is: no bomb, no DTD)."""
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise Refused("word_unreadable", reason="压缩结构已损坏") from None
    problem = inspect_package(package, complete=False)
    if problem is not None:
        raise Refused(problem[0], reason=problem[1])
    for info in package.infolist():
        if info.filename.endswith((".xml", ".rels")) and info.file_size > MAX_XML_BYTES:
            raise Refused("file_too_large", reason=f"部件 {info.filename} 解压后约 {info.file_size / 2**20:.0f} MB")
    try:
        return open_body(data)
    except MemoryError:
        raise
    except Exception as exc:  # python-docx and lxml raise many types for a damaged package
        raise Refused("word_unreadable", reason=_damage(exc)) from None


def _damage(exc: Exception) -> str:
    """What is wrong with a package python-docx could not open, in the office's words."""
    if isinstance(exc, etree.XMLSyntaxError):
        return "文档内容（XML）已损坏"
    if isinstance(exc, (zipfile.BadZipFile, zlib_error, EOFError)):
        return "压缩结构已损坏"
    if isinstance(exc, KeyError):
        return "文件结构不完整（缺少部件）"
    said = str(exc).lower()
    if "content type" in said or "not a word file" in said:
        return "不是标准的 Word 文档（.docx），可能是启用宏的文档或模板"
    return "文档结构无法解析"


def _identify(body: Body, forms: dict[str, Form]) -> Form:
    """The category of the form: its name in the cover's title line or in section 二's heading, as a
    workbook's is found by its title."""
    text = "\n".join(squash(t) for t in body.texts() if t)
    hits = [f for f in sorted(forms.values(), key=lambda f: f.order)
            if squash(f"（{f.category_name}）") in text or squash(f"{f.category_name}创新实践概述") in text]
    if hits:
        return hits[0]
    if any(squash(f.title) in text for f in forms.values()):
        raise Refused("not_template", reason="Word 文档中有表单标题，但未找到填报类别")
    raise Refused("file_not_workbook", kind="Word 文档，不是本次的填报表单")


def _report(body: Body, layout: Layout, form: Form, f: Field, a: Anchor):
    """The report's paragraphs (with their texts): those after its section's table, up to the next part of
    the form; when none, the cells below the report's title in the table, without the form's 填写要求."""
    key = label_key(a.sheet)
    end = layout.last_table.get(key)
    if end is None:
        return NOT_FOUND
    upto = min((s for s in layout.starts if s > end), default=float("inf"))
    out = [(p, t) for pos, p, t in body.paragraphs if end < pos < upto and t.strip()]
    if out:
        return out
    rows = layout.sections[key]
    hit = layout.occurrence(rows, {a.key}, 0)
    if hit is None:
        return NOT_FOUND
    intro = {squash(line) for line in (form.block(f.block).intro or "").splitlines()}
    owner = body.document._body
    return [(Paragraph(el, owner), t) for row in rows[hit[0] + 1:] for c in row.cells
            for el, t in zip(c.elements, c.paragraphs) if squash(t) not in intro]


def _read_list(ret: RawReturn, layout: Layout, form: Form) -> None:
    """The enterprise list's tables, entry by entry: `rows` counts the entries (the n-th enterprise listed),
    and a finding's cell is the column's heading and that number."""
    spec = form.enterprise_list
    if not layout.lists:
        return
    category = spec.column("category")
    out = ret.enterprises = EnterpriseRows(spec.sheet_title, {c.id: f"{c.label} · " for c in spec.columns})
    out.columns = {c.id: [] for c in spec.columns}
    header = {label_key(c.label) for c in spec.columns}
    for table in layout.lists:
        for row in table.rows:
            cells = {cid: row.covering(col) for cid, col in table.columns.items()}
            values = {cid: (c.text.strip() or None) if c else None for cid, c in cells.items()}
            if not any(values.values()) or {label_key(v) for v in values.values() if v} <= header:
                continue  # an empty row, or the heading repeated on the next page
            if category not in table.columns:
                values[category] = table.category
            out.rows.append(len(out.rows) + 1)
            for c in spec.columns:
                out.columns[c.id].append(values.get(c.id))
