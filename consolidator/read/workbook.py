"""Read one file into raw cell values, located to the cell.

A return is located by the template's defined names (`fld_<id>`), which survive inserted rows and
renamed sheets; when they are gone (the form pasted into a fresh workbook, an .ods or .xls) fields are
found beside their labels, using the template's own layout for the offsets. Nothing here writes anywhere.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from functools import lru_cache
from operator import itemgetter
from typing import Any, Iterator, NamedTuple

import python_calamine as calamine

from ..errors import why_zh
from ..findings import make_finding
from ..returns import Cell, PackedCells, RawReturn
from ..rules.layout import form_layout
from ..rules.model import Form
from ..rules.workbook import (
    LIST_PREFIX,
    META_KEYS,
    META_SHEET,
    NAME_PREFIX,
    PROPERTY_PREFIX,
    column_index,
    column_letter,
)
from .package import (
    MAX_FILE_BYTES,
    MAX_RANGE_CELLS,
    Refused,
    inspect_package,
    odd_package,
    part,
    sniff,
    without_macro_sheets,
)
from .sources import Source


class _Grid:
    """All cell values of a workbook, addressed as (sheet, row, column), 1-based. A sheet is only
    turned into Python values when something asks for it."""

    def __init__(self, wb: calamine.CalamineWorkbook):
        self.wb = wb
        self._sheets: dict[str, list[list[Any]]] = {}
        self.order: list[str] = []
        self.visible: dict[str, bool] = {}
        for meta in wb.sheets_metadata:
            self.order.append(meta.name)
            self.visible[meta.name] = meta.visible == calamine.SheetVisibleEnum.Visible

    def rows(self, sheet: str) -> list[list[Any]]:
        rows = self._sheets.get(sheet)
        if rows is None:
            found = self.wb.get_sheet_by_name(sheet)
            if found.height * found.width > MAX_RANGE_CELLS:  # a cell far outside the form: name it, read nothing
                row, col = found.end
                raise Refused("file_too_large", reason=f"工作表“{sheet}”的 {column_letter(col + 1)}{row + 1} "
                                                        "单元格有内容，表格范围过大；请删除该单元格的内容")
            rows = self._sheets[sheet] = found.to_python(skip_empty_area=False)
        return rows

    def get(self, sheet: str, row: int, col: int) -> Any:
        if sheet not in self.visible or row < 1 or col < 1:
            return None
        return _at(self.rows(sheet), row, col)

    def pick(self, spots: tuple[tuple[str, int, int], ...]) -> tuple:
        """The values at (sheet, row, column) spots on sheets the workbook has, as get gives them."""
        return tuple(_at(self.rows(sheet), row, col) for sheet, row, col in spots)

    def max_row(self, sheet: str) -> int:
        return len(self.rows(sheet))

    def texts(self) -> Iterator[tuple[str, int, int, str]]:
        for sheet in self.order:
            for r, line in enumerate(self.rows(sheet), start=1):
                for c, value in enumerate(line, start=1):
                    if isinstance(value, str) and value:
                        yield sheet, r, c, value


def _at(rows: list[list[Any]], row: int, col: int) -> Any:
    """The value at (row, column), 1-based; None outside the rows or where the cell is empty."""
    if 0 < row <= len(rows):
        line = rows[row - 1]
        if 0 < col <= len(line):
            value = line[col - 1]
            return None if value == "" else value
    return None


@lru_cache(maxsize=8192)
def _split_ref(text: str) -> tuple[str, str] | None:
    """"'三、发展情况'!$C$5" -> ("三、发展情况", "C5"); None when the name is broken (#REF!)."""
    if "!" not in text or "#REF" in text:
        return None
    sheet, ref = text.rsplit("!", 1)
    sheet = sheet.strip()
    if sheet.startswith("'") and sheet.endswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    ref = ref.replace("$", "")
    if not re.fullmatch(r"[A-Z]{1,3}\d+(:[A-Z]{1,3}\d+)?", ref):
        return None
    return sheet, ref


# (attributes before the name, name, attributes after it, text)
_DEFINED_NAME = re.compile(r'<(?:\w+:)?definedName\b([^>]*?)\bname="([^"]*)"([^>]*)>([^<]*)</(?:\w+:)?definedName>')
_PROPERTY = re.compile(r'<(?:\w+:)?property\b[^>]*\bname="([^"]*)"[^>]*>\s*<[^>]*>([^<]*)<', re.S)


def _xlsx_parts(zf: zipfile.ZipFile) -> tuple[_Names, dict[str, str]]:
    """Workbook-level defined names and our custom document properties. Called only after
    inspect_package has made sure no part declares a DTD or an entity."""
    props: dict[str, str] = {}
    names = _defined_names(_names_text(part(zf, "xl/workbook.xml").decode("utf-8", "replace")))
    if "docProps/custom.xml" in zf.namelist():
        ctext = part(zf, "docProps/custom.xml").decode("utf-8", "replace")
        for name, value in _PROPERTY.findall(ctext):
            name = _unescape(name)
            if name.startswith(PROPERTY_PREFIX):
                props[name[len(PROPERTY_PREFIX):]] = _unescape(value).strip()
    return names, props


def _names_text(book: str) -> str:
    """The stretch of workbook.xml that holds its defined names (from the first definedName tag to the end of
    the last): the same in every copy of a template, also one Excel or WPS saved again."""
    first, last = book.find("definedName"), book.rfind("definedName")
    if first < 0:
        return ""
    start, end = book.rfind("<", 0, first), book.find(">", last)
    return book[max(start, 0):end + 1 if end >= 0 else len(book)]


class _Names(dict):
    """A workbook's defined names (name -> reference), with where they put each form's fields (`places`, made
    once for every return whose names are the same)."""

    __slots__ = ("places",)

    def __init__(self, *args):
        super().__init__(*args)
        self.places: dict[Form, _Places] = {}


@lru_cache(maxsize=64)
def _defined_names(text: str) -> _Names:
    """The workbook-level names of a stretch of workbook.xml (shared, never changed by its users)."""
    return _Names({_unescape(name): _unescape(value) for before, name, after, value in _DEFINED_NAME.findall(text)
                   if "localSheetId" not in before and "localSheetId" not in after})


class _Places(NamedTuple):
    """Where a workbook's defined names put a form's fields: the fields found, in the form's order, their
    sheets and cells (tuples every such return shares), each as (sheet, row, column); and the fields the
    names do not place."""

    fids: tuple[str, ...]
    sheets: tuple[str, ...]
    coords: tuple[str, ...]
    spots: tuple[tuple[str, int, int], ...]
    unplaced: tuple[str, ...]


def _places(names: _Names, form: Form) -> _Places:
    got = names.places.get(form)
    if got is not None:
        return got
    placed, unplaced = [], []
    for fid in form.fields:
        ref = _split_ref(names.get(NAME_PREFIX + fid, ""))
        if ref is None:
            unplaced.append(fid)
        else:
            coord = ref[1].split(":")[0]
            placed.append((fid, ref[0], coord, (ref[0], *_rc(coord))))
    fids, sheets, coords, spots = (tuple(col) for col in zip(*placed)) if placed else ((), (), (), ())
    got = names.places[form] = _Places(fids, sheets, coords, spots, tuple(unplaced))
    return got


def _unescape(text: str) -> str:
    return html.unescape(text) if "&" in text else text


def _squash(text: str) -> str:
    return re.sub(r"[\s\u3000]+", "", text)


def identify(grid: _Grid, props: dict[str, str], forms: dict[str, Form]) -> dict[str, str]:
    """Category, template version, fingerprint and park id, from the _meta sheet, the custom
    properties, or (last) the form's title in the cells."""
    meta: dict[str, str] = {}
    if META_SHEET in grid.visible:
        for r in range(1, len(META_KEYS) + 1):
            key, value = grid.get(META_SHEET, r, 1), grid.get(META_SHEET, r, 2)
            if isinstance(key, str) and value not in (None, ""):
                meta[key] = str(value)
    for key, value in props.items():
        meta.setdefault(key, value)
    if meta.get("category") not in forms:
        meta.pop("category", None)
        for _, _, _, text in grid.texts():
            hit = [cid for cid, f in forms.items() if f"（{f.category_name}）" in text or
                   f"{f.category_name}创新实践概述" in text]
            if hit:
                meta["category"] = hit[0]
                break
    return meta


def read_return(source: Source, forms: dict[str, Form]) -> RawReturn:
    """Read one file; never raises for a bad file: problems become findings."""
    ret = RawReturn(source)
    if source.name_bytes is not None:
        ret.findings.append(make_finding("file_name_encoding", file=source.display, value=source.name_bytes))
    try:
        data = _bytes_of(source)
        kind, description, package = _admit(data, source.suffix)
        if kind == "docx":  # the official form filled in Word: python-docx is loaded only for one
            from .word import read_word

            return read_word(ret, data, forms)
        return _read_cells(ret, _grid(data, package if kind == "xlsx" else None), kind, description, package, forms)
    except Refused as no:
        return ret.fail(no.code, **no.kw)


def _read_cells(ret: RawReturn, grid: _Grid, kind: str, description: str | None, package, forms) -> RawReturn:
    """The template's identity, every field's cell and the enterprise list of a workbook the reader opened."""
    source = ret.source
    names, props = _defined_names(""), {}  # (none: every field found by its label)
    if kind == "xlsx":
        try:
            names, props = _xlsx_parts(package)
        except Exception:  # a damaged workbook.xml: fall back to the labels
            names, props = _defined_names(""), {}
    meta = identify(grid, props, forms)
    if "category" not in meta:
        return ret.fail("not_template", reason="未找到模板标识和表单标题")
    noted = len(ret.findings)  # where the legacy-format note goes, once the file has been read through
    form = forms[meta["category"]]
    ret.category = form.category_id
    ret.template_version = meta.get("template_version")
    ret.fingerprint = meta.get("fingerprint")
    ret.park_id = meta.get("park_id") or None
    if ret.template_version and ret.template_version != form.template_version:
        ret.findings.append(make_finding("template_version", file=source.display, found=ret.template_version,
                                         expected=form.template_version, value=ret.template_version,
                                         category=form.category_name))
    _locate_fields(ret, grid, names, form)
    _read_list(ret, grid, names, form)
    if kind != "xlsx":  # said of a template read through: a file that is none has its one finding
        ret.findings.insert(noted, make_finding("file_legacy_format", file=source.display, kind=description))
    return ret


def _bytes_of(source: Source) -> bytes:
    """The file's bytes, or why they are not read (a file too large is never read at all)."""
    if source.problem is not None:
        code, kw = source.problem
        raise Refused(code, **kw)
    try:
        if source.data is None and source.entry is None and source.path.stat().st_size > MAX_FILE_BYTES:
            raise Refused("file_too_large", reason=f"{source.path.stat().st_size / 2**20:,.0f} MB")
        data = source.read_bytes()
    except PermissionError:
        raise Refused("access_denied", reason="没有权限") from None
    except OSError as exc:
        raise Refused("file_unreadable", reason=f"无法打开：{why_zh(exc)}") from None
    if len(data) > MAX_FILE_BYTES:
        raise Refused("file_too_large", reason=f"{len(data) / 2**20:.0f} MB")
    return data


# What sniff() calls the documents a park may send as its return, and what becomes of them: the Word form
# (.docx) is read by its labels; the legacy .doc, an RTF and a PDF cannot be, and get one finding saying what
# to send instead.
_DOCUMENTS = {"Word 文档": "docx", "Word 文档（.doc）": "file_word_legacy", "PDF 文件": "file_pdf"}


def _admit(data: bytes, suffix: str) -> tuple[str, str | None, zipfile.ZipFile | None]:
    """What the file is, when it may be given to the workbook reader (sniff, then the package's safety), or
    "docx" for a Word package, which the Word form's reader is given."""
    kind, description, package = sniff(data, suffix)
    if kind == "other" and data[:5] == b"{\\rtf":
        raise Refused("file_word_legacy", kind="RTF 格式的文档")
    if kind == "broken" and suffix in (".docx", ".docm", ".dotx"):  # a Word package cut short
        raise Refused("word_unreadable", reason=description)
    route = _DOCUMENTS.get(description) if kind == "other" else None
    if route == "docx" and _word_package(data):
        return "docx", description, None
    if route in ("file_word_legacy", "file_pdf"):
        raise Refused(route, kind="旧版 Word 文档（.doc）")
    odd = False  # a workbook package from an odd generator: read it if the reader can
    if kind == "archive" and description == "zip 压缩包":
        package = zipfile.ZipFile(io.BytesIO(data))
        if odd_package(package):
            kind, odd = "xlsx", True
    if kind == "xlsx":
        problem = inspect_package(package, complete=not odd)
        if problem is not None:
            raise Refused(problem[0], reason=problem[1])
    refused = {"encrypted": ("file_encrypted", {}), "broken": ("file_unreadable", {"reason": description}),
               "archive": ("file_archive", {"kind": description}), "other": ("file_not_workbook", {"kind": description}),
               "xlsb": ("file_not_workbook", {"kind": description})}
    if kind in refused:
        code, kw = refused[kind]
        raise Refused(code, **kw)
    return kind, description, package


def _word_package(data: bytes) -> bool:
    """A Word package the Word reader may open: its document, its package relationships and content types (a
    zip with a document.xml and nothing else is no Word file: not a workbook, as before)."""
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return False
    return {"word/document.xml", "_rels/.rels", "[Content_Types].xml"} <= names


def _grid(data: bytes, package: zipfile.ZipFile | None = None) -> _Grid:
    try:
        return _Grid(calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)))
    except calamine.PasswordError:
        raise Refused("file_encrypted") from None
    except Exception as exc:  # calamine raises several types for damaged files
        if package is not None and (plain := without_macro_sheets(package)) is not None:
            return _grid(plain)  # the form's sheets, without the Excel 4 macro or dialog sheets calamine cannot read
        said = str(exc).lower()
        if "password" in said or "encrypt" in said:
            raise Refused("file_encrypted") from None
        raise Refused("file_unreadable", reason=_damage_zh(said)) from None


# what the workbook reader's own (English) message says went wrong, in the office's words
_DAMAGE_ZH = (("cannot detect file format", "内容已损坏：无法识别文件格式"), ("zip", "内容已损坏：压缩结构错误"),
              ("xml", "内容已损坏：工作表内容（XML）错误"), ("cfb", "内容已损坏：Office 97-2003 文件结构错误"),
              ("xls", "内容已损坏：Excel 97-2003 内容错误"), ("ods", "内容已损坏：OpenDocument 内容错误"),
              ("eof", "内容已损坏：文件不完整（可能未传完）"), ("utf", "内容已损坏：文字编码错误"))


def _damage_zh(said: str) -> str:
    return next((zh for key, zh in _DAMAGE_ZH if key in said), "内容已损坏：无法解析")


def _locate_fields(ret: RawReturn, grid: _Grid, names: _Names, form: Form) -> None:
    places = _places(names, form)
    absent = set(places.sheets) - grid.visible.keys()
    if not places.unplaced and not absent:  # every field where the template's names say (as nearly always)
        ret.cells = PackedCells(places.fids, places.sheets, places.coords, grid.pick(places.spots))
        return
    for fid, sheet, coord, (_, row, col) in zip(places.fids, places.sheets, places.coords, places.spots):
        if sheet not in absent:
            ret.cells[fid] = Cell(sheet, coord, grid.get(sheet, row, col))
    missing = [fid for fid in form.fields if fid not in ret.cells]  # (in the form's order)
    if not missing:
        return
    ret.located_by = "labels" if len(missing) == len(form.fields) else "names+labels"
    positions: dict[str, list[tuple[str, int, int]]] = {}
    for sheet, r, c, text in grid.texts():
        positions.setdefault(_squash(text), []).append((sheet, r, c))
    plan = _anchor_plan(form)
    for fid in missing:
        key, k, dr, dc, label = plan[fid]
        found = positions.get(key, [])
        if k >= len(found):
            ret.findings.append(make_finding("field_not_found", file=ret.source.display, field=fid, label=label))
            continue
        sheet, r, c = found[k]
        ret.cells[fid] = Cell(sheet, f"{column_letter(c + dc)}{r + dr}", grid.get(sheet, r + dr, c + dc))
    if ret.located_by == "labels":
        ret.findings.append(make_finding("located_by_label", file=ret.source.display))


@lru_cache(maxsize=16)
def _anchor_plan(form: Form) -> dict[str, tuple[str, int, int, int, str]]:
    """field id -> (label text, k, row offset, column offset, label): the value is found at the given
    offset from the k-th occurrence, in reading order, of its label text (counting every cell of
    the template with that text, block titles included), all taken from the form's layout."""
    layout = form_layout(form)
    occurrences: dict[str, list[tuple[str, str]]] = {}
    for sheet, coord, text in layout.texts():
        if not text.startswith("="):
            occurrences.setdefault(_squash(text), []).append((sheet, coord))
    plan = {}
    for fid, (sheet, coord, text) in layout.anchors.items():
        key = _squash(text)
        k = occurrences[key].index((sheet, coord))
        ar, ac = _rc(coord)
        vr, vc = _rc(layout.cells[fid][1])
        plan[fid] = (key, k, vr - ar, vc - ac, text)
    return plan


@lru_cache(maxsize=16384)
def _rc(coord: str) -> tuple[int, int]:
    m = re.fullmatch(r"([A-Z]+)(\d+)", coord)
    return int(m.group(2)), column_index(m.group(1))


def _read_list(ret: RawReturn, grid: _Grid, names: _Names, form: Form) -> None:
    spec = form.enterprise_list
    cols: dict[str, tuple[str, int]] = {}
    first_row = None
    for col in spec.columns:
        ref = _split_ref(names.get(LIST_PREFIX + col.id, ""))
        if ref and ref[0] in grid.visible:
            start = ref[1].split(":")[0]
            r, c = _rc(start)
            cols[col.id] = (ref[0], c)
            first_row = r if first_row is None else min(first_row, r)
    if len(cols) != len(spec.columns) or len({s for s, _ in cols.values()}) != 1:
        cols, first_row = {}, None
        headers = {_squash(c.label): c.id for c in spec.columns}
        for sheet, r, c, text in grid.texts():
            cid = headers.get(_squash(text))
            if cid and cid not in cols:
                if cols and (next(iter(cols.values()))[0] != sheet):
                    continue
                cols[cid] = (sheet, c)
                first_row = r + 1
        if len(cols) != len(spec.columns):
            return  # no list: every count then disagrees with an empty list, which the checker reports
    sheet = next(iter(cols.values()))[0]
    out = ret.enterprises
    out.sheet, out.letters = sheet, {cid: column_letter(c) for cid, (_, c) in cols.items()}
    note = _split_ref(names.get(LIST_PREFIX + "note", ""))  # the row's 情况说明 (templates since 2026-12)
    note_col = _rc(note[1].split(":")[0])[1] - 1 if note and note[0] == sheet else None
    first_row = max(first_row, 1)
    rows = grid.rows(sheet)[first_row - 1:]
    picked = _columns(rows, [c - 1 for _, c in cols.values()])
    kept = [k for k, values in enumerate(zip(*picked)) if "".join(map(str, values)).strip()]  # a row not all blank
    everything = len(kept) == len(rows)
    out.columns = {cid: [None if v == "" else v for v in (col if everything else map(col.__getitem__, kept))]
                   for cid, col in zip(cols, picked)}
    out.rows = [first_row + k for k in kept]
    if note_col is not None:
        (notes,) = _columns(rows, [note_col])
        for k in kept:
            if text := str(notes[k]).strip():
                out.notes[first_row + k] = text


def _columns(rows: list[list[Any]], index: list[int]) -> list[list[Any]]:
    """Columns of a sheet's rows by position, "" where a row is shorter."""
    if rows and min(map(len, rows)) > max(index):  # (the reader's rows are all as wide as the sheet)
        return [list(map(itemgetter(i), rows)) for i in index]
    return [[line[i] if i < len(line) else "" for line in rows] for i in index]
