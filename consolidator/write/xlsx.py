"""Writing park-entered text into our own workbooks, safely.

Text a park typed stays text: a value beginning with "=", "+", "-" or "@" is stored as a string, never
as a formula, and no text becomes a hyperlink. Characters a workbook cannot hold are removed and text
longer than a cell can hold is cut at the limit; both are reported as findings, never done silently.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import zipfile
from collections.abc import Sequence
from typing import Any, Callable, Iterable

from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from ..findings import Finding, make_finding
from ..read.package import sheet_files
from .styles import BODY_FONT, BORDER, text_width

MAX_CELL_CHARS = 32767


# What an .xlsx part (XML 1.0) cannot hold: control characters but tab, line feed and carriage return,
# lone surrogates (a file name that is not UTF-8), U+FFFE and U+FFFF. openpyxl's own pattern misses the last
# three; a workbook holding them is ill-formed (openpyxl cannot load it, LibreOffice silently cuts it).
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\']")


def xml_text(text: str) -> str:
    """`text` without what no workbook may hold (NOT_XML): the one sanitiser of every string we write into
    a workbook, whether cell, sheet name, comment or property. Line endings become Excel's one (LF): an XML
    reader turns a bare CR into LF anyway, unless the writer escaped it (openpyxl does when lxml is installed)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return NOT_XML.sub("", text) if NOT_XML.search(text) else text


def sheet_title(text: str, limit: int = 31) -> str:
    """Text as a sheet may be named: what no workbook holds, and []:*?/\\' removed; at most `limit` characters."""
    return SHEET_NAME_FORBIDDEN.sub("", xml_text(text)).strip()[:limit]


class TextGuard:
    """Cleans text for a workbook and keeps the findings about what it had to change."""

    def __init__(self):
        self.findings: list[Finding] = []
        self._seen: set[tuple] = set()

    def clean(self, value: Any, *, label: str = "", file: str = "", park: str = "") -> Any:
        if not isinstance(value, str):
            return value
        text = value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value
        if NOT_XML.search(text):
            text = NOT_XML.sub("", text)
            self._report("text_cleaned", label=label, file=file, park=park)
        if len(text) > MAX_CELL_CHARS:
            self._report("text_too_long", label=label, file=file, park=park, count=len(text), limit=MAX_CELL_CHARS)
            text = text[:MAX_CELL_CHARS]
        return text

    def absorb(self, findings: list[Finding]) -> None:
        """Findings of a guard in another process (a worker that wrote some of the text), each once."""
        for f in findings:
            key = (f.code, f.file, f.label)
            if key not in self._seen:
                self._seen.add(key)
                self.findings.append(f)

    def _report(self, code: str, **kw) -> None:
        key = (code, kw.get("file"), kw.get("label"))
        if key not in self._seen:
            self._seen.add(key)
            self.findings.append(make_finding(code, **kw))


def cell(ws, value: Any = None, *, font=BODY_FONT, fill=None, border=BORDER, alignment=None, number_format=None):
    """A write-only cell; strings are always stored as text (never formulas)."""
    if isinstance(value, str):
        value = xml_text(value)  # last resort: callers clean (and report) through TextGuard
    c = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        c.data_type = "s"
    c.font = font
    if fill is not None:
        c.fill = fill
    if border is not None:
        c.border = border
    if alignment is not None:
        c.alignment = alignment
    if number_format:
        c.number_format = number_format
    return c


def set_text(target, value: Any) -> None:
    """Put a value into a normal (not write-only) cell; strings stay strings (and hold nothing a workbook
    cannot: callers clean and report through TextGuard, this is the last resort)."""
    if isinstance(value, str):
        value = xml_text(value)
    target.value = value
    if isinstance(value, str):
        target.data_type = "s"


def quick_width(text: str, latin: float = 1.15) -> float:
    """About text_width, without looking at each character (for every cell of a large table): a CJK
    character takes three bytes in UTF-8 and counts two, an ASCII one takes one byte and counts `latin`
    (LibreOffice's substitutes for the Chinese fonts have wider Latin letters than Excel's)."""
    n = len(text)
    wide = (len(text.encode("utf-8", "replace")) - n) / 2
    return 2 * wide + latin * (n - wide)


def width_of(text: Any) -> int:
    """The display width of a value's first line."""
    return text_width(("" if text is None else str(text)).split("\n")[0])


def fit_widths(rows: list[list[Any]], *, minimum=6, maximum=50) -> list[float]:
    """Column widths that fit Chinese text: CJK characters count two."""
    widths: list[float] = []
    for row in rows:
        for i, v in enumerate(row):
            w = min(maximum, max(minimum, width_of(v) + 2))
            if i >= len(widths):
                widths.append(w)
            else:
                widths[i] = max(widths[i], w)
    return widths


# ---- large tables --------------------------------------------------------------------------------------
# openpyxl serialises each cell through an element tree (about 30 us a cell): the enterprise list of a
# national round has millions of cells. Rows handed to defer_rows are written after openpyxl has saved
# the book, straight into the sheet's XML (about 1 us a cell): numbers as numbers, dates as dates,
# text as inline strings (never a formula: there is no way for inline text to become one).
_BULK = "_consolidator_deferred_rows"
StyleOf = Callable[[int, int, Any], int]  # (row offset, column index, value) -> style id (0: none)
HeightOf = Callable[[int, list], "float | None"]  # (row offset, row) -> the row's height in pt (None: the default)
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def style_id(ws, proto) -> int:
    """The workbook's style index of a prototype cell (registered as openpyxl registers it)."""
    return ws.parent._cell_styles.add(proto._style)


def defer_rows(ws, first_row: int, rows: Sequence[list[Any]], style_of: StyleOf, height: HeightOf | None = None) -> None:
    """Rows first_row, first_row+1... of a write-only sheet, written by workbook_to_bytes; `height` gives a
    row its height (LibreOffice does not fit a row to its wrapped text when it opens a workbook)."""
    getattr(ws.parent, _BULK, None) or setattr(ws.parent, _BULK, {})
    getattr(ws.parent, _BULK)[ws.title] = (first_row, rows, style_of, height)


def _escape(text: str) -> str:
    text = xml_text(text)  # last resort: park text is cleaned and reported by TextGuard
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;"))


def _cell_xml(ref: str, v: Any, sid: int) -> str:
    s = f' s="{sid}"' if sid else ""
    if isinstance(v, str):
        return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{_escape(v)}</t></is></c>'
    if isinstance(v, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(v)}</v></c>'
    if isinstance(v, dt.datetime):
        return f'<c r="{ref}"{s}><v>{(v - _EXCEL_EPOCH).total_seconds() / 86400!r}</v></c>'
    if isinstance(v, dt.date):
        return f'<c r="{ref}"{s}><v>{(v - _EXCEL_EPOCH.date()).days}</v></c>'
    x = float(v)
    if not math.isfinite(x):
        return ""
    return f'<c r="{ref}"{s}><v>{int(x) if x.is_integer() and abs(x) < 1e15 else repr(x)}</v></c>'


class LazyRows(Sequence):
    """n rows made one at a time by row(k) when the sheet is written: a table of most of a million
    rows never exists as lists of lists."""

    def __init__(self, n: int, row: Callable[[int], list[Any]]):
        self.n, self.row = n, row

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self.row(i) for i in range(*k.indices(self.n))]
        if not -self.n <= k < self.n:
            raise IndexError(k)
        return self.row(k % self.n)


def _rows_xml(first_row: int, rows: Sequence[list[Any]], style_of: StyleOf,
              height: HeightOf | None = None) -> Iterable[bytes]:
    letters: list[str] = []
    chunk: list[str] = []
    for k, row in enumerate(rows):
        while len(letters) < len(row):
            letters.append(get_column_letter(len(letters) + 1))
        r = first_row + k
        pt = height(k, row) if height is not None else None
        chunk.append(f'<row r="{r}" ht="{pt:.1f}" customHeight="1">' if pt else f'<row r="{r}">')
        for i, v in enumerate(row):
            if v is None or v == "":
                continue
            chunk.append(_cell_xml(f"{letters[i]}{r}", v, style_of(k, i, v)))
        chunk.append("</row>")
        if len(chunk) > 20000:
            yield "".join(chunk).encode("utf-8", "replace")
            chunk = []
    yield "".join(chunk).encode("utf-8", "replace")


def new_sheet(wb, title: str):
    """wb.create_sheet(title) for a write-only workbook whose titles the caller has made unique (and valid):
    openpyxl checks a new title against every sheet's, which at 10,000 park sheets is a quarter of the time."""
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    if not getattr(wb, "write_only", False) or len(wb._sheets) < 50:
        return wb.create_sheet(title)
    ws = WriteOnlyWorksheet(parent=None, title=None)  # no parent: openpyxl skips the check
    ws._parent = wb
    ws._WorkbookChild__title = title
    wb._add_sheet(ws)
    return ws


def workbook_to_bytes(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    deferred = getattr(wb, _BULK, None)
    if not deferred:
        return buf.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=3) as zout:
        parts = {title: part for part, title in sheet_files(zin).items()}
        by_part = {parts[title]: spec for title, spec in deferred.items()}
        for info in zin.infolist():
            data = zin.read(info)
            spec = by_part.get(info.filename)
            if spec is None:
                zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
                continue
            head, sep, tail = data.partition(b"</sheetData>")
            if not sep:  # a sheet without rows: <sheetData/>
                head, sep, tail = data.partition(b"<sheetData/>")
                head += b"<sheetData>"
            with zout.open(info.filename, "w", force_zip64=True) as fh:
                fh.write(head)
                for block in _rows_xml(*spec):
                    fh.write(block)
                fh.write(b"</sheetData>" + tail)
    return out.getvalue()


# ---- printing ------------------------------------------------------------------------------------------
A4_PT = (595.3, 841.9)  # width, height
MARGINS_IN = {"landscape": (0.4, 0.5, 0.6), "portrait": (0.5, 0.6, 0.7)}  # left and right, top, bottom


def column_pt(width: float) -> float:
    """A column's printed width at 100 % (Excel: 7 px a unit of the default font, plus 5 px of padding)."""
    return 5.25 * width + 3.75


def page_body_pt(orientation: str) -> tuple[float, float]:
    """The width and height (pt) inside the margins of print_setup, at 100 %."""
    side, top, bottom = MARGINS_IN[orientation]
    w, h = A4_PT if orientation == "portrait" else A4_PT[::-1]
    return w - 2 * side * 72, h - (top + bottom) * 72


def print_setup(ws, *, orientation: str = "landscape", fit_width: int = 1, title_rows: str | None = None,
                title_cols: str | None = None, footer: str = "&A　第 &P 页") -> None:
    """A4, fitted to `fit_width` pages across and as many down as it takes, title rows and columns repeated on
    every page, page numbers counted from 1 in each sheet (Excel and LibreOffice otherwise number the pages
    of the whole workbook on). On a write-only sheet call it before the first row is appended: the
    fit-to-page flag is part of the sheet's properties, which are written with the first row."""
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    setup = ws.page_setup
    setup.paperSize = "9"
    setup.orientation = orientation
    setup.fitToWidth = fit_width
    setup.fitToHeight = 0
    setup.firstPageNumber = 1
    setup.useFirstPageNumber = True
    ws.print_options.gridLines = False
    side, top, bottom = MARGINS_IN[orientation]
    m = ws.page_margins
    m.left = m.right = side
    m.top, m.bottom = top, bottom
    m.header = m.footer = 0.25
    if title_rows:
        ws.print_title_rows = title_rows
    if title_cols:
        ws.print_title_cols = title_cols
    ws.oddFooter.center.text = footer
    ws.oddFooter.center.size = 9
