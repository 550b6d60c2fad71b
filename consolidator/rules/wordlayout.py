"""The official Word form, from a Form alone: where everything stands (pure: no python-docx, no values).

Both the writer (write/word/) and the reader of a filled-in form (read/word/) work from this layout, as the
workbook's writer and reader both work from rules/layout.py.

The official forms (../shared/seeds/) are Word documents: a cover, 填写说明, 承诺声明, then one table per
section (一、二、三) on a grid of five columns: the block's title down the first column, then a label and
its value, or two label/value pairs side by side, or a year table (label, then one column per year).
This module turns the Form's sheets and blocks into that grid; write/word/document.py writes it.

What is taken from the Form, and how (no field id is named here):
- the cover is the sheet holding the fill-in date (rules: roles.fill_date); its untitled block gives the
  cover lines, its titled blocks (承诺声明) come after the instructions;
- a sheet of text blocks is the instructions; only its first heading's paragraphs are the form's (the
  later ones explain the workbook);
- every other sheet is a section, its heading the table's first row;
- in a fields block, fields of the same kind (text, number, count, computed, choice) stand two to a row;
  an odd run starts with one alone, as the form does (单位能耗碳排放 alone, then 固废利用率 | 水耗);
  the parts the workbook asks for to compute an indicator (source: added, part_of) follow as rows
  marked 计算用, before the block's long texts;
- a long text with required headings is the report: it is typeset after its section's table.

The report's standard (填写要求 5. 报告格式), at the end of this module:

  全文行间距22磅，无段间距，字体大小使用【小四】号；各级标题依次使用“一、”“（一）”“1.”“（1）”标注排序，
  对应字体依次为黑体、楷体_GB2312、仿宋_GB2312、仿宋_GB2312；正文内容使用仿宋_GB2312。

A paragraph is a heading by its numbering. A heading that runs on into its text ("（一）搭建平台。园区…")
has its heading font up to the end of its first sentence, the rest in the body font.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .model import Block, Field, Footnote, Form, Sheet

# the grid, mm: block title, label, value, label, value (A4 with 25 mm margins leaves 160 mm)
WIDTHS_MM = (26, 38, 30, 36, 30)
NCOLS = len(WIDTHS_MM)
PART_PREFIX = "计算用："
CHECKED, UNCHECKED = "☑", "☐"  # a choice as the form prints it: every option with its box


@dataclass(frozen=True)
class Slot:
    """One cell of a table row, `span` grid columns wide and `rows` rows tall (a block's title).

    role: "section" (the section's heading), "title" (a block's title), "label" (a field's label),
    "value" (a field's value), "head" (a column heading: a year, a repeated block's column), "number" (a
    repeated row's number), "text" (a block's intro or outro, small type), "blank" (nothing)."""

    col: int
    span: int
    role: str
    text: str = ""
    fid: str | None = None  # value: the field shown; label: the field labelled
    footnote: Footnote | None = None
    rows: int = 1
    hint: str | None = None  # value: what the form asks for, printed with it


Row = tuple[Slot, ...]


@dataclass
class Section:
    heading: str
    rows: list[Row] = field(default_factory=list)
    report: str | None = None  # the field typeset after the table


@dataclass
class CoverLine:
    label: str
    fid: str
    remark: str = ""  # the form's words after the value: （加盖单位公章）


@dataclass
class Declaration:
    title: str
    intro: str
    fids: tuple[str, ...]
    outro: tuple[str, ...]  # lines under the text: 填写单位（盖章）：, 年 月 日


@dataclass
class Plan:
    title_lines: tuple[str, ...]
    cover: list[CoverLine]
    instructions_title: str
    instructions: list[str]
    declarations: list[Declaration]
    sections: list[Section]
    notes: tuple[str, ...]  # the 情况说明 fields (source: added), in the form's order

    def footnotes(self) -> list[Footnote]:
        """Every footnote of the tables, in reading order."""
        return [s.footnote for sec in self.sections for row in sec.rows for s in row if s.footnote]


def form_plan(form: Form) -> Plan:
    """The Word form's structure for `form`."""
    cover_sheet = form.fields[form.roles["fill_date"]].sheet
    title_lines: tuple[str, ...] = ()
    cover: list[CoverLine] = []
    declarations: list[Declaration] = []
    instructions_title, instructions = "", []
    sections = []
    for sheet in form.sheets:
        if sheet.id == cover_sheet:
            title_lines = tuple((sheet.heading or form.title).split("\n"))
            for block in sheet.blocks:
                if block.title:
                    declarations.append(_declaration(form, block))
                else:
                    cover.extend(_cover_line(form.fields[form.families[fam][0]]) for fam in block.families)
        elif all(b.kind == "text" for b in sheet.blocks):
            instructions_title, instructions = _instructions(sheet)
        else:
            sections.append(_Grid(form).section(sheet))
    notes = tuple(f.id for f in form.fields.values() if f.explains)
    return Plan(title_lines, cover, instructions_title, instructions, declarations, sections, notes)


def _cover_line(f: Field) -> CoverLine:
    # The form's words beside a cover value stand in its hint's opening brackets, the rest of the hint
    # speaks of the workbook: "（加盖单位公章）自动取自…".
    hint = f.hint or ""
    remark = hint[:hint.index("）") + 1] if hint.startswith("（") and "）" in hint else ""
    return CoverLine(f.label, f.id, remark)


def _declaration(form: Form, block: Block) -> Declaration:
    outro = tuple(part for part in _split_spaces(block.outro or "") if part)
    return Declaration(block.title or "", block.intro or "",
                       tuple(form.families[fam][0] for fam in block.families), outro)


def _split_spaces(text: str) -> list[str]:
    """"填写单位（盖章）：　　　　年　　月　　日" -> the two lines the form prints: a run of three or more
    (full-width) spaces separates them."""
    out, current, spaces = [], "", ""
    for ch in text:
        if ch in " \u3000":
            spaces += ch
            continue
        if len(spaces) >= 3:
            out.append(current)
            current = ""
        elif spaces:
            current += spaces
        spaces = ""
        current += ch
    out.append(current)
    return out


def _instructions(sheet: Sheet) -> tuple[str, list[str]]:
    paragraphs = [p for b in sheet.blocks for p in b.paragraphs]
    title, texts = "", []
    for p in paragraphs:
        if p.style == "heading":
            if title:
                break  # the next heading's paragraphs are about the workbook
            title = p.text
        elif title:
            texts.append(p.text)
    return title, texts


def kind_of(f: Field) -> str:
    """What a field is for pairing: fields of one kind stand side by side."""
    if f.part_of:
        return "part"
    if f.is_derived:
        return "derived"
    if is_wide(f):
        return "wide"
    return f.type


def is_wide(f: Field) -> bool:
    """A field that takes a whole row: a long text, or a choice of more than two options."""
    return f.type == "longtext" or (f.type == "choice" and (bool(f.choices_from) or len(f.choices or ()) > 2))


def is_report(f: Field) -> bool:
    """The report: a long text whose parts the form prescribes (headings); typeset to the form's standard."""
    return f.type == "longtext" and bool(f.headings)


def shows_hint(f: Field) -> bool:
    """Whether the form prints what to write beside the value: for texts and choices. The hints of numbers
    and computed fields speak of the workbook (units, what is computed)."""
    return bool(f.hint) and not f.is_numeric and not f.is_derived and f.type != "date" and not is_report(f)


def label_of(f: Field) -> str:
    label = f.label
    if f.unit and f.unit != "无" and f.unit not in label:
        label += f"（{f.unit}）"
    return PART_PREFIX + label if f.part_of else label


class _Grid:
    """Lays out one sheet as one table of NCOLS columns."""

    def __init__(self, form: Form):
        self.form = form

    def first(self, family: str) -> Field:
        return self.form.fields[self.form.families[family][0]]

    def section(self, sheet: Sheet) -> Section:
        sec = Section(sheet.heading or sheet.title)
        sec.rows.append((Slot(0, NCOLS, "section", sec.heading),))
        for block in sheet.blocks:
            rows, report = self.block(block)
            sec.rows.extend(rows)
            sec.report = sec.report or report
        return sec

    def block(self, block: Block) -> tuple[list[Row], str | None]:
        if block.kind == "text":
            return [(Slot(0, NCOLS, "text", p.text),) for p in block.paragraphs], None
        report = None
        if block.intro:  # a block with instructions: its title and the instructions across the table
            rows: list[Row] = [(Slot(0, NCOLS, "title", block.title or "", footnote=block.footnote),),
                               (Slot(0, NCOLS, "text", block.intro),)]
            body = [fam for fam in block.families if not is_report(self.first(fam))]
            report = next((self.first(fam).id for fam in block.families if is_report(self.first(fam))), None)
            rows += self.fields_rows(body, titled=False, title="")
            if block.outro:
                rows.append((Slot(0, NCOLS, "text", block.outro),))
            return rows, report
        if block.kind == "years":
            rows = self.years_rows(block)
        elif block.kind == "repeat":
            rows = self.repeat_rows(block)
        else:
            rows = self.fields_rows(list(block.families), titled=bool(block.title), title=block.title or "")
        if block.outro:
            rows.append((Slot(1 if block.title else 0, NCOLS - (1 if block.title else 0), "text", block.outro),))
        if block.title and rows:
            rows[0] = (Slot(0, 1, "title", block.title, footnote=block.footnote, rows=len(rows)),) + rows[0]
        elif block.footnote and rows:  # no title to carry it: the first label does
            rows[0] = tuple(_with_footnote(s, block.footnote) if i == 0 else s for i, s in enumerate(rows[0]))
        return rows, report

    def years_rows(self, block: Block) -> list[Row]:
        years = self.form.years
        assert len(years) == NCOLS - 2, "a year table has three value columns"
        c0 = 1 if block.title else 0
        rows: list[Row] = [(Slot(c0, 2 - c0, "blank"),
                            *(Slot(2 + i, 1, "head", f"{y}年") for i, y in enumerate(years)))]
        for fam in block.families:
            f = self.first(fam)
            members = {self.form.fields[fid].year: fid for fid in self.form.families[fam]}
            rows.append((Slot(c0, 2 - c0, "label", label_of(f), f.id, f.footnote),
                         *(Slot(2 + i, 1, "value", fid=members.get(y)) if members.get(y) else Slot(2 + i, 1, "blank")
                           for i, y in enumerate(years))))
        return rows

    def repeat_rows(self, block: Block) -> list[Row]:
        c0 = 1 if block.title else 0
        fams = block.families
        assert len(fams) <= NCOLS - 2, "a repeated row holds at most three fields"
        spans = _spread(NCOLS - 2, len(fams))
        starts = [2 + sum(spans[:i]) for i in range(len(fams))]
        rows: list[Row] = [(Slot(c0, 2 - c0, "head", block.number_label or "序号"),
                            *(Slot(s, w, "head", self.first(fam).label, self.first(fam).id)
                              for s, w, fam in zip(starts, spans, fams)))]
        for n in range(block.count or 0):
            rows.append((Slot(c0, 2 - c0, "number", str(n + 1)),
                         *(Slot(s, w, "value", fid=self.form.families[fam][n]) for s, w, fam in zip(starts, spans, fams))))
        return rows

    def fields_rows(self, families: list[str], *, titled: bool, title: str) -> list[Row]:
        fields = [self.first(fam) for fam in families]
        parts = [f for f in fields if f.part_of]
        main = [f for f in fields if not f.part_of]
        at = next((i for i, f in enumerate(main) if f.type == "longtext"), len(main))
        ordered = main[:at] + parts + main[at:]
        rows: list[Row] = []
        for group in _pairs(ordered):
            rows.append(self.field_row(group, titled=titled, title=title))
        return rows

    def field_row(self, group: list[Field], *, titled: bool, title: str) -> Row:
        c0 = 1 if titled else 0
        if len(group) == 2:
            a, b = group
            return (Slot(c0, 2 - c0, "label", label_of(a), a.id, a.footnote), self.value(2, 1, a),
                    Slot(3, 1, "label", label_of(b), b.id, b.footnote), self.value(4, 1, b))
        f = group[0]
        if titled and f.label == title:  # the block is the field (工业园区简介): its title is the label
            return (self.value(1, NCOLS - 1, f),)
        return (Slot(c0, 2 - c0, "label", label_of(f), f.id, f.footnote), self.value(2, NCOLS - 2, f))

    @staticmethod
    def value(col: int, span: int, f: Field) -> Slot:
        return Slot(col, span, "value", fid=f.id, hint=f.hint if shows_hint(f) else None)


def _with_footnote(slot: Slot, footnote: Footnote) -> Slot:
    return Slot(slot.col, slot.span, slot.role, slot.text, slot.fid, slot.footnote or footnote, slot.rows, slot.hint)


def _spread(width: int, n: int) -> list[int]:
    """`width` columns over `n` fields, the last taking what is left: 3 over 2 -> [1, 2]."""
    base = width // n
    return [base] * (n - 1) + [width - base * (n - 1)]


def _pairs(fields: list[Field]) -> list[list[Field]]:
    """Runs of fields of one kind, two to a row; an odd run starts with one alone; wide fields alone."""
    out: list[list[Field]] = []
    i = 0
    while i < len(fields):
        kind = kind_of(fields[i])
        j = i
        while j < len(fields) and kind_of(fields[j]) == kind:
            j += 1
        run = fields[i:j]
        if kind == "wide":
            out.extend([f] for f in run)
        else:
            if len(run) % 2:
                out.append([run[0]])
                run = run[1:]
            out.extend(run[k:k + 2] for k in range(0, len(run), 2))
        i = j
    return out


# ---- the report's standard ----------------------------------------------------------------------
LINE_PT = 22.0  # 行间距22磅: exactly
SIZE_PT = 12.0  # 小四
BODY_FONT = "仿宋_GB2312"
# level -> font, in the order of the standard; level 0 is the body
LEVEL_FONTS = {1: "黑体", 2: "楷体_GB2312", 3: "仿宋_GB2312", 4: "仿宋_GB2312", 0: BODY_FONT}
FIRST_LINE_CHARS = 2  # the first line of every paragraph is indented two characters

_CN = "一二三四五六七八九十百"
LEVELS = (
    (1, re.compile(rf"^[{_CN}]+、")),
    (2, re.compile(rf"^[（(][{_CN}]+[）)]")),
    (3, re.compile(r"^[0-9０-９]+[.．、](?![0-9０-９])")),
    (4, re.compile(r"^[（(][0-9０-９]+[）)]")),
)
ABSTRACT = re.compile(r"^【[^】]{1,8}】")  # 【摘要】: its mark in the first-level heading font
_SENTENCE_END = re.compile(r"[。！？；：:]")


@dataclass(frozen=True)
class Piece:
    text: str
    font: str


@dataclass(frozen=True)
class ReportParagraph:
    level: int  # 1-4 a heading of that level, 0 the body
    pieces: tuple[Piece, ...]

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.pieces)


def heading_level(text: str) -> int:
    """1 for "一、", 2 for "（一）", 3 for "1." (or "1．", "1、"), 4 for "（1）"; 0 for a body paragraph."""
    for level, pattern in LEVELS:
        if pattern.match(text):
            return level
    return 0


def report_paragraphs(text: str) -> list[ReportParagraph]:
    """The report's paragraphs (one per line; blank lines dropped), each with its level and fonts."""
    out = []
    for line in (text or "").splitlines():
        line = line.strip().strip("\u3000")
        if not line:
            continue
        level = heading_level(line)
        mark = ABSTRACT.match(line)
        if mark and not level:
            out.append(ReportParagraph(0, _split(line, mark.end(), LEVEL_FONTS[1])))
            continue
        head_end = len(line)
        if level:
            end = _SENTENCE_END.search(line)
            if end and end.end() < len(line):
                head_end = end.end()
        out.append(ReportParagraph(level, _split(line, head_end, LEVEL_FONTS[level])))
    return out


def _split(line: str, at: int, font: str) -> tuple[Piece, ...]:
    pieces = [Piece(line[:at], font)]
    if at < len(line):
        pieces.append(Piece(line[at:], BODY_FONT))
    return tuple(pieces)
