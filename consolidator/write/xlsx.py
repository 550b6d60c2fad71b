"""Writing park-entered text into our own workbooks, safely.

Text a park typed stays text: a value beginning with "=", "+", "-" or "@" is stored as a string, never
as a formula, and no text becomes a hyperlink. Characters a workbook cannot hold are removed and text
longer than a cell can hold is cut at the limit; both are reported as findings, never done silently.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import math
import re
import struct
import zipfile
import zlib
from collections.abc import Sequence
from typing import Any, Callable

import numpy as np
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from ..cores import map_forked
from ..findings import Finding, make_finding
from ..read.package import sheet_files
from ..rules.formats import utf8_buffers
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


# A numeric character reference (&#19977; or &#x4e09;); XML escapes a literal "&" as &amp;, so no text matches.
_CHAR_REF = re.compile(rb"&#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}));")


def _as_utf8(m: re.Match) -> bytes:
    n = int(m.group(1), 16) if m.group(1) else int(m.group(2))
    if 0xA0 <= n <= 0x10FFFF and not 0xD800 <= n <= 0xDFFF and n not in (0xFFFE, 0xFFFF):
        return chr(n).encode("utf-8")
    return m.group(0)  # ASCII, C1 controls and what XML cannot hold stay references


def utf8_text(name: str, body: bytes) -> bytes:
    """An XML part (in UTF-8) with its character references to non-ASCII text written as the characters
    themselves, as Excel and WPS write them. openpyxl writes every Chinese character as a reference (&#19977;,
    eight bytes for three): a sheet of the form is then some twice as long, and every reader (ours, Excel's) parses
    the references one by one. ASCII ones stay: a line feed in an attribute must remain &#10;. A member that is
    not XML (a picture) is returned as it is."""
    if not name.endswith((".xml", ".rels", ".vml")) or b"&#" not in body:
        return body
    return _CHAR_REF.sub(_as_utf8, body)


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

    def clean_column(self, values: Sequence, clean_at: Callable[[int, Any], Any]) -> Sequence:
        """`values` cleaned: as they are when none of their texts needs anything done (most columns: no carriage
        return, nothing a workbook cannot hold, none too long), seen in one pass; else each cleaned (and reported)
        by clean_at(position, value). A LazyColumn is judged from its bytes, then a piece at a time: only a piece
        that needs it is made Python strings and cleaned (one bad name must not cost the whole column)."""
        if not isinstance(values, LazyColumn):
            return values if _as_they_are(list(values)) else [clean_at(k, v) for k, v in enumerate(values)]
        if values.plain():
            return values
        import pyarrow

        pieces = []
        for k in range(0, len(values), LazyColumn.STEP):
            texts = values[k:k + LazyColumn.STEP]
            if _as_they_are(texts):
                pieces.append(values.array.slice(k, len(texts)))
            else:
                pieces.append(pyarrow.array([clean_at(k + j, v) for j, v in enumerate(texts)], pyarrow.string()))
        return LazyColumn(pyarrow.chunked_array([c for p in pieces for c in getattr(p, "chunks", [p])],
                                                pyarrow.string()))

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


def _as_they_are(values: list) -> bool:
    texts = [v for v in values if isinstance(v, str)]
    joined = "\n".join(texts)
    return "\r" not in joined and not NOT_XML.search(joined) and max(map(len, texts), default=0) <= MAX_CELL_CHARS


class LazyColumn(Sequence):
    """A column of a large table whose values are made Python objects a piece at a time, as they are written: an
    Arrow array of texts (the enterprise list's names and credit codes: most of a million at national scale,
    which as Python strings would take some 150 MB more while the summary is written)."""

    STEP = 65536

    def __init__(self, array):
        self.array = array  # a pyarrow Array or ChunkedArray

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, k):
        if isinstance(k, slice):
            start, stop, step = k.indices(len(self))
            values = self.array.slice(start, max(0, stop - start)).to_pylist()
            return values if step == 1 else values[::step]
        return self.array[k].as_py()

    def __iter__(self):
        for k in range(0, len(self), self.STEP):
            yield from self.array.slice(k, self.STEP).to_pylist()

    def plain(self) -> bool:
        """True when surely no text needs anything done (as _as_they_are), seen in the UTF-8 bytes: no byte of a
        character no workbook holds or of a CR (all below 0x20 but TAB and LF), no U+FFFE or U+FFFF, and no text
        of more bytes than a cell holds characters. False: look at the texts (a false alarm only costs time)."""
        import pyarrow

        chunks = self.array.chunks if isinstance(self.array, pyarrow.ChunkedArray) else [self.array]
        for k in range(0, len(chunks), 1024):  # a thousand joined at a time: one numpy pass each
            arr, ends, b = utf8_buffers(pyarrow.chunked_array(chunks[k:k + 1024], self.array.type))
            if arr.null_count or (len(arr) and int(np.diff(ends).max()) > MAX_CELL_CHARS):
                return False
            b = b[ends[0]:ends[-1]]
            if _NOT_PLAIN[b].any() or ((b[:-2] == 0xEF) & (b[1:-1] == 0xBF) & (b[2:] >= 0xBE)).any():
                return False
        return True


_NOT_PLAIN = np.zeros(256, bool)  # the UTF-8 bytes of the characters TextGuard changes (NOT_XML and CR)
_NOT_PLAIN[[c for c in range(0x20) if c not in (0x09, 0x0A)]] = True


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


def defer_rows(ws, first_row: int, rows: Sequence[list[Any]], style_of: StyleOf, height: HeightOf | None = None,
               by_type: bool = False) -> None:
    """Rows first_row, first_row+1... of a write-only sheet, written by workbook_to_bytes; `height` gives a
    row its height (LibreOffice does not fit a row to its wrapped text when it opens a workbook). by_type: a
    cell's style depends only on its column and the type of its value (a ColumnRows table is then written
    column by column)."""
    getattr(ws.parent, _BULK, None) or setattr(ws.parent, _BULK, {})
    getattr(ws.parent, _BULK)[ws.title] = (first_row, rows, style_of, height, by_type)


# what a text cell must have escaped or removed (NOT_XML), and what needs xml:space="preserve" kept
_UNSAFE = re.compile(f"[&<>\r]|{NOT_XML.pattern}")


class Formula(str):
    """A cell's formula (without "="): the only text cell_xml writes as one."""


def _text(v: str) -> str:
    if _UNSAFE.search(v):  # last resort: park text is cleaned and reported by TextGuard
        v = xml_text(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return v


def _number(x: float) -> str:
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def cell_xml(ref: str, v: Any, sid: int) -> str:
    """One cell of a sheet written as text: numbers as numbers, dates as dates, text as inline text (never a
    formula, unless a Formula); None, "" and NaN as an empty cell that keeps its style."""
    s = f' s="{sid}"' if sid else ""
    t = type(v)
    if t is str and v:
        space = ' xml:space="preserve"' if v[0] in " \t\n" or v[-1] in " \t\n" else ""
        return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{_text(v)}</t></is></c>'
    if (t is float or t is int) and math.isfinite(v):
        return f'<c r="{ref}"{s}><v>{_number(float(v))}</v></c>'
    if isinstance(v, Formula):
        return f'<c r="{ref}"{s}><f>{_text(v)}</f><v></v></c>'
    if isinstance(v, str):
        return cell_xml(ref, str(v), sid) if v else f'<c r="{ref}"{s}/>'
    if isinstance(v, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(v)}</v></c>'
    if isinstance(v, dt.datetime):
        return f'<c r="{ref}"{s}><v>{(v - _EXCEL_EPOCH).total_seconds() / 86400!r}</v></c>'
    if isinstance(v, dt.date):
        return f'<c r="{ref}"{s}><v>{(v - _EXCEL_EPOCH.date()).days}</v></c>'
    if v is None or not math.isfinite(x := float(v)):
        return f'<c r="{ref}"{s}/>'
    return f'<c r="{ref}"{s}><v>{_number(x)}</v></c>'


class ColumnRows(Sequence):
    """A table held as its columns (rows start..start+n of them): the list of a national round, written
    column by column (_columns_xml) without a list per row."""

    def __init__(self, columns: list[list[Any]], start: int = 0, n: int | None = None):
        self.columns, self.start = columns, start
        self.n = (len(columns[0]) if columns else 0) - start if n is None else n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(self.n))]
        if not -self.n <= k < self.n:
            raise IndexError(k)
        k = self.start + k % self.n
        return [c[k] for c in self.columns]

    def part(self, start: int, n: int) -> "ColumnRows":
        return ColumnRows(self.columns, self.start + start, n)


def _plain(v: str) -> bool:
    """Text that goes into a cell as it is: nothing to escape or remove, no space to keep at either end."""
    return v[0] not in " \t\n" and v[-1] not in " \t\n" and not _UNSAFE.search(v)


def _columns_xml(first_row: int, rows: ColumnRows, style_of: StyleOf, start: int, stop: int) -> bytes:
    """Rows start..stop of a table whose style depends on the column and the type of value only, as UTF-8: each
    column's cells made at once by Arrow (`_arrow_cells`), or where a column holds more than texts, or texts that
    need something done, in one comprehension (`_python_cells`); then each row's cells joined by Arrow. The same
    bytes as the rows written one by one."""
    import pyarrow as pa
    import pyarrow.compute as pc

    refs = [str(first_row + k) for k in range(start, stop)]
    if not refs:
        return b""
    arrow_refs = pa.array(refs, pa.string())
    columns = []
    for i, column in enumerate(rows.columns):
        letter = get_column_letter(i + 1)
        texts = _texts_of(column, rows.start + start, rows.start + stop)
        cells = None if texts is None else _arrow_cells(letter, texts, arrow_refs, lambda v, i=i: style_of(start, i, v))
        if cells is None:
            values = column[rows.start + start:rows.start + stop] if texts is None else texts.to_pylist()
            made = _python_cells(letter, values, refs, lambda v, i=i: style_of(start, i, v))
            try:
                cells = pa.array(made, pa.string())
            except (pa.ArrowException, UnicodeError):  # a lone surrogate left in a text: written as before
                return _columns_text(first_row, rows, style_of, start, stop).encode("utf-8", "replace")
        columns.append(cells)
    joined = pc.binary_join_element_wise('<row r="', arrow_refs, '">', *columns, "</row>", "")
    _, offsets, data = joined.buffers()
    ends = np.frombuffer(offsets, np.int32)[joined.offset:joined.offset + len(joined) + 1]
    return data.to_pybytes()[ends[0]:ends[-1]]


def _texts_of(column: Sequence, a: int, b: int):
    """Rows a..b of a column as an Arrow string array when it holds only texts and blanks (None), else None."""
    import pyarrow as pa

    if isinstance(column, LazyColumn):
        texts = column.array.slice(a, b - a)
        texts = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
        return texts if pa.types.is_string(texts.type) else None
    values = column[a:b]
    if not set(map(type, values)) <= {str, type(None)}:  # numbers, dates, a Formula (a str of its own type)
        return None
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowException, UnicodeError):  # a lone surrogate: the Python cells decide what is written
        return None


# the UTF-8 bytes that keep a text from going into a cell as it is (_plain): what _UNSAFE finds but U+FFFE and
# U+FFFF (looked for as byte triples), and the blanks that must not begin or end one (xml:space)
_UNSAFE_BYTE = _NOT_PLAIN.copy()
_UNSAFE_BYTE[[ord("&"), ord("<"), ord(">")]] = True
_BLANK_BYTE = np.zeros(256, bool)
_BLANK_BYTE[[ord(" "), ord("\t"), ord("\n")]] = True


def _arrow_cells(letter: str, texts, refs, style: Callable[[Any], int]):
    """A column of texts as its cells' XML (an empty string where the cell is blank), when every text of it goes
    into its cell as it is (nothing to escape or remove, no blank at either end) and its style is not the default,
    or when it has no text; else None."""
    import pyarrow as pa
    import pyarrow.compute as pc

    texts, starts, data = utf8_buffers(texts)
    filled = np.diff(starts) > 0
    if texts.null_count:
        filled &= np.asarray(texts.is_valid())
    at = np.flatnonzero(filled)
    if not len(at):  # no cell of it written
        return pa.repeat("", len(texts))
    sid = style(texts[int(at[0])].as_py())
    b = data[starts[0]:starts[-1]]
    if not sid or _UNSAFE_BYTE[b].any() or ((b[:-2] == 0xEF) & (b[1:-1] == 0xBF) & (b[2:] >= 0xBE)).any():
        return None
    if _BLANK_BYTE[data[starts[:-1][at]]].any() or _BLANK_BYTE[data[starts[1:][at] - 1]].any():
        return None
    cells = pc.binary_join_element_wise(f'<c r="{letter}', refs, f'" s="{sid}" t="inlineStr"><is><t>', texts,
                                        "</t></is></c>", "")
    return pc.if_else(pa.array(filled), cells, "")


def _python_cells(letter: str, values: list, refs: list[str], style: Callable[[Any], int]) -> list[str]:
    """A column's cells' XML, one at a time (an empty string where the cell is blank): a column's texts are
    looked at together (most need nothing done to them), its cells made in one comprehension."""
    sids: dict = {}
    texts = [v for v in values if type(v) is str and v]
    sid = style(texts[0]) if texts else 0
    plain = bool(sid) and not _UNSAFE.search("\n".join(texts))

    def other(r: str, v) -> str:
        if v is None or v == "":
            return ""
        t = type(v)
        if t not in sids:
            sids[t] = style(v)
        return cell_xml(f"{letter}{r}", v, sids[t])

    head, mid = f'<c r="{letter}', f'" s="{sid}" t="inlineStr"><is><t>'
    if any(type(v) is float for v in values):  # a column of numbers: its cells as cell_xml writes a float
        isfinite = math.isfinite
        fsid = sids[float] = style(0.0)
        fmid = f'" s="{fsid}"><v>' if fsid else '"><v>'
        return [f"{head}{r}{fmid}{str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)}</v></c>"
                if type(v) is float and isfinite(v) else other(r, v) for r, v in zip(refs, values)]
    return [f"{head}{r}{mid}{v}</t></is></c>"  # (an f-string: a quarter faster than +)
            if plain and type(v) is str and v and v[0] not in " \t\n" and v[-1] not in " \t\n"
            else other(r, v) for r, v in zip(refs, values)]


def _columns_text(first_row: int, rows: ColumnRows, style_of: StyleOf, start: int, stop: int) -> str:
    """_columns_xml as text, every column made by _python_cells (for a table Arrow cannot hold)."""
    refs = [str(first_row + k) for k in range(start, stop)]
    columns = [_python_cells(get_column_letter(i + 1), column[rows.start + start:rows.start + stop], refs,
                             lambda v, i=i: style_of(start, i, v)) for i, column in enumerate(rows.columns)]
    return "".join(f'<row r="{r}">{"".join(cells)}</row>' for r, *cells in zip(refs, *columns))


def number_text(x: float) -> str:
    """A number written into an attribute as openpyxl writes it ("%.16g"): row heights, validation bounds."""
    return "%.16g" % x


def _rows_xml(first_row: int, rows: Sequence[list[Any]], style_of: StyleOf, height: HeightOf | None = None,
              by_type: bool = False, start: int = 0, stop: int | None = None) -> str:
    """Rows start..stop (offsets into `rows`) as XML."""
    stop = len(rows) if stop is None else stop
    if isinstance(rows, ColumnRows) and height is None and by_type:
        return _columns_text(first_row, rows, style_of, start, stop)
    letters: list[str] = []
    out: list[str] = []
    for k in range(start, stop):
        row = rows[k]
        while len(letters) < len(row):
            letters.append(get_column_letter(len(letters) + 1))
        r = first_row + k
        pt = height(k, row) if height is not None else None
        out.append(f'<row r="{r}" ht="{number_text(pt)}" customHeight="1">' if pt else f'<row r="{r}">')
        for i, v in enumerate(row):
            if v is None or v == "":
                continue
            sid = style_of(k, i, v)
            if type(v) is str and sid and _plain(v):
                out.append(f'<c r="{letters[i]}{r}" s="{sid}" t="inlineStr"><is><t>{v}</t></is></c>')  # most cells
            else:
                out.append(cell_xml(f"{letters[i]}{r}", v, sid))
        out.append("</row>")
    return "".join(out)


def _rows_utf8(first_row: int, rows: Sequence[list[Any]], style_of: StyleOf, height: HeightOf | None,
               by_type: bool, start: int, stop: int) -> bytes:
    """_rows_xml in UTF-8 (a lone surrogate as "?"); a table held as columns made so by Arrow."""
    if isinstance(rows, ColumnRows) and height is None and by_type:
        return _columns_xml(first_row, rows, style_of, start, stop)
    return _rows_xml(first_row, rows, style_of, height, by_type, start, stop).encode("utf-8", "replace")


Packed = tuple[bytes, int, int]  # a part deflated: (data, CRC-32, size)


def deflated(body: bytes, level: int = zlib.Z_DEFAULT_COMPRESSION) -> Packed:
    """What ZIP_DEFLATED at zipfile's default level (or `level`) makes of `body`: (data, CRC-32, size). Done
    where the part is made (a worker), so that the workbook is put together without compressing anything again."""
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(body) + c.flush(), zlib.crc32(body), len(body)


def put_deflated(dst: zipfile.ZipFile, info: zipfile.ZipInfo, packed: Packed) -> None:
    """A member whose deflated bytes are known, written as ZipFile.writestr would write it (same header, same
    central-directory entry) without compressing it again. Uses zipfile's own header writer;
    tests/test_personal.py holds the result to writestr's byte for byte."""
    data, crc, size = packed
    zi = copy.copy(info)
    zi.compress_type = zipfile.ZIP_DEFLATED
    zi.CRC, zi.compress_size, zi.file_size = crc, len(data), size
    zi.header_offset = dst.fp.tell()
    dst._writecheck(zi)
    dst._didModify = True
    dst.fp.write(zi.FileHeader(zip64=size > zipfile.ZIP64_LIMIT or len(data) > zipfile.ZIP64_LIMIT))
    dst.fp.write(data)
    dst.filelist.append(zi)
    dst.NameToInfo[zi.filename] = zi
    dst.start_dir = dst.fp.tell()


def copy_member(data: bytes, src: zipfile.ZipFile, info: zipfile.ZipInfo, dst: zipfile.ZipFile) -> None:
    """A member of the package `data` (opened as src) into dst as it is: a deflated one's compressed bytes
    copied, not inflated and deflated again."""
    fresh = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    if info.compress_type == zipfile.ZIP_DEFLATED and not info.flag_bits & 0x1:
        h = info.header_offset
        name_len, extra_len = struct.unpack("<HH", data[h + 26:h + 30])
        start = h + 30 + name_len + extra_len
        put_deflated(dst, fresh, (data[start:start + info.compress_size], info.CRC, info.file_size))
    else:
        dst.writestr(fresh, src.read(info), zipfile.ZIP_DEFLATED)


CHUNK_CELLS = 40_000  # the rows of a large table are written in pieces of about this many cells, on all cores
FORKED_CELLS = 3_000_000  # up to this many cells in a workbook's large tables (1,000 returns: 0.7 million)
LEVEL = 3  # deflate level of large tables and many sheets: most of the size for a fraction of the default's time


def _pieces(spec: tuple) -> list[tuple[int, int]]:
    rows = spec[1]
    n = len(rows)
    width = max(1, len(rows[0])) if n else 1
    step = max(1, CHUNK_CELLS // width)
    return [(a, min(n, a + step)) for a in range(0, n, step)] or [(0, 0)]


def _deflate(data: bytes, last: bool) -> tuple[bytes, int, int]:
    """Raw deflate of one piece of a part, ended on a byte boundary (not the last) so that pieces compressed
    apart join into one stream; (data, CRC-32, size)."""
    c = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH), zlib.crc32(data), len(data)


def _joined(pieces: list[tuple[bytes, int, int]]) -> tuple[bytes, int, int]:
    crc, size = 0, 0
    for _, c, n in pieces:
        crc, size = crc32_combine(crc, c, n), size + n
    return b"".join(p for p, _, _ in pieces), crc, size


def _times(mat: list[int], vec: int) -> int:
    s, i = 0, 0
    while vec:
        if vec & 1:
            s ^= mat[i]
        vec >>= 1
        i += 1
    return s


def _zero_operators() -> list[list[int]]:
    """The operators that apply 1, 2, 4 … 2**63 zero bytes to a CRC-32 (zlib's crc32_combine squares them anew at
    every call; they are the same every time)."""
    op = [0xEDB88320] + [1 << n for n in range(31)]  # one zero bit
    ops = []
    for k in range(3 + 64):  # 2, 4 zero bits, then 1, 2, 4 … zero bytes
        op = [_times(op, op[n]) for n in range(32)]
        if k >= 2:
            ops.append(op)
    return ops


_ZERO_OPERATORS: list[list[int]] = []


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of a + b from crc32(a), crc32(b) and len(b) (zlib's crc32_combine, which Python's zlib does not
    offer): pieces of a part are compressed on different cores, each with its own CRC."""
    if len2 <= 0:
        return crc1
    if not _ZERO_OPERATORS:
        _ZERO_OPERATORS.extend(_zero_operators())
    k = 0
    while len2:  # apply len2 zero bytes to crc1: the operators of 1, 2, 4 … zero bytes, by the bits of len2
        if len2 & 1:
            crc1 = _times(_ZERO_OPERATORS[k], crc1)
        len2 >>= 1
        k += 1
    return crc1 ^ crc2


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
    """The workbook's .xlsx bytes; the rows handed to defer_rows are written into their sheets on all cores."""
    buf = io.BytesIO()
    wb.save(buf)
    deferred = getattr(wb, _BULK, None)
    if not deferred:
        return buf.getvalue()
    jobs = [(title, a, b) for title, spec in deferred.items() for a, b in _pieces(spec)]
    cells = sum((b - a) * max(1, len(deferred[t][1][a])) for t, a, b in jobs if b > a)

    def piece(job):
        return _deflate(_rows_utf8(*deferred[job[0]], job[1], job[2]), last=False)

    # a forked worker copies every page of the tables it reads or this process writes: beyond FORKED_CELLS the
    # memory (a national round's, at most 1 GiB) counts more than the seconds, but for the tables held as columns
    # (the enterprise list's: Arrow arrays and lists of the few texts of each return, which a worker reads without
    # touching many pages). summarize at 10,000: all here 35.9 s, 757 MB; those on workers 33.9 s, 828 MB; all on
    # workers 34.1 s, 929 MB
    if cells <= FORKED_CELLS:
        done = map_forked(piece, jobs, least=2)
    else:
        held = [k for k, j in enumerate(jobs) if isinstance(deferred[j[0]][1], ColumnRows)]
        made = dict(zip(held, map_forked(piece, [jobs[k] for k in held], least=2)))
        done = [made[k] if k in made else piece(job) for k, job in enumerate(jobs)]
    rows_of: dict[str, list] = {}
    for (title, _, _), piece in zip(jobs, done):
        rows_of.setdefault(title, []).append(piece)
    out, saved = io.BytesIO(), buf.getvalue()
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        titles = sheet_files(zin)
        for info in zin.infolist():
            title = titles.get(info.filename)
            if title not in deferred:
                copy_member(saved, zin, info, zout)
                continue
            data = zin.read(info)
            head, sep, tail = data.partition(b"</sheetData>")
            if not sep:  # a sheet without rows: <sheetData/>
                head, sep, tail = data.partition(b"<sheetData/>")
                head += b"<sheetData>"
            put_deflated(zout, info, _joined([_deflate(head, False), *rows_of[title],
                                              _deflate(b"</sheetData>" + tail, True)]))
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
