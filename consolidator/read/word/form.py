"""The fields of a filled-in Word form, found by the form's own labels (anchors.py says which words and
where), and the enterprise list typed as a table in it.

The document is taken apart once: its tables into the form's sections (a row holding nothing but a
section's heading starts it; a table that follows a section's table with nothing typed between continues
it, as when a park splits a table), the table of 情况说明, and the tables of the enterprise list (by their
column headings). Values come back as the reader gives them to normalize.py: numbers and dates written
the way a Word form prints them (1,234.56; 2026年11月30日) already as numbers and dates, anything else as
typed, so that what a park would have to be told about is told the same way as for a workbook.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ...rules.model import Field, Form
from ...rules.wordlayout import form_plan
from .anchors import NOTES_HEAD, Anchor
from .document import BOXES, TICKS, Body, TCell, TRow, label_key, squash

# ASCII digits only: full-width ones are converted by normalize.py, which says so
_PLAIN_NUMBER = re.compile(r"[+-]?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]+)?")
_CN_DATE = re.compile(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日")
_BLANKS = " \t\n\u3000_＿\u00a0"
NOT_FOUND = object()


@dataclass
class ListTable:
    rows: list[TRow]  # the entries, after the header
    columns: dict[str, int]  # column id -> grid column
    category: str | None  # the category a table without its column is headed with (the paragraph above it)


@dataclass
class Layout:
    """The document's tables as parts of the form."""

    sections: dict[str, list[TRow]] = field(default_factory=dict)  # section heading (squashed) -> its rows
    last_table: dict[str, int] = field(default_factory=dict)  # section -> body position of its last table
    starts: list[int] = field(default_factory=list)  # body positions of the tables that begin a part
    notes: list[TRow] = field(default_factory=list)
    lists: list[ListTable] = field(default_factory=list)
    others: list[TRow] = field(default_factory=list)  # rows of tables that are none of these
    _labels: dict[int, dict[str, list[tuple[int, TCell]]]] = field(default_factory=dict)

    def occurrence(self, rows: list[TRow], keys: set[str], k: int) -> tuple[int, TCell] | None:
        """(row number, cell) of the k-th cell of `rows` (a section's, in reading order) whose text is one of
        the label `keys`."""
        if not rows:
            return None
        index = self._labels.get(id(rows))  # the lists of `sections` and `notes`, which live as long as the layout
        if index is None:
            index = self._labels[id(rows)] = {}
            for r, row in enumerate(rows):
                for c in row.cells:
                    if c.paragraphs:
                        index.setdefault(c.key, []).append((r, c))
        hits = sorted((hit for key in keys for hit in index.get(key, ())), key=lambda h: (h[0], h[1].col))
        return hits[k] if 0 <= k < len(hits) else None


def lay_out(body: Body, form: Form) -> Layout:
    """Which table (row) is which part of the form."""
    heads = {label_key(s.heading) for s in form_plan(form).sections}
    out = Layout()
    current, last = None, -1
    typed = sorted(pos for pos, _, text in body.paragraphs if text.strip())
    titled = {pos: label_key(text) for pos, _, text in body.paragraphs if label_key(text) in heads}
    for position, rows in body.tables:
        lst = _list_table(rows, body, position, form)
        if lst is not None or (rows and tuple(c.key for c in rows[0].cells) == tuple(map(label_key, NOTES_HEAD))):
            if lst is not None:
                out.lists.append(lst)
            else:
                out.notes.extend(rows[1:])
            out.starts.append(position)
            current = None
            continue
        between = any(last < pos < position for pos in typed)
        above = [(pos, key) for pos, key in titled.items() if last < pos < position]
        if above:  # the section's heading typed as a paragraph above its table: the part starts there
            out.starts.append(above[-1][0])
            current = above[-1][1]
        elif current is not None and between and not any(_heading(r, heads) for r in rows):
            current = None  # a table of the park's own (a chart's data in the report, say)
        for row in rows:
            heading = _heading(row, heads)
            if heading:
                current = heading
                out.starts.append(position)
            if current is None:
                out.others.append(row)
                continue
            out.sections.setdefault(current, []).append(row)
            out.last_table[current] = position
        last = position
    return out


def _heading(row: TRow, heads: set[str]) -> str | None:
    filled = [c for c in row.cells if c.paragraphs]
    if len(filled) == 1 and filled[0].key in heads:
        return filled[0].key
    return None


def _list_table(rows: list[TRow], body: Body, position: int, form: Form) -> ListTable | None:
    """An enterprise list: a table whose first (or second, under a title row) row holds its column
    headings, at least the enterprise's name; a table without the category column takes its category
    from the paragraph above it (a list per category)."""
    spec = form.enterprise_list
    heads = {label_key(c.label): c.id for c in spec.columns}
    name = spec.column("name")
    for h, row in enumerate(rows[:2]):
        columns = {heads[c.key]: c.col for c in row.cells if c.key in heads}
        if name in columns:
            category = None
            if spec.column("category") not in columns:
                above = [t for pos, _, t in body.paragraphs if pos < position and t.strip()]
                category = _category_named(above[-1] if above else "", form)
            return ListTable(rows[h + 1:], columns, category)
    return None


def _category_named(text: str, form: Form) -> str | None:
    key = squash(text)
    hits = [c.label for c in form.enterprise_list.categories if squash(c.label) in key]
    return max(hits, key=len) if hits else None


# ---- one field ------------------------------------------------------------------------------------
def find(f: Field, a: Anchor, body: Body, layout: Layout) -> Any:
    """The raw value of field `f` (None when empty), or NOT_FOUND when its label is not in the document."""
    if a.kind == "line":
        return _line(f, a, body, layout)
    if a.kind == "note":
        cell = _beside(layout, layout.notes, {a.key}, 0)
        return NOT_FOUND if cell is NOT_FOUND else raw_value(f, cell.paragraphs if cell else [])
    rows = layout.sections.get(label_key(a.sheet), [])
    keys = {a.key, label_key(f.label)}
    if a.kind == "years":
        cell = _under_year(layout, rows, keys, a)
    elif a.kind == "repeat":
        cell = _in_numbered_row(layout, rows, keys, a)
    else:
        cell = _beside(layout, rows, keys, a.k)
    if cell is NOT_FOUND:
        return NOT_FOUND
    return raw_value(f, _without_hint(cell.paragraphs, a.hint) if cell else [])


def _beside(layout: Layout, rows: list[TRow], keys: set[str], k: int):
    """The cell right of the k-th label (the cell below it when nothing stands to its right)."""
    hit = layout.occurrence(rows, keys, k)
    if hit is None:
        return NOT_FOUND
    r, label = hit
    cell = rows[r].after(label)
    if cell is None and r + 1 < len(rows):
        cell = rows[r + 1].covering(label.col)
    return cell


def _under_year(layout: Layout, rows: list[TRow], keys: set[str], a: Anchor):
    hit = layout.occurrence(rows, keys, a.k)
    if hit is None:
        return NOT_FOUND
    r, label = hit
    head = label_key(f"{a.year}年")
    for above in reversed(rows[:r]):
        col = next((c.col for c in above.cells if c.key == head), None)
        if col is not None:
            return rows[r].covering(col)
    return None


def _in_numbered_row(layout: Layout, rows: list[TRow], keys: set[str], a: Anchor):
    hit = layout.occurrence(rows, keys, a.k)
    if hit is None:
        return NOT_FOUND
    r, head = hit
    number_key = label_key(a.number_label)
    number_col = next((c.col for c in rows[r].cells if c.key == number_key), None)
    below = rows[r + 1:r + 1 + 3 * (a.index or 1) + 3]
    for row in below:
        numbered = row.covering(number_col) if number_col is not None else None
        if numbered is not None and squash(numbered.text) == str(a.index):
            return row.covering(head.col)
    return below[a.index - 1].covering(head.col) if a.index and len(below) >= a.index else None


def _without_hint(paragraphs: list[str], hint: str) -> list[str]:
    """A value cell's paragraphs without the form's words printed in it (what to write there)."""
    if not hint:
        return paragraphs
    out = []
    for p in paragraphs:
        if squash(p) == squash(hint):
            continue
        p = p.replace(hint, "").strip()
        if p:
            out.append(p)
    return out


def _line(f: Field, a: Anchor, body: Body, layout: Layout) -> Any:
    """A value written after its label and a colon, in a paragraph (or a cell outside the form's tables)."""
    label = squash(a.label)
    texts = [t for _, _, t in body.paragraphs] + [c.text for row in layout.others for c in row.cells]
    for text in texts:
        sq = squash(text)
        if sq.startswith(label) and sq[len(label):len(label) + 1] == ":":
            cut = min((i for i in (text.find("："), text.find(":")) if i >= 0), default=-1)
            value = text[cut + 1:]
            if a.remark:
                value = value.replace(a.remark, "").replace(unicodedata.normalize("NFKC", a.remark), "")
            value = value.strip(_BLANKS)
            return raw_value(f, [value] if value else [])
    return NOT_FOUND


# ---- a value as typed -----------------------------------------------------------------------------
def raw_value(f: Field, paragraphs: list[str]) -> Any:
    """What the reader hands to normalize.py for field `f`: None for nothing, a number or a date written as a
    Word form prints them, the ticked option of a choice, otherwise the text as typed."""
    text = "\n".join(p.strip() for p in paragraphs if p.strip())
    if not text:
        return None
    if f.type == "choice":
        return chosen(text)
    if f.is_numeric and _PLAIN_NUMBER.fullmatch(text):
        return float(text.replace(",", ""))
    if f.type == "date":
        bare = re.sub(r"[\s_＿]+", "", text)
        if bare == "年月日":  # the form's blank date line
            return None
        m = _CN_DATE.fullmatch(bare)
        if m:
            try:
                return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return text
    return text


def chosen(text: str) -> str | None:
    """The option a park ticked in "☑政府/事业单位　☐央国企…": its text; several ticked, all of them (which is
    no option); none ticked, what the form printed in brackets after the options (a value that is none of
    them), or nothing. Text without boxes is the value as typed."""
    if not any(ch in BOXES or ch in TICKS for ch in text):
        return text
    options: list[tuple[bool, str]] = []
    for ch in text:
        if ch in TICKS or ch in BOXES:
            options.append((ch in TICKS, ""))
        elif options:
            options[-1] = (options[-1][0], options[-1][1] + ch)
    ticked = [t.strip(_BLANKS) for on, t in options if on and t.strip(_BLANKS)]
    if ticked:
        return "、".join(ticked)
    last = options[-1][1].strip(_BLANKS) if options else ""
    m = re.search(r"（([^（）]+)）$", last)
    return m.group(1) if m and not last.startswith("（") else None
