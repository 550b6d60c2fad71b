"""A Word document as the form reader sees it: body paragraphs and tables in reading order, each table
row as its cells on the table's grid, every paragraph as its text with the boxes of a choice as ☑ or ☐.

python-docx opens the package and gives the paragraphs, tables, rows and cells; what it does not read is
read here from its own element objects: text inside tracked insertions, content controls and fields
(python-docx's Paragraph.text skips them), legacy check-box fields, and boxes typed in a symbol font.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterator

from docx import Document
from docx.oxml.ns import qn
from docx.table import Table, _Row
from docx.text.paragraph import Paragraph

from ...rules.wordlayout import CHECKED, PART_PREFIX, UNCHECKED

TICKS = CHECKED + "☒■√✓✔▣◉●"  # what parks tick a box with (☒: a Word check-box content control)
BOXES = UNCHECKED + "□○◯"
# boxes in symbol fonts, by the character Word stores (w:sym w:char, or the text of a run in that font)
SYMBOL_BOXES = {
    "wingdings": {0xFE: CHECKED, 0xFD: "☒", 0x78: "☒", 0xA8: UNCHECKED, 0x6F: UNCHECKED, 0x71: UNCHECKED},
    "wingdings 2": {0x52: CHECKED, 0x54: "☒", 0x51: "☒", 0xA3: UNCHECKED, 0x2A: UNCHECKED},
}
_W_T, _W_TAB, _W_BR, _W_CR, _W_SYM = qn("w:t"), qn("w:tab"), qn("w:br"), qn("w:cr"), qn("w:sym")
_W_FLDCHAR, _W_R, _W_P = qn("w:fldChar"), qn("w:r"), qn("w:p")
_W_RPR, _W_RFONTS, _W_ASCII, _W_HANSI = qn("w:rPr"), qn("w:rFonts"), qn("w:ascii"), qn("w:hAnsi")
_SKIPPED = {qn("w:txbxContent"), qn("w:del"), qn("w:moveFrom")}  # text boxes (drawn twice), deleted text
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_FOOTNOTE_MARKS = re.compile(r"(?<=\D)[\d¹²³⁴⁵⁶⁷⁸⁹⁰\[\]①-⑳*]+$")


@dataclass
class TCell:
    """A table cell: the grid columns it covers (first and last), its paragraphs' texts."""

    col: int
    end: int
    paragraphs: list[str]
    continued: bool = False  # the lower part of a vertically merged cell
    elements: list = field(default_factory=list)  # the w:p of each of `paragraphs`

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)

    @cached_property
    def key(self) -> str:
        return label_key(self.text)


@dataclass
class TRow:
    cells: list[TCell]
    position: int  # the body position of its table

    def covering(self, col: int) -> TCell | None:
        return next((c for c in self.cells if c.col <= col <= c.end), None)

    def after(self, cell: TCell) -> TCell | None:
        return next((c for c in self.cells if c.col > cell.end), None)


@dataclass
class Body:
    """The document in reading order: `paragraphs` outside tables as (position, paragraph, text), `tables` as
    (position, rows)."""

    document: object
    paragraphs: list[tuple[int, Paragraph, str]] = field(default_factory=list)
    tables: list[tuple[int, list[TRow]]] = field(default_factory=list)

    def texts(self) -> Iterator[str]:
        yield from (t for _, _, t in self.paragraphs)
        for _, rows in self.tables:
            for row in rows:
                yield from (c.text for c in row.cells)


def open_body(data: bytes) -> Body:
    """The document's body (raises what python-docx raises for a damaged package)."""
    document = Document(io.BytesIO(data))
    body = Body(document)
    for position, item in enumerate(_blocks(document.element.body, document._body)):
        if isinstance(item, Paragraph):
            body.paragraphs.append((position, item, paragraph_text(item._p)))
        else:
            body.tables.append((position, [_row(tr, item, position) for tr in item._tbl.tr_lst]))
    return body


def _blocks(parent, owner) -> Iterator[Paragraph | Table]:
    """Paragraphs and tables in reading order, also inside block-level content controls (Word puts a cover
    page in one) and custom XML."""
    for child in parent.iterchildren():
        if child.tag == _W_P:
            yield Paragraph(child, owner)
        elif child.tag == qn("w:tbl"):
            yield Table(child, owner)
        elif child.tag in (qn("w:sdt"), qn("w:sdtContent"), qn("w:customXml")):
            yield from _blocks(child, owner)


def _row(tr, table: Table, position: int) -> TRow:
    col = _Row(tr, table).grid_cols_before
    cells = []
    for tc in tr.tc_lst:
        span = tc.grid_span
        filled = [(p, text.strip()) for p in tc.iter(_W_P)
                  if not _skipped(p, tc) and (text := paragraph_text(p)).strip()]
        cells.append(TCell(col, col + span - 1, [t for _, t in filled], tc.vMerge == "continue",
                           [p for p, _ in filled]))
        col += span
    return TRow(cells, position)


def paragraph_text(p) -> str:
    """A paragraph's text as the park sees it: runs, hyperlinks, fields, tracked insertions and content controls
    included, deleted text and text boxes left out; tabs and line breaks as such; check boxes (legacy fields,
    symbol-font boxes) as ☑ or ☐."""
    out = []
    for el in p.iter(_W_T, _W_TAB, _W_BR, _W_CR, _W_SYM, _W_FLDCHAR):
        run = el.getparent()
        if run is None or run.tag != _W_R or _skipped(run, p):
            continue
        if el.tag == _W_T:
            out.append(_symbol_text(el.text or "", run))
        elif el.tag == _W_TAB:
            out.append("\t")
        elif el.tag in (_W_BR, _W_CR):
            out.append("\n")
        elif el.tag == _W_SYM:
            out.append(_symbol(el.get(qn("w:font")), el.get(qn("w:char"))))
        else:
            out.append(_legacy_box(el))
    return "".join(out)


def _skipped(el, top) -> bool:
    """Whether `el` stands, below `top`, in a text box, a deleted part or the fallback of an alternative."""
    for anc in el.iterancestors():
        if anc is top:
            return False
        if anc.tag in _SKIPPED or anc.tag == _FALLBACK:
            return True
    return False


def _symbol(font: str | None, char: str | None) -> str:
    try:
        code = int(char or "", 16) & 0xFF
    except ValueError:
        return ""
    return SYMBOL_BOXES.get((font or "").lower(), {}).get(code, "")


def _symbol_text(text: str, run) -> str:
    """The text of a run; in a symbol font (a box typed as Wingdings "þ"), the boxes it shows."""
    rpr = run.find(_W_RPR)
    fonts = rpr.find(_W_RFONTS) if rpr is not None else None
    name = ((fonts.get(_W_ASCII) or fonts.get(_W_HANSI) or "") if fonts is not None else "").lower()
    table = SYMBOL_BOXES.get(name)
    if not table:
        return text
    return "".join(table.get(ord(ch) & 0xFF, "") for ch in text)


def _legacy_box(fld) -> str:
    """A legacy form check box (FORMCHECKBOX): ☑ or ☐ where it begins; any other field char shows nothing."""
    if fld.get(qn("w:fldCharType")) != "begin":
        return ""
    box = fld.find(f"{qn('w:ffData')}/{qn('w:checkBox')}")
    if box is None:
        return ""
    for tag in ("w:checked", "w:default"):
        el = box.find(qn(tag))
        if el is not None:
            return CHECKED if el.get(qn("w:val"), "1") in ("1", "true", "on") else UNCHECKED
    return UNCHECKED


# ---- texts compared --------------------------------------------------------------------------------
def squash(text: str) -> str:
    """Full-width folded (NFKC), white space removed, lower case: how texts of the form are compared."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


_PART = squash(PART_PREFIX)


def label_key(text: str) -> str:
    """A label as it is looked for: squashed, without the 计算用 mark of a part and without the footnote
    reference a label carries when its footnote became text (“工业园区名称1”, “亩均税收（万元/亩）³”)."""
    key = squash(text)
    if key.startswith(_PART):
        key = key[len(_PART):]
    return _FOOTNOTE_MARKS.sub("", key)
