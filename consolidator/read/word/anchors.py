"""Where each field of a Form stands in its Word form, and by which words it is found there, from the form's
layout (rules/wordlayout.py) alone: the reader's counterpart of the layout the writer writes.

A field is found by the k-th occurrence, in reading order within its section, of its label (counting every
label, block title and column heading of the section with that text), then:
  right    the value is the next cell to the right of the label (or, failing that, the cell below it);
  years    in the label's row, under the column headed with the field's year;
  repeat   under the column headed with the label, in the row numbered with the field's index;
  line     a paragraph outside the tables that begins with the label and a colon (the cover, the declaration);
  note     beside the label in the table of 情况说明 (指标 | 情况说明);
  report   the paragraphs after its section's table (or, failing that, the cells below its title).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ...rules.model import Form
from ...rules.wordlayout import Section, form_plan, label_of
from .document import label_key

NOTES_HEAD = ("指标", "情况说明")  # the writer's table of the 情况说明 (write/word/document.py)
COVER_SHEET, NOTES_SHEET = "封面", "附：数据情况说明"  # where a finding of the cover or of a 情况说明 is
ANCHOR_ROLES = ("section", "title", "label", "head")


@dataclass(frozen=True)
class Anchor:
    kind: str  # right | years | repeat | line | note | report
    label: str  # the label as the form prints it
    sheet: str  # where the form has it: the section's heading, 封面, 承诺声明, …
    k: int = 0  # the occurrence of the label in its section
    context: str = ""  # the block's title, when the label alone does not name the field in its section
    year: int | None = None
    index: int | None = None
    number_label: str = "序号"
    hint: str = ""  # the form's words printed in the value's cell, which are not the value
    remark: str = ""  # the form's words after a cover value: （加盖单位公章）

    @property
    def key(self) -> str:
        return label_key(self.label)

    def where(self) -> str:
        """The cell column of a finding: the form's own words, e.g. “营业收入（亿元） · 2024年”."""
        parts = [self.context, self.label]
        if self.year is not None:
            parts.append(f"{self.year}年")
        if self.index is not None:
            parts.append(f"{self.number_label}{self.index}")
        return " · ".join(p for p in parts if p)


@lru_cache(maxsize=16)
def anchors(form: Form) -> dict[str, Anchor]:
    """field id -> how it is found, for every field the Word form shows."""
    plan = form_plan(form)
    out: dict[str, Anchor] = {}
    for c in plan.cover:
        out[c.fid] = Anchor("line", c.label, COVER_SHEET, remark=c.remark)
    for d in plan.declarations:
        for fid in d.fids:
            out[fid] = Anchor("line", form.fields[fid].label, d.title)
    for sec in plan.sections:
        out.update(_section_anchors(form, sec))
    for fid in plan.notes:
        f = form.fields[fid]
        out[fid] = Anchor("note", label_of(form.fields[form.families[f.explains][0]]), NOTES_SHEET)
    return out


def _section_anchors(form: Form, sec: Section) -> dict[str, Anchor]:
    """The anchors of a section's values, walking its table's rows as the reader will walk the document's."""
    seen: dict[str, int] = {}  # label key -> occurrences so far in the section
    out: dict[str, Anchor] = {}
    counts: dict[str, int] = {}  # label key -> occurrences in the whole section
    for row in sec.rows:
        for s in row:
            if s.role in ANCHOR_ROLES and s.text:
                counts[label_key(s.text)] = counts.get(label_key(s.text), 0) + 1
    title = ""
    for row in sec.rows:
        if row and row[0].role == "title":
            title = row[0].text
        left = None
        for s in row:
            if s.role == "value" and s.fid:
                out[s.fid] = _value_anchor(form, sec, s, left, seen, counts, title)
            if s.role in ANCHOR_ROLES and s.text:
                key = label_key(s.text)
                seen[key] = seen.get(key, 0) + 1
                left = s
    if sec.report:
        f = form.fields[sec.report]
        out[sec.report] = Anchor("report", f.label, sec.heading)
    return out


def _value_anchor(form: Form, sec: Section, s, left, seen: dict, counts: dict, title: str) -> Anchor:
    f = form.fields[s.fid]
    first = form.fields[form.families[f.family][0]]
    if f.year is not None:
        label, kind = label_of(first), "years"
    elif f.index is not None:
        label, kind = first.label, "repeat"
    else:
        label, kind = left.text, "right"
    key = label_key(label)
    k = seen.get(key, 1) - 1  # the label (or the column's heading) came before the value
    number = form.block(f.block).number_label or "序号"
    context = title if counts.get(key, 0) > 1 and title and label_key(title) != key else ""
    return Anchor(kind, label, sec.heading, k=k, context=context, year=f.year, index=f.index,
                  number_label=number, hint=s.hint or "")
