"""The blank form of a category, written once per process: everything the form prints but the park's
values (title, labels, footnotes, hints, instructions, the tables with their merged cells), and where
each value goes. A return's document is this blank form reopened and filled (document.py): the tables
and their merges, which are most of python-docx's work, are made once per category, not once per park.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache

from docx import Document
from docx.enum.table import (
    WD_CELL_VERTICAL_ALIGNMENT,
    WD_ROW_HEIGHT_RULE,
    WD_TABLE_ALIGNMENT,
)
from docx.enum.text import WD_BREAK, WD_PARAGRAPH_ALIGNMENT
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import _Cell, _Row
from docx.text.paragraph import Paragraph

from ...rules.model import Form
from ...rules.wordlayout import (
    NCOLS,
    WIDTHS_MM,
    Declaration,
    Plan,
    Section,
    Slot,
    form_plan,
)
from . import report as rpt
from .ooxml import (
    Footnotes,
    exact_spacing,
    keep_row_together,
    repeat_as_header,
    set_fonts,
)
from .styles import (
    COVER_PT,
    FANG,
    HEI,
    KAI,
    SMALL_PT,
    TABLE_PT,
    TITLE_PT,
    base_document,
    style,
)

ROW_MM = 7  # the least height of a table row
BODY_LINE_PT = 26  # the instructions and the declaration


@dataclass(frozen=True)
class Place:
    """Where a table value goes: the first paragraph of cell `cell` of row `row` of the `table`-th table
    (`after`: appended after the paragraphs there, a long text below its hint)."""

    table: int
    row: int
    cell: int
    fid: str
    after: bool = False


@dataclass
class Anchors:
    cover: list[tuple[int, str, str]] = field(default_factory=list)  # (body paragraph, field, remark)
    fields: list[tuple[int, str]] = field(default_factory=list)  # the declaration's: (body paragraph, field)
    cells: list[Place] = field(default_factory=list)
    reports: list[tuple[int, str]] = field(default_factory=list)  # (table, field): the report follows the table


@dataclass(frozen=True)
class Skeleton:
    docx: bytes
    anchors: Anchors
    plan: Plan


@lru_cache(maxsize=16)
def skeleton(form: Form) -> Skeleton:
    """The blank form of `form` and where its values go."""
    return _Builder(form).build()


def page_break(doc) -> Paragraph:
    """A page break in a paragraph one point high: its mark, which goes over to the next page, takes no
    room there."""
    p = doc.add_paragraph()
    exact_spacing(p.paragraph_format, 1)
    r = p.add_run()
    r.font.size = Pt(1)
    r.add_break(WD_BREAK.PAGE)
    return p


def table_frame(table, widths_mm) -> None:
    """Borders (Table Grid), centred, fixed column widths (grid and every cell: Word reads the one,
    LibreOffice the other), cells centred vertically."""
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for col, mm in zip(table.columns, widths_mm):
        col.width = Mm(mm)
    for tr in table._tbl.tr_lst:
        for tc, mm in zip(tr.tc_lst, widths_mm):
            cell = _Cell(tc, table)
            cell.width = Mm(mm)
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def row_frame(row: _Row, *, split: bool) -> None:
    row.height = Mm(ROW_MM)
    row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    if not split:
        keep_row_together(row)


def split_remark(title: str) -> tuple[str, str]:
    """"土地利用情况（截至2025年12月31日）" -> the title and its remark, which the form prints on a line of
    its own (the block's footnote goes between them)."""
    if title.endswith("）") and "（" in title:
        at = title.rindex("（")
        if at > 0:
            return title[:at], title[at:]
    return title, ""


class _Builder:
    def __init__(self, form: Form):
        self.form = form
        self.plan = form_plan(form)
        self.doc = Document(io.BytesIO(base_document()))
        self.footnotes = Footnotes(self.doc, FANG, SMALL_PT, style="FormNote")
        self.anchors = Anchors()
        self.paragraphs: dict[str, list] = {"cover": [], "fields": []}  # w:p elements, indexed at the end
        self.tables = 0

    def build(self) -> Skeleton:
        self.cover()
        page_break(self.doc)
        self.instructions()
        for d in self.plan.declarations:
            self.declaration(d)
        for sec in self.plan.sections:
            page_break(self.doc)
            self.table(sec)
        body = list(self.doc.element.body.iterchildren(qn("w:p")))
        index = {id(p): i for i, p in enumerate(body)}
        self.anchors.cover = [(index[id(p)], fid, remark) for p, fid, remark in self.paragraphs["cover"]]
        self.anchors.fields = [(index[id(p)], fid) for p, fid in self.paragraphs["fields"]]
        out = io.BytesIO()
        self.doc.save(out)
        return Skeleton(out.getvalue(), self.anchors, self.plan)

    def paragraph(self, text: str = "", *, font: str = FANG, size: float = rpt.SIZE_PT, align=None,
                  line: float | None = BODY_LINE_PT, indent_chars: float = 0) -> Paragraph:
        p = self.doc.add_paragraph()
        exact_spacing(p.paragraph_format, line)
        if align is not None:
            p.alignment = align
        if indent_chars:
            p.paragraph_format.first_line_indent = Pt(size * indent_chars)
            p.alignment = WD_PARAGRAPH_ALIGNMENT.JUSTIFY
        if text:
            set_fonts(p.add_run(text), font, size)
        return p

    def heading(self, text: str, space_before: float = 0) -> None:
        p = self.paragraph(text, font=HEI, size=COVER_PT, align=WD_PARAGRAPH_ALIGNMENT.CENTER, line=COVER_PT * 2)
        p.paragraph_format.space_before = Pt(space_before)
        p.paragraph_format.space_after = Pt(6)

    # ---- cover, instructions, declaration
    def cover(self) -> None:
        lines = self.plan.title_lines
        for i, line in enumerate(lines):
            category = i == len(lines) - 1 and len(lines) > 1  # （推动绿色安全发展类）
            p = self.paragraph(line, font=KAI if category else HEI, size=COVER_PT if category else TITLE_PT,
                               align=WD_PARAGRAPH_ALIGNMENT.CENTER, line=COVER_PT * 2 if category else TITLE_PT * 1.8)
            if i == 0:
                p.paragraph_format.space_before = Pt(120)
        for i, c in enumerate(self.plan.cover):
            p = self.paragraph(f"{c.label}：", font=HEI, size=COVER_PT, line=COVER_PT * 2.6)
            p.paragraph_format.left_indent = Mm(18)
            if i == 0:
                p.paragraph_format.space_before = Pt(150)
            self.paragraphs["cover"].append((p._p, c.fid, c.remark))

    def instructions(self) -> None:
        if self.plan.instructions_title:
            self.heading(self.plan.instructions_title)
            for text in self.plan.instructions:
                self.paragraph(text, indent_chars=2)

    def declaration(self, d: Declaration) -> None:
        self.heading(d.title, space_before=30)
        self.paragraph(d.intro, indent_chars=2)
        for fid in d.fids:
            p = self.paragraph(f"{self.form.fields[fid].label}：", indent_chars=2)
            self.paragraphs["fields"].append((p._p, fid))
        for i, line in enumerate(d.outro):
            p = self.paragraph(line, align=WD_PARAGRAPH_ALIGNMENT.RIGHT, size=14)
            # room for the stamp above and over the unit's line; the date is written by hand
            p.paragraph_format.space_before = Pt(90 if i == 0 else 24)
            p.paragraph_format.right_indent = Pt(14 * (8 if i == 0 else 2))

    # ---- the tables
    def table(self, sec: Section) -> None:
        """One section as one table on the plan's grid: cells written as created, then merged (python-docx
        finds a merged cell's neighbours by walking the grid, so the grid is walked once, before); the
        rows of a block keep with its title, a row without long text stays on one page."""
        table = self.doc.add_table(rows=len(sec.rows), cols=NCOLS)
        table_frame(table, WIDTHS_MM)
        trs = table._tbl.tr_lst
        grid = [[_Cell(tc, table) for tc in tr.tc_lst] for tr in trs]
        merges, keep, values = [], set(), []
        for r, row in enumerate(sec.rows):
            long = False
            for slot in row:
                cell = grid[r][slot.col]
                long |= self.slot(cell, slot)
                if slot.role == "value":
                    values.append((cell, slot))
                if slot.span > 1 or slot.rows > 1:
                    merges.append((cell, grid[r + slot.rows - 1][slot.col + slot.span - 1]))
                if slot.rows > 1 or slot.role == "section":
                    keep.update(range(r, r + max(slot.rows - 1, 1)))
            row_frame(_Row(trs[r], table), split=long)
            if long:
                keep.discard(r)
        for r in sorted(keep):
            for tc in trs[r].tc_lst:
                for p in tc.p_lst:  # Word keeps a row with the next when its paragraphs keep with the next
                    p.get_or_add_pPr().keepNext_val = True
        repeat_as_header(_Row(trs[0], table))
        for a, b in merges:
            a.merge(b)
        for cell, slot in values:  # where each value goes, once the merges have removed their cells
            tc = cell._tc
            tr = tc.getparent()
            self.anchors.cells.append(Place(self.tables, trs.index(tr), tr.tc_lst.index(tc), slot.fid,
                                            after=bool(slot.hint) and self.form.fields[slot.fid].type == "longtext"))
        if sec.report:
            self.anchors.reports.append((self.tables, sec.report))
        self.tables += 1

    def slot(self, cell: _Cell, slot: Slot) -> bool:
        """Write one cell's fixed text; True when it will hold a long text (its row may break across pages)."""
        p = cell.paragraphs[0]
        role = slot.role
        if role == "section":
            style(p, "FormSection")
            p.add_run(slot.text)
        elif role == "title":
            style(p, "FormHead")
            main, remark = split_remark(slot.text)
            p.add_run(main)
            if slot.footnote:
                self.footnotes.add(p, slot.footnote.text)
            if remark:
                p.add_run().add_break()
                set_fonts(p.add_run(remark), FANG, TABLE_PT)
        elif role in ("label", "head", "number"):
            part = role == "label" and slot.fid and self.form.fields[slot.fid].part_of
            style(p, "FormHint" if part else {"label": "FormText", "head": "FormHead", "number": "FormValue"}[role])
            p.add_run(slot.text)
            if slot.footnote:
                self.footnotes.add(p, slot.footnote.text)
        elif role == "text":
            for i, line in enumerate(slot.text.split("\n")):
                q = p if i == 0 else cell.add_paragraph()
                style(q, "FormHint")
                if line:
                    q.add_run(line)
        elif role == "value":
            return self.value(cell, p, slot)
        else:
            style(p, "FormText")
        return False

    def value(self, cell: _Cell, p: Paragraph, slot: Slot) -> bool:
        f = self.form.fields[slot.fid]
        if f.type == "longtext":
            style(p, "FormHint" if slot.hint else "FormLong")
            if slot.hint:
                p.add_run(slot.hint)
            return True
        style(p, "FormValue" if (f.is_numeric or f.type == "date") else "FormText")
        if slot.hint:
            q = cell.add_paragraph()
            style(q, "FormHint")
            q.add_run(slot.hint)
        return False
