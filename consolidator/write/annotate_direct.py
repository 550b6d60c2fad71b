"""The annotated copy (write/annotate.py) made on the return's own package, without openpyxl's object model.

openpyxl loads and saves every cell of a return to change a few (~60 ms a copy); here only the parts that change
are rewritten, as text: the marked sheets (a cell's style, the conditional formats taken off its cells, the
comments printed at the end, a link to the comments part), styles.xml (the fills and the 问题清单's styles
appended), the workbook's sheet list and names, the relationships and content types; 问题清单 is a new part
(sheetxml), the comments and their boxes new parts too. Every other part is copied as it is, compressed bytes
and all. The copy shows what openpyxl's does (tests/test_annotate.py holds both to the same checks).

What this does not know how to change safely it leaves to openpyxl, by raising Unhandled: macros, external
links, comments of the park's own, a prefixed main namespace, a problem cell that is not in its sheet's XML, a
conditional format whose formula is not relative to the first cell of its ranges. Every part it writes is parsed
(namespaces included) before the copy is given out. The calculation chain is left out (Excel rebuilds it).
"""

from __future__ import annotations

import io
import re
import xml.parsers.expat
import zipfile
from collections import defaultdict
from functools import lru_cache
from xml.sax.saxutils import escape, quoteattr, unescape

from openpyxl.utils import column_index_from_string, get_column_letter, quote_sheetname

from ..findings import ERROR, WARNING, Finding
from ..read.package import sheet_files
from .annotation import (
    COMMENT_AUTHOR,
    COMMENT_PX,
    LIST_FOOTER,
    LIST_GUIDE,
    LIST_HEADS,
    LIST_SHEET,
    LIST_WIDTHS,
    WORDS,
    Widths,
    comment_height,
    first_cell_of,
    link_location,
    list_title,
    problem_entry,
    shifted_formula,
    vml_blocks,
    vml_part,
)
from .sheetxml import SheetFrame, SheetXml, insert_before, with_defined_names
from .styles import BORDER, ERROR_FILL, HEAD_FILL, WARNING_FILL
from .xlsx import cell_xml, copy_member, deflated, print_setup, put_deflated, xml_text

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_CONTENT = "application/vnd.openxmlformats-officedocument.spreadsheetml."
# what may follow <legacyDrawing> in a worksheet (CT_Worksheet's order)
_AFTER_LEGACY = ("<legacyDrawingHF", "<drawingHF", "<picture", "<oleObjects", "<controls", "<webPublishItems",
                 "<tableParts", "</worksheet>")  # and the worksheet's own <extLst> (_top_extension)
_REF = re.compile(r"([A-Z]{1,3})(\d+)")
_SELECTED = re.compile(r'\btabSelected="(?:1|true)"')


class Unhandled(Exception):
    """The package has something this module does not change safely: openpyxl makes the copy."""


def annotate_package(data: bytes, problems: list[Finding]) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    names = src.namelist()
    lower = [n.lower() for n in names]
    if any(n.endswith(("vbaproject.bin", ".vml")) or n.startswith("xl/externallinks/") for n in lower):
        raise Unhandled("macros, external links or comments of its own")
    edits: dict[str, str] = {}

    def text(name: str) -> str:
        if name not in edits:
            edits[name] = src.read(name).decode("utf-8")
        return edits[name]

    workbook = text("xl/workbook.xml")
    _require_main(workbook, "workbook")
    styles = _Styles(text("xl/styles.xml"))
    parts = sheet_files(src)  # part -> sheet name, in the workbook's order
    part_of = {name: part for part, name in parts.items()}
    marks = _Marks(problems, part_of, text)
    new_parts: dict[str, bytes] = {}
    block = 1  # each sheet's comment boxes take the VML blocks of shape ids after the sheet's before
    for sheet, cells in marks.by_sheet.items():
        part = part_of[sheet]
        taken = [*names, *new_parts]
        comments, vml = _free_name(taken, "xl/comments/comment", ".xml"), _free_name(taken, "xl/drawings/commentsDrawing", ".vml")
        edits[part], new_parts[comments], new_parts[vml] = _mark_sheet(text(part), sheet, cells, marks.merged[sheet],
                                                                       styles, block)
        block += vml_blocks(len(cells))
        _sheet_rels(src, edits, part, comments, vml)
    for part in parts:  # 问题清单 is the one selected ("1" or "true": LibreOffice writes the word)
        if _selected(src, part):
            edits[part] = _unselected(text(part))
    title = _list_title(set(part_of))
    list_part = _free_name(names, "xl/worksheets/sheet", ".xml")
    rows = len(problems) + 3
    new_parts[list_part] = _list_sheet(problems, marks.places, styles)
    edits["xl/workbook.xml"] = _workbook(workbook, title, rows)
    rels = text("xl/_rels/workbook.xml.rels")
    if "rIdQ7" in rels:
        raise Unhandled("relationship ids")
    rels = re.sub(r'<Relationship\b[^>]*\bType="[^"]*/calcChain"[^>]*/>', "", rels)  # the chain: left out
    edits["xl/_rels/workbook.xml.rels"] = _insert(rels, "</Relationships>", f'<Relationship Id="rIdQ7List" '
                                                  f'Type="{_TYPE}worksheet" Target="/{list_part}"/>')
    edits["xl/styles.xml"] = styles.text
    edits["[Content_Types].xml"] = _content_types(text("[Content_Types].xml"), list_part, new_parts)
    dropped = {n for n in names if n.lower() == "xl/calcchain.xml"}
    for name, body in [*edits.items(), *new_parts.items()]:
        _well_formed(name, body)
    return _package(data, src, edits, new_parts, dropped)


def _views_end(xml: str) -> int:
    """Where a sheet's views end (tabSelected is an attribute of a sheetView): a cell's text after them may read
    the same and is the park's."""
    return min((i for i in (xml.find("</sheetViews>"), xml.find("<sheetData")) if i >= 0), default=len(xml))


def _selected(src: zipfile.ZipFile, part: str) -> bool:
    """Whether the sheet is a selected tab. Its views come before its cells, so only the part's head is expanded
    (a template's hidden _calc sheet is most of a return: expanded and searched whole it cost ~28 ms a copy)."""
    head = b""
    with src.open(part) as fh:
        while b"</sheetViews>" not in head and b"<sheetData" not in head and (chunk := fh.read(16384)):
            head += chunk
    xml = head.decode("utf-8", "replace")
    return _SELECTED.search(xml, 0, _views_end(xml)) is not None


def _unselected(xml: str) -> str:
    """The sheet no longer a selected tab; its cells as they were."""
    end = _views_end(xml)
    return _SELECTED.sub('tabSelected="0"', xml[:end]) + xml[end:]


def _require_main(text: str, root: str) -> None:
    if not re.search(rf'<{root}\b[^>]*\bxmlns="{re.escape(MAIN)}"', text):
        raise Unhandled(f"{root}: not in the main namespace as its default")


# ---- where the problems are --------------------------------------------------------------------------
class _Marks:
    """The problems by sheet and cell (the first cell of a merged range), each sheet's merged ranges, and where
    each problem is (for the links of 问题清单)."""

    def __init__(self, problems: list[Finding], part_of: dict[str, str], text):
        self.by_sheet: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
        self.places: dict[int, tuple[str, str]] = {}
        self.merged: dict[str, list[tuple[int, int, int, int]]] = {}
        for f in problems:
            if not (f.sheet and f.cell and f.sheet in part_of):
                continue
            sheet_xml = text(part_of[f.sheet])
            _require_main(sheet_xml, "worksheet")
            ranges = self.merged.setdefault(f.sheet, _merged_ranges(sheet_xml))
            coord = _first_cell(ranges, f.cell)
            self.by_sheet[f.sheet][coord].append(f)
            self.places[id(f)] = (f.sheet, coord)


def _merged_ranges(sheet_xml: str) -> list[tuple[int, int, int, int]]:
    """(first row, first column, last row, last column) of every merged range of a sheet."""
    out = []
    for a, b in re.findall(r'<mergeCell\b[^>]*\bref="([A-Z]+\d+):([A-Z]+\d+)"', sheet_xml):
        (r1, c1), (r2, c2) = _rc(a), _rc(b)
        out.append((r1, c1, r2, c2))
    return out


def _rc(coord: str) -> tuple[int, int]:
    m = _REF.fullmatch(coord)
    if not m:
        raise Unhandled(f"cell reference {coord}")
    return int(m.group(2)), column_index_from_string(m.group(1))


def _first_cell(ranges, coord: str) -> str:
    r, c = _rc(coord)
    for r1, c1, r2, c2 in ranges:
        if r1 <= r <= r2 and c1 <= c <= c2:
            return f"{get_column_letter(c1)}{r1}"
    return coord


def _covered(ranges, coord: str) -> set[tuple[int, int]]:
    """The cells of the merged range that starts at coord (just coord when it is not merged), as (row, col)."""
    r, c = _rc(coord)
    for r1, c1, r2, c2 in ranges:
        if (r1, c1) == (r, c):
            return {(i, j) for i in range(r1, r2 + 1) for j in range(c1, c2 + 1)}
    return {(r, c)}


# ---- styles ------------------------------------------------------------------------------------------
class _Styles:
    """styles.xml with fonts, fills, borders and cell formats appended (each once), by their XML."""

    def __init__(self, text: str):
        _require_main(text, "styleSheet")
        self.text, self.known = text, {}

    def items(self, tag: str, item: str) -> list[str]:
        return list(_items(self.text, tag, item))

    def add(self, tag: str, item: str, element: str) -> int:
        key = (tag, element)
        if key not in self.known:
            self.text, self.known[key] = _added(self.text, tag, item, element)
        return self.known[key]

    def marked(self, sid: int, severity: str) -> int:
        """The cell format `sid` with the fill of the severity."""
        xfs = self.items("cellXfs", "xf")
        if sid >= len(xfs):
            raise Unhandled(f"cell format {sid}")
        fill = self.add("fills", "fill", _fill_xml(ERROR_FILL if severity == ERROR else WARNING_FILL))
        xf = re.sub(r'\s(?:fillId|applyFill)="[^"]*"', "", xfs[sid], count=2)
        xf = re.sub(r"^<xf\b", f'<xf fillId="{fill}" applyFill="1"', xf)
        return self.add("cellXfs", "xf", xf)

    def cell(self, *, font: str | None = None, fill=None, border: bool = False, align: str = "") -> int:
        """A cell format of the 问题清单."""
        f = self.add("fonts", "font", font) if font else 0
        fl = self.add("fills", "fill", _fill_xml(fill)) if fill is not None else 0
        b = self.add("borders", "border", _BORDER_XML) if border else 0
        xf = (f'<xf numFmtId="0" fontId="{f}" fillId="{fl}" borderId="{b}" xfId="0" applyFont="{int(bool(font))}" '
              f'applyFill="{int(fill is not None)}" applyBorder="{int(border)}" applyAlignment="{int(bool(align))}">'
              f"{align}</xf>")
        return self.add("cellXfs", "xf", xf)


# The copies of a template share its styles.xml, and each gets the same formats added in the same order: what an
# addition makes of a styles text is kept (the text's search and rewrite was a sixth of a copy's time).
@lru_cache(maxsize=256)
def _items(text: str, tag: str, item: str) -> tuple[str, ...]:
    a, b = _block(text, tag)
    return tuple(re.findall(rf"<{item}\b[^>]*/>|<{item}\b[^>]*>.*?</{item}>", text[a:b], re.S))


@lru_cache(maxsize=256)
def _added(text: str, tag: str, item: str, element: str) -> tuple[str, int]:
    """The styles text with `element` appended to its <tag> list, and the element's index there."""
    n = len(_items(text, tag, item))
    _, b = _block(text, tag)
    text = text[:b] + element + text[b:]
    return re.sub(rf'(<{tag}\b[^>]*?\bcount=")\d+(")', rf"\g<1>{n + 1}\g<2>", text, count=1), n


def _block(text: str, tag: str) -> tuple[int, int]:
    m = re.search(rf"<{tag}\b[^>]*>(.*?)</{tag}>", text, re.S)
    if not m:
        raise Unhandled(f"styles.xml without <{tag}>")
    return m.start(1), m.end(1)


def _fill_xml(fill) -> str:
    rgb = fill.fgColor.rgb
    return f'<fill><patternFill patternType="solid"><fgColor rgb="{rgb}"/><bgColor rgb="{rgb}"/></patternFill></fill>'


def _side(name: str) -> str:
    side = getattr(BORDER, name)
    return f'<{name} style="{side.style}"><color rgb="{side.color.rgb}"/></{name}>'


_BORDER_XML = f"<border>{''.join(_side(n) for n in ('left', 'right', 'top', 'bottom'))}<diagonal/></border>"
_TITLE_FONT = '<font><name val="黑体"/><b val="1"/><sz val="14"/></font>'
_HEAD_FONT = '<font><name val="黑体"/><b val="1"/><sz val="11"/></font>'
_LINK_FONT = '<font><u val="single"/><color rgb="000563C1"/></font>'
_WRAP_TOP = '<alignment wrapText="1" vertical="top"/>'


# ---- a marked sheet ----------------------------------------------------------------------------------
def _mark_sheet(xml: str, sheet: str, cells: dict[str, list[Finding]], ranges: list[tuple[int, int, int, int]],
                styles: _Styles, block: int) -> tuple[str, bytes, bytes]:
    """The sheet with its problem cells filled and commented; its comments part and their boxes (VML)."""
    if "<legacyDrawing" in xml or "x14:conditionalFormatting" in xml:
        raise Unhandled(f"{sheet}: comments or conditional formats of its own")
    covered: set[tuple[int, int]] = set()
    comments, boxes = [], []
    widths = _widths(xml)
    for coord, items in cells.items():
        worst = ERROR if any(f.severity == ERROR for f in items) else WARNING
        xml = _restyle(xml, coord, styles, worst)
        text = xml_text("\n".join(f"【{WORDS[f.severity]}】{f.message}" for f in items))
        comments.append(f'<comment ref="{coord}" authorId="0"><text><t xml:space="preserve">{escape(text)}</t></text>'
                        "</comment>")
        r, c = _rc(coord)
        cells_of = _covered(ranges, coord)
        covered |= cells_of
        boxes.append((r, c, max(j for _, j in cells_of), COMMENT_PX, comment_height(text)))
    xml = _drop_conditional_formats(xml, covered)
    xml = _comments_at_end(xml)
    root = re.search(r"<worksheet\b[^>]*>", xml)
    if root is None:
        raise Unhandled("no worksheet element")
    if not re.search(rf'\sxmlns:r="{re.escape(REL)}"', root.group(0)):
        if "xmlns:r=" in root.group(0):
            raise Unhandled("the prefix r bound to something else")
        xml = xml[:root.start()] + f'<worksheet xmlns:r="{REL}"' + xml[root.start() + len("<worksheet"):]
    at = min(i for i in (*(xml.find(t) for t in _AFTER_LEGACY), _top_extension(xml)) if i >= 0)
    xml = xml[:at] + '<legacyDrawing r:id="rIdQ7Vml"/>' + xml[at:]
    body = (f'<comments xmlns="{MAIN}"><authors><author>{COMMENT_AUTHOR}</author></authors><commentList>'
            + "".join(comments) + "</commentList></comments>")
    return xml, body.encode("utf-8"), vml_part(widths, boxes, block)


def _top_extension(xml: str) -> int:
    """Where the worksheet's own <extLst> (its last child) starts, -1 when it has none (an <extLst> may also be
    inside a conditional format or a validation)."""
    end = xml.rfind("</extLst>")
    if end < 0 or xml[end + len("</extLst>"):].strip() != "</worksheet>":
        return -1
    depth = 0
    for m in reversed(list(re.finditer(r"<extLst\b[^>]*?(/?)>|</extLst>", xml))):
        if m.group(0) == "</extLst>":
            depth += 1
        elif not m.group(1):
            depth -= 1
            if depth == 0:
                return m.start()
    raise Unhandled("extLst not balanced")


def _restyle(xml: str, coord: str, styles: _Styles, severity: str) -> str:
    m = re.search(rf'<c\b[^>]*?\br="{coord}"[^>]*?(/?)>', xml)
    if not m:
        raise Unhandled(f"cell {coord} not in the sheet")
    tag = m.group(0)
    s = re.search(r'\ss="(\d+)"', tag)
    sid = styles.marked(int(s.group(1)) if s else 0, severity)
    new = re.sub(r"^<c\b", f'<c s="{sid}"', re.sub(r'\ss="\d+"', "", tag))
    return xml[:m.start()] + new + xml[m.end():]


def _drop_conditional_formats(xml: str, covered: set[tuple[int, int]]) -> str:
    """The sheet's conditional formats taken off the marked cells (each kept on its other cells)."""
    def one(m: re.Match) -> str:
        kept = []
        for ref in m.group(2).split():
            a, _, b = ref.partition(":")
            (r1, c1), (r2, c2) = _rc(a.replace("$", "")), _rc((b or a).replace("$", ""))
            if not any(r1 <= r <= r2 and c1 <= c <= c2 for r, c in covered):
                kept.append(ref)
                continue
            if (r2 - r1 + 1) * (c2 - c1 + 1) > 10_000:
                raise Unhandled(f"a conditional format over {ref}")
            kept += [f"{get_column_letter(c)}{r}" for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)
                     if (r, c) not in covered]
        if not kept:
            return ""
        body, old, new = m.group(3), first_cell_of(m.group(2)), first_cell_of(kept[0])
        if old != new:  # the formulas are relative to the first cell: written from the new one
            body = re.sub(r"(<formula>)(.*?)(</formula>)", lambda f: f.group(1) + escape(shifted_formula(
                unescape(f.group(2)), old, new)) + f.group(3), body, flags=re.S)
        return m.group(1) + " ".join(kept) + body

    return re.sub(r'(<conditionalFormatting\b[^>]*?\bsqref=")([^"]*)("[^>]*>.*?</conditionalFormatting>)', one, xml,
                  flags=re.S)


def _comments_at_end(xml: str) -> str:
    """The sheet's own page set-up (after its custom views, which have theirs) prints the comments at the end, and
    in colour: the template prints in black and white (no input fills on the stamped paper), which in Excel and
    WPS would print none of the marks either."""
    found = list(re.finditer(r"<pageSetup\b[^>]*?(/?)>", xml))
    m = found[-1] if found else None
    if m is None or m.start() < xml.rfind("</customSheetViews>"):
        raise Unhandled("a marked sheet without page set-up of its own")
    tag = re.sub(r'\s(?:cellComments|blackAndWhite)="[^"]*"', "", m.group(0))
    tag = tag.replace("<pageSetup", '<pageSetup cellComments="atEnd"', 1)
    return xml[:m.start()] + tag + xml[m.end():]


def _widths(xml: str) -> Widths:
    cols: dict[int, tuple[float | None, bool]] = {}
    for tag in re.findall(r"<col\b[^>]*>", xml):
        a = dict(re.findall(r'(\w+)="([^"]*)"', tag))
        width = float(a["width"]) if "width" in a else None
        for i in range(int(a.get("min", 1)), min(int(a.get("max", 1)), 16384) + 1):
            cols[i] = (width, a.get("hidden") in ("1", "true"))
    rows = {}
    for tag in re.findall(r"<row\b[^>]*>", xml):
        a = dict(re.findall(r'(\w+)="([^"]*)"', tag))
        if "r" in a:
            rows[int(a["r"])] = (float(a["ht"]) if "ht" in a else None, a.get("hidden") in ("1", "true"))
    fmt = re.search(r"<sheetFormatPr\b[^>]*>", xml)
    f = dict(re.findall(r'(\w+)="([^"]*)"', fmt.group(0))) if fmt else {}
    return Widths(cols, rows, float(f["defaultColWidth"]) if "defaultColWidth" in f else None,
                  float(f["defaultRowHeight"]) if "defaultRowHeight" in f else None)


def _sheet_rels(src: zipfile.ZipFile, edits: dict[str, str], part: str, comments: str, vml: str) -> None:
    """The sheet's relationships with its comments and their boxes."""
    folder, _, file = part.rpartition("/")
    rels = f"{folder}/_rels/{file}.rels"
    added = (f'<Relationship Id="rIdQ7Cmt" Type="{_TYPE}comments" Target="/{comments}"/>'
             f'<Relationship Id="rIdQ7Vml" Type="{_TYPE}vmlDrawing" Target="/{vml}"/>')
    if rels in src.namelist():
        old = src.read(rels).decode("utf-8")
        if "/comments" in old or "rIdQ7" in old:
            raise Unhandled(f"{part}: comments of its own")
        edits[rels] = _insert(old, "</Relationships>", added)
    else:
        edits[rels] = f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{added}</Relationships>'


def _free_name(names: list[str], stem: str, suffix: str) -> str:
    """stem + the first number whose part the package does not have (part names are not case-sensitive)."""
    taken = {n.lower() for n in names}
    k = 1
    while f"{stem}{k}{suffix}".lower() in taken:
        k += 1
    return f"{stem}{k}{suffix}"


# ---- 问题清单 ----------------------------------------------------------------------------------------
def _list_setup(ws) -> None:
    for k, width in enumerate(LIST_WIDTHS, 1):
        ws.column_dimensions[get_column_letter(k)].width = width
    ws.freeze_panes = "A4"
    ws.sheet_view.tabSelected = True
    print_setup(ws, orientation="landscape", footer=SheetFrame.footer_token())


@lru_cache(maxsize=1)
def _list_frame() -> SheetFrame:
    return SheetFrame.of(_list_setup)


def _list_sheet(problems: list[Finding], places: dict[int, tuple[str, str]], styles: _Styles) -> bytes:
    """The first sheet: every problem with a link to its cell, what is wrong and what to do; prints on A4."""
    sheet = SheetXml(_list_frame())
    sheet.footer = LIST_FOOTER
    title = styles.cell(font=_TITLE_FONT)
    guide = styles.cell(align=_WRAP_TOP)
    head = styles.cell(font=_HEAD_FONT, fill=HEAD_FILL, border=True,
                       align='<alignment horizontal="center" vertical="center"/>')
    body = styles.cell(border=True, align=_WRAP_TOP)
    link = styles.cell(font=_LINK_FONT, border=True, align=_WRAP_TOP)
    kinds = {ERROR: styles.cell(fill=ERROR_FILL, border=True, align=_WRAP_TOP),
             WARNING: styles.cell(fill=WARNING_FILL, border=True, align=_WRAP_TOP)}
    sheet.row(1, [cell_xml("A1", list_title(problems), title)], None)
    sheet.row(2, [cell_xml("A2", LIST_GUIDE, guide)], 32)
    sheet.row(3, [cell_xml(f"{get_column_letter(k)}3", h, head) for k, h in enumerate(LIST_HEADS, 1)], None)
    sheet.merge("A1:H1")
    sheet.merge("A2:H2")
    order = sorted(problems, key=lambda f: f.severity != ERROR)  # errors first, each group as found
    for n, f in enumerate(order, 1):
        r, place = 3 + n, places.get(id(f))
        values, height = problem_entry(n, f, place)
        cells = []
        for k, v in enumerate(values, 1):
            sid = kinds[f.severity] if k == 2 else link if (k == 3 and place) else body
            cells.append(cell_xml(f"{get_column_letter(k)}{r}", xml_text(v) if isinstance(v, str) else v, sid))
        sheet.row(r, cells, height)
        if place:
            sheet.link(f"C{r}", link_location(place), values[2])
    return sheet.xml()


def _list_title(sheets: set[str]) -> str:
    name = LIST_SHEET
    while name in sheets:
        name += "（检查）"
    return name


def _workbook(xml: str, title: str, rows: int) -> str:
    """The workbook with 问题清单 first and selected: the other sheets' local names move one place on."""
    ids = [int(i) for i in re.findall(r'<sheet\b[^>]*?\bsheetId="(\d+)"', xml)]
    xml = re.sub(r'(\blocalSheetId=")(\d+)(")', lambda m: f"{m.group(1)}{int(m.group(2)) + 1}{m.group(3)}", xml)
    m = re.search(r"<sheets\b[^>]*>", xml)
    if not m:
        raise Unhandled("workbook without sheets")
    entry = (f'<sheet xmlns:r="{REL}" name={quoteattr(title)} sheetId="{max(ids, default=0) + 1}" state="visible" '
             'r:id="rIdQ7List"/>')
    xml = xml[:m.end()] + entry + xml[m.end():]
    quoted = escape(quote_sheetname(title))
    names = (f'<definedName name="_xlnm.Print_Titles" localSheetId="0">{quoted}!$3:$3</definedName>'
             f'<definedName name="_xlnm.Print_Area" localSheetId="0">{quoted}!$A$1:$H${rows}</definedName>')
    xml = with_defined_names(xml, names)
    for _ in range(2):  # activeTab and firstSheet: their default, 0, is 问题清单
        xml = re.sub(r'(<workbookView\b[^>]*?)\s(?:activeTab|firstSheet)="\d+"', r"\1", xml)
    return xml


def _content_types(xml: str, list_part: str, new_parts: dict[str, bytes]) -> str:
    xml = re.sub(r'<Override\b[^>]*\bPartName="/xl/calcChain\.xml"[^>]*/>', "", xml, flags=re.I)
    added = [f'<Override PartName="/{list_part}" ContentType="{_CONTENT}worksheet+xml"/>']
    added += [f'<Override PartName="/{n}" ContentType="{_CONTENT}comments+xml"/>' for n in new_parts
              if n.startswith("xl/comments/")]
    if not re.search(r'<Default\b[^>]*\bExtension="vml"', xml):
        added.append('<Default Extension="vml" ContentType="application/vnd.openxmlformats-officedocument.vmlDrawing"/>')
    return _insert(xml, "</Types>", "".join(added))


def _insert(text: str, before: str, addition: str) -> str:
    try:
        return insert_before(text, before, addition)
    except ValueError as exc:
        raise Unhandled(str(exc)) from None


def _well_formed(name: str, body: str | bytes) -> None:
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")  # an unbound prefix is an error
    try:
        parser.Parse(body.encode("utf-8") if isinstance(body, str) else body, True)
    except xml.parsers.expat.ExpatError as exc:
        raise Unhandled(f"{name}: {exc}") from None


# ---- the package -------------------------------------------------------------------------------------
def _package(data: bytes, src: zipfile.ZipFile, edits: dict[str, str], new_parts: dict[str, bytes],
             dropped: set[str]) -> bytes:
    """The copy: edited parts compressed anew, the others' compressed bytes copied, then the new parts."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename in dropped:
                continue
            if info.filename in edits:
                fresh = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                put_deflated(dst, fresh, deflated(edits[info.filename].encode("utf-8")))
            else:
                copy_member(data, src, info, dst)
        for name, body in new_parts.items():
            put_deflated(dst, zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), deflated(body))
        for name in sorted(set(edits) - set(src.namelist())):  # new relationship parts
            put_deflated(dst, zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), deflated(edits[name].encode("utf-8")))
    return out.getvalue()
