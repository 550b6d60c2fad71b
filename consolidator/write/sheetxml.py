"""Worksheets written as XML text, for a workbook of thousands of sheets alike (the panel's park sheets).

Through openpyxl's object model a park sheet costs about 6 ms and its share of the save about 1 ms; as text it
is a fraction of that, and it can be made on every core. What all the sheets share (columns, view, print set-up,
protection) is still openpyxl's: SheetFrame has openpyxl write one sheet so set up and keeps its XML around the
rows. The workbook itself (styles, the sheets openpyxl writes) is saved by openpyxl; with_sheets adds the text
sheets to that package.

Text stays text: a string is an inline string, never a formula; a Formula is one (xlsx.cell_xml).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from typing import Callable
from xml.sax.saxutils import escape, quoteattr

from openpyxl import Workbook
from openpyxl.utils import quote_sheetname
from openpyxl.utils.cell import absolute_coordinate

from .xlsx import Packed, copy_member, number_text, put_deflated, xml_text

_FOOTER_TOKEN = "Q7FOOTERQ7"  # ASCII, in no text of ours: stands for a sheet's own footer in the frame


@dataclass
class SheetFrame:
    """A worksheet part around its rows, as openpyxl writes a sheet that `setup(ws)` has set up (and whose
    footer text it set to footer_token()): the part up to the rows, the sheet protection after them, and the
    print set-up with the footer to fill in."""

    head: str
    protection: str
    page: str

    @classmethod
    def of(cls, setup: Callable) -> "SheetFrame":
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("frame")
        setup(ws)
        ws.append([])
        buf = io.BytesIO()
        wb.save(buf)
        with zipfile.ZipFile(buf) as z:
            part = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
        head, _, rest = part.partition("<sheetData")
        rest = rest[rest.index("</sheetData>") + len("</sheetData>"):] if "</sheetData>" in rest else rest[rest.index("/>") + 2:]
        protection, sep, page = rest.partition("<printOptions")
        if not sep or _FOOTER_TOKEN not in page or not page.endswith("</worksheet>"):
            raise ValueError("the frame's sheet has no print set-up or footer")
        return cls(head, protection, sep + page.removesuffix("</worksheet>"))

    @staticmethod
    def footer_token() -> str:
        return _FOOTER_TOKEN


@dataclass
class SheetXml:
    """The rows of a sheet, top to bottom, and what goes with them; xml() makes the part in its frame."""

    frame: SheetFrame
    rows: list[str] = field(default_factory=list)  # <row> elements, in order
    merges: list[str] = field(default_factory=list)
    validations: list[str] = field(default_factory=list)
    conditionals: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    breaks: list[int] = field(default_factory=list)
    footer: str = ""

    def row(self, r: int, cells: list[str], height: float | None) -> None:
        ht = f' ht="{number_text(height)}" customHeight="1"' if height is not None else ""
        self.rows.append(f'<row r="{r}"{ht}>{"".join(cells)}</row>')

    def merge(self, ref: str) -> None:
        self.merges.append(f'<mergeCell ref="{ref}"/>')

    def decimal_between(self, ref: str, low: float, high: float, title: str, error: str) -> None:
        """A decimal in low..high (blank allowed), refused with a message otherwise."""
        self.validations.append(
            f'<dataValidation sqref="{ref}" showDropDown="0" showInputMessage="0" showErrorMessage="1" allowBlank="1" '
            f'errorTitle={quoteattr(xml_text(title))} error={quoteattr(xml_text(error))} type="decimal" '
            f'operator="between"><formula1>{number_text(low)}</formula1><formula2>{high}</formula2></dataValidation>')

    def link(self, ref: str, location: str, display: str) -> None:
        """A link from the cell to a place in the workbook ('Sheet'!B5)."""
        self.links.append(f'<hyperlink ref="{ref}" location={quoteattr(xml_text(location))} '
                          f'display={quoteattr(xml_text(display))}/>')

    def formula_rule(self, ref: str, formula: str, dxf: int) -> None:
        """A conditional format: the differential style dxf where the formula holds."""
        self.conditionals.append(f'<conditionalFormatting sqref="{ref}"><cfRule type="expression" '
                                 f'priority="{len(self.conditionals) + 1}" dxfId="{dxf}"><formula>{escape(formula)}'
                                 '</formula></cfRule></conditionalFormatting>')

    def xml(self) -> bytes:
        f = self.frame
        parts = [f.head, "<sheetData>", *self.rows, "</sheetData>", f.protection]
        if self.merges:
            parts += [f'<mergeCells count="{len(self.merges)}">', *self.merges, "</mergeCells>"]
        parts += self.conditionals
        if self.validations:
            parts += [f'<dataValidations count="{len(self.validations)}">', *self.validations, "</dataValidations>"]
        if self.links:
            parts += ["<hyperlinks>", *self.links, "</hyperlinks>"]
        parts.append(f.page.replace(_FOOTER_TOKEN, escape(xml_text(self.footer))))
        if self.breaks:
            parts.append(f'<rowBreaks count="{len(self.breaks)}" manualBreakCount="{len(self.breaks)}">')
            parts += [f'<brk id="{r}" min="0" max="16383" man="1"/>' for r in self.breaks]
            parts.append("</rowBreaks>")
        parts.append("</worksheet>")
        return "".join(parts).encode("utf-8")


# ---- the package ------------------------------------------------------------------------------------
@dataclass
class AddedSheet:
    title: str  # unique in the workbook, valid as a sheet name
    part: Packed  # the worksheet part, deflated
    print_area: str | None = None  # "A1:F57"


_WS_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
_WS_CONTENT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def with_sheets(package: bytes, sheets: list[AddedSheet]) -> bytes:
    """The workbook openpyxl saved, with `sheets` after its own: each listed in the workbook, its
    relationships and content types, with its print area; the other parts copied as they are."""
    src = zipfile.ZipFile(io.BytesIO(package))
    workbook = src.read("xl/workbook.xml").decode("utf-8")
    first = workbook.count("<sheet ") + 1  # openpyxl's parts are sheet1.xml … in the order of the list
    names = [f"xl/worksheets/sheet{first + k}.xml" for k in range(len(sheets))]
    edits = {
        "xl/workbook.xml": _workbook_xml(workbook, sheets, first),
        "xl/_rels/workbook.xml.rels": insert_before(src.read("xl/_rels/workbook.xml.rels").decode("utf-8"), "</Relationships>",
                                              "".join(f'<Relationship Type="{_WS_TYPE}" Target="/{n}" Id="rIdP{k}"/>'
                                                      for k, n in enumerate(names, start=1))),
        "[Content_Types].xml": insert_before(src.read("[Content_Types].xml").decode("utf-8"), "</Types>",
                                       "".join(f'<Override PartName="/{n}" ContentType="{_WS_CONTENT}"/>' for n in names)),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename in edits:
                dst.writestr(info, edits[info.filename].encode("utf-8"), zipfile.ZIP_DEFLATED)
            else:
                copy_member(package, src, info, dst)
        for name, sheet in zip(names, sheets):
            put_deflated(dst, zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), sheet.part)
    return out.getvalue()


def insert_before(text: str, before: str, addition: str) -> str:
    """`addition` put in front of the last `before` of a part's text."""
    i = text.rfind(before)
    if i < 0:
        raise ValueError(f"no {before} in the part")
    return text[:i] + addition + text[i:]


def with_defined_names(workbook: str, names: str) -> str:
    """workbook.xml with the <definedName> elements `names` added: to its list, or in a list of their own after
    the sheets, function groups and external references (CT_Workbook's order)."""
    if "</definedNames>" in workbook:
        return insert_before(workbook, "</definedNames>", names)
    if "<definedNames/>" in workbook:
        return workbook.replace("<definedNames/>", f"<definedNames>{names}</definedNames>", 1)
    at = max(workbook.find(t) + len(t) if workbook.find(t) >= 0 else -1
             for t in ("</sheets>", "</functionGroups>", "<functionGroups/>", "</externalReferences>"))
    return workbook[:at] + f"<definedNames>{names}</definedNames>" + workbook[at:]


def _workbook_xml(workbook: str, sheets: list[AddedSheet], first: int) -> str:
    entries = "".join(f'<sheet xmlns:r="{_R_NS}" name={quoteattr(s.title)} sheetId="{first + k}" state="visible" '
                      f'r:id="rIdP{k + 1}"/>' for k, s in enumerate(sheets))
    workbook = insert_before(workbook, "</sheets>", entries)
    areas = "".join(f'<definedName name="_xlnm.Print_Area" localSheetId="{first - 1 + k}">'
                    f'{escape(quote_sheetname(s.title))}!{absolute_coordinate(s.print_area)}</definedName>'
                    for k, s in enumerate(sheets) if s.print_area)
    return with_defined_names(workbook, areas) if areas else workbook
