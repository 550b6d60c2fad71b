"""Find the returns in a folder and read each one into raw cell values, located to the cell.

Reading is about files only; what the values mean is the checker's business. A return is located
by the template's defined names (`fld_<id>`), which survive inserted rows and renamed sheets; when
they are gone (the form pasted into a fresh workbook, an .ods or .xls) fields are found beside
their labels, using the template's own layout for the offsets. Nothing here writes anywhere.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import os
import re
import zipfile
import struct
import zlib
from zlib import error as zlib_error
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

import python_calamine as calamine
from defusedxml import ElementTree as SafeET

from . import findings as F
from .form import Form
from .names import LIST_PREFIX, META_KEYS, META_SHEET, NAME_PREFIX, PROPERTY_PREFIX
from .names import column_index as column_index_from_string
from .names import column_letter as get_column_letter

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".et", ".xlsb"}
ARCHIVE_SUFFIXES = {".zip"}
SKIP_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}
# What one return may be. Our templates are about 0.2 MB zipped and 3 MB unzipped with about
# 12,000 cells; these limits leave a wide margin and still stop a bomb before it is opened.
MAX_FILE_BYTES = 50 * 2**20
MAX_UNZIPPED_BYTES = 300 * 2**20
MAX_RATIO = 200  # a member that expands more than this (when large) is a zip bomb
REQUIRED_PARTS = ("[Content_Types].xml", "xl/workbook.xml")
NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
}


@dataclass
class Source:
    """One file to read: a file in the folder or a member of a .zip in it."""

    display: str  # as shown to the office: "苏州/园区.xlsx" or "打包.zip!园区.xlsx"
    mtime: dt.datetime
    path: Path
    member: str | None = None
    data: bytes | None = None  # bytes given in memory
    problem: tuple[str, dict] | None = None  # found before reading (a member too big to expand)
    entry: int | None = None  # a zip member's place in the archive's directory: expanded when read

    def read_bytes(self) -> bytes:
        """The file's bytes; a zip member is expanded here, by the process that reads it (raises
        MemberError for a member that cannot be)."""
        if self.data is not None:
            return self.data
        if self.entry is not None:
            return _read_member(self.path, self.entry, self.member or "")
        return self.path.read_bytes()

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.member or self.path.name).suffix.lower()


class MemberError(Exception):
    """A zip member that cannot be expanded: the finding's code and fields."""

    def __init__(self, code: str, **kw):
        super().__init__(code)
        self.code, self.kw = code, kw


_ARCHIVE: dict[str, Any] = {}  # the archive last read from, kept open for its next member


def _read_member(path: Path, entry: int, name: str) -> bytes:
    """Expand one member of an archive (never more than MAX_FILE_BYTES, whatever its header says).
    The archive stays open for the next member, in this process only (a forked worker must not share
    the file position of its parent's handle)."""
    try:
        st = path.stat()
    except OSError:
        raise MemberError("file_unreadable", reason="压缩包已无法打开") from None
    key = (os.getpid(), str(path), st.st_mtime_ns, st.st_size)  # an archive replaced since is opened anew
    if _ARCHIVE.get("key") != key:
        if _ARCHIVE.get("zf") is not None and _ARCHIVE["key"][0] == os.getpid():
            _ARCHIVE["zf"].close()
        _ARCHIVE.clear()
        try:
            _ARCHIVE.update(key=key, zf=zipfile.ZipFile(path))
        except (zipfile.BadZipFile, OSError, ValueError):
            raise MemberError("file_unreadable", reason="压缩包已损坏或无法打开") from None
    zf = _ARCHIVE["zf"]
    infos = zf.infolist()
    if entry >= len(infos) or _member_name(infos[entry]) != name:
        raise MemberError("file_unreadable", reason="压缩包在检查过程中被改动")
    try:
        with zf.open(infos[entry]) as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError, zlib_error) as exc:
        if isinstance(exc, RuntimeError) and "encrypted" in str(exc):
            raise MemberError("file_encrypted") from None
        raise MemberError("file_unreadable", reason="压缩包中的文件已损坏") from None
    if len(data) > MAX_FILE_BYTES:
        raise MemberError("file_too_large", reason="解压后超过 50 MB")
    return data


@dataclass(slots=True)
class Cell:
    sheet: str
    coord: str
    raw: Any


@dataclass(slots=True)
class EnterpriseRows:
    """A return's enterprise list, column by column: a list of a few hundred rows costs a few Python
    lists, not a few hundred objects (at 10,000 returns there are most of a million rows).

    As read, `columns` holds the raw cell values by column id; normalize.normalise_list replaces
    them by the normalised columns the checker uses (and sets `normalised`)."""
    sheet: str = ""
    letters: dict[str, str] = field(default_factory=dict)  # column id -> column letter
    rows: list[int] = field(default_factory=list)  # worksheet row of each entry
    columns: dict[str, list] = field(default_factory=dict)
    normalised: bool = False

    def __len__(self) -> int:
        return len(self.rows)

    def records(self) -> list[dict[str, Any]]:
        """One dict per row (column id -> value): for tests and small lists."""
        keys = list(self.columns)
        return [dict(zip(keys, vals)) for vals in zip(*(self.columns[k] for k in keys))] if keys else []


@dataclass
class RawReturn:
    source: Source
    category: str | None = None
    template_version: str | None = None
    fingerprint: str | None = None
    park_id: str | None = None
    cells: dict[str, Cell] = field(default_factory=dict)
    enterprises: EnterpriseRows = field(default_factory=EnterpriseRows)
    values: dict[str, Any] | None = None  # typed values, once normalised (normalize.normalise_return)
    unreadable: frozenset[str] = frozenset()  # fields whose value could not be read as its type
    format_bad: frozenset[str] = frozenset()  # fields whose text is not a valid phone number, e-mail...
    findings: list[F.Finding] = field(default_factory=list)
    located_by: str = "names"
    readable: bool = True

    def share(self, pool: dict) -> "RawReturn":
        """Make equal sheet names, cell references and list texts one object each, across every
        return given the same pool: at 10,000 returns this saves a few hundred MB, and a return
        pickled by a worker carries each of its sheet names once."""
        for c in self.cells.values():
            c.sheet = pool.setdefault(c.sheet, c.sheet)
            c.coord = pool.setdefault(c.coord, c.coord)
        e = self.enterprises
        e.sheet = pool.setdefault(e.sheet, e.sheet)
        letters = tuple(e.letters.items())
        e.letters = pool.setdefault(letters, e.letters)
        if e.normalised:
            for k in ("category_raw", "category_label", "industry", "category"):
                e.columns[k] = [pool.setdefault(v, v) if v is not None else None for v in e.columns[k]]
        return self

    def __getstate__(self) -> dict:
        """Pickled by the reading workers: the cells as four columns (one object for pickle to walk
        instead of one per cell)."""
        state = self.__dict__.copy()
        cells = state.pop("cells")
        state["cells_packed"] = (tuple(cells), [c.sheet for c in cells.values()], [c.coord for c in cells.values()],
                                 [c.raw for c in cells.values()])
        return state

    def __setstate__(self, state: dict) -> None:
        fids, sheets, coords, raws = state.pop("cells_packed")
        state["cells"] = dict(zip(fids, map(Cell, sheets, coords, raws)))
        self.__dict__.update(state)

    def release(self) -> None:
        """Drop the cells and list rows as read, once the batch is checked: findings carry their
        sheet and cell, the checked values and the batch's list frame carry the rest."""
        self.cells = {}
        self.enterprises = EnterpriseRows(self.enterprises.sheet, self.enterprises.letters)

    def fail(self, code: str, **kw) -> "RawReturn":
        self.readable = False
        self.findings.append(F.make(code, file=self.source.display, **kw))
        return self


# ---- discovery --------------------------------------------------------------------------------
def _skip_reason(name: str) -> str | None:
    base = name.rsplit("/", 1)[-1]
    if base.startswith("~$"):
        return "Office 临时锁定文件（~$开头），不是报送文件"
    if base.startswith(".") or base.lower() in SKIP_NAMES or "__MACOSX/" in name:
        return "隐藏文件或系统文件"
    return None


def _member_name(info: zipfile.ZipInfo) -> str:
    """Zip member names made on Chinese Windows are GBK bytes without the UTF-8 flag."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def discover(root: Path) -> tuple[list[Source], list[F.Finding]]:
    """Every candidate return below root (zip archives opened in memory) and the skipped files."""
    root = Path(root)
    sources: list[Source] = []
    skipped: list[F.Finding] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in path.relative_to(root).parts[:-1]):
            continue  # hidden folders
        reason = _skip_reason(rel)
        if reason:
            skipped.append(F.make("skipped", file=rel, reason=reason))
            continue
        mtime = dt.datetime.fromtimestamp(path.stat().st_mtime)
        if path.suffix.lower() in ARCHIVE_SUFFIXES:
            _discover_zip(path, rel, mtime, sources, skipped)
        else:
            sources.append(Source(rel, mtime, path))
    return sources, skipped


MAX_ARCHIVE_MEMBERS = 2000


def _discover_zip(path: Path, rel: str, mtime, sources: list, skipped: list) -> None:
    """The members of a .zip, listed: each is expanded only by the worker that reads it (a national
    round sent as archives would not fit in memory at once); a member too big to be a return is never
    expanded (its declared size is checked here), and one broken member spoils no other."""
    try:
        zf = zipfile.ZipFile(path)
        all_entries = [(k, i) for k, i in enumerate(zf.infolist()) if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        reason = "压缩包已损坏" if isinstance(exc, zipfile.BadZipFile) else f"压缩包无法打开：{exc}"
        skipped.append(F.make("file_unreadable", file=rel, reason=reason))
        return
    with zf:
        if len(all_entries) > MAX_ARCHIVE_MEMBERS:
            skipped.append(F.make("file_too_large", file=rel, reason=f"压缩包中有 {len(all_entries)} 个文件"))
            return
        seen: set[str] = set()
        for k, info in all_entries:
            name = _member_name(info)
            display = f"{rel}!{name}"
            reason = _skip_reason(name)
            if reason:
                skipped.append(F.make("skipped", file=display, reason=reason))
                continue
            try:
                member_time = dt.datetime(*info.date_time)
            except ValueError:
                member_time = mtime

            def failed(code: str, **kw) -> None:
                sources.append(Source(display, member_time, path, member=name, data=b"", problem=(code, kw)))

            if name in seen:
                failed("file_unreadable", reason="压缩包中有同名文件，无法确定报送的是哪一个")
                continue
            seen.add(name)
            if info.file_size > MAX_FILE_BYTES or (info.compress_size and info.file_size / info.compress_size > 1000):
                failed("file_too_large", reason=f"解压后约 {info.file_size / 2**20:.0f} MB")
                continue
            sources.append(Source(display, member_time, path, member=name, entry=k))


# ---- reading ------------------------------------------------------------------------------------
def sniff(data: bytes, suffix: str) -> tuple[str, str | None, zipfile.ZipFile | None]:
    """(kind, description, package): kind is xlsx, ods, xls, encrypted or other; description for messages;
    the opened package for a zip, so that its directory is read only once."""
    return _sniff(data, suffix)


def _sniff(data: bytes, suffix: str) -> tuple[str, str | None, zipfile.ZipFile | None]:
    if not data:
        return "other", "空文件", None
    if data[:4] == b"PK\x03\x04":
        try:
            package = zipfile.ZipFile(io.BytesIO(data))
            names = set(package.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return "broken", "文件已损坏（压缩结构不完整）", None
        if "xl/workbook.bin" in names:
            return "xlsb", "Excel 二进制工作簿（.xlsb）", None
        if "xl/workbook.xml" in names or ("[Content_Types].xml" in names and any(n.startswith("xl/") for n in names)):
            return "xlsx", None, package  # an Office package; inspect_package says what is missing, if anything
        if "mimetype" in names and b"opendocument.spreadsheet" in data[:200]:
            return "ods", "OpenDocument 表格（.ods）", None
        if "word/document.xml" in names:
            return "other", "Word 文档", None
        return "other", "压缩文件", None
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        head = data[: 1 << 20]
        if "EncryptionInfo".encode("utf-16-le") in head or "EncryptedPackage".encode("utf-16-le") in head:
            return "encrypted", None, None
        if "WordDocument".encode("utf-16-le") in head:
            return "other", "Word 文档（.doc）", None
        return "xls", "Excel 97-2003 工作簿（.xls）" if suffix != ".et" else "WPS 表格（.et）", None
    if data[:5] == b"%PDF-":
        return "other", "PDF 文件", None
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<table" in head:
        return "other", "网页文件（HTML）", None
    if data[:5] == b"<?xml":
        return "other", "XML 文件", None
    return "other", "文本或其他格式的文件", None


def inspect_package(data: bytes | zipfile.ZipFile) -> tuple[str, str] | None:
    """Look at an .xlsx package before any parser does: (finding code, reason) when it must not be read.

    Only the zip directory and the first few KB of the parts are read, so a bomb is never expanded."""
    try:
        zf = data if isinstance(data, zipfile.ZipFile) else zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return "file_unreadable", "压缩结构已损坏"
    names = [i.filename for i in infos]
    if len(names) != len(set(names)):
        dup = sorted({n for n in names if names.count(n) > 1})[0]
        return "file_unreadable", f"文件结构已损坏（部件 {dup} 重复）"
    missing = [p for p in REQUIRED_PARTS if p not in names]
    if missing:
        return "file_unreadable", f"文件结构不完整（缺少 {'、'.join(missing)}）"
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED_BYTES:
        return "file_too_large", f"解压后约 {total / 2**20:.0f} MB"
    for i in infos:
        if i.file_size > 10 * 2**20 and i.compress_size and i.file_size / i.compress_size > MAX_RATIO:
            return "file_too_large", f"部件 {i.filename} 压缩比异常（{i.file_size // max(i.compress_size, 1)} 倍）"
    raw = zf.fp.getbuffer() if isinstance(zf.fp, io.BytesIO) else None
    for i in infos:
        if not i.filename.endswith((".xml", ".rels", ".vml")):
            continue
        try:
            declares = _declares_entities(_head(zf, i, raw, 256))
            if declares is None:  # no root element in the first bytes: look further, as a whole
                head = _head(zf, i, raw)
                declares = b"<!DOCTYPE" in head or b"<!ENTITY" in head
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError, zlib_error):
            return "file_unreadable", f"部件 {i.filename} 已损坏"
        if declares:
            return "file_unsafe", f"部件 {i.filename} 中含有 XML 实体声明"
    return None


_PROLOG_ITEM = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)


def _declares_entities(head: bytes) -> bool | None:
    """Does the XML prolog (what comes before the root element: the declaration, processing
    instructions, comments and a document type) declare a DTD? None when `head` ends before the
    root element starts. A DTD can only come before the root element, so a part whose root starts
    after nothing but the declaration, comments and whitespace declares none."""
    pos = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    while True:
        m = _PROLOG_ITEM.match(head, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
    rest = head[pos:pos + 2]
    if len(rest) < 2:
        return None
    if rest == b"<!":  # the only other declaration allowed here is <!DOCTYPE; or a comment cut off
        return None if b"<!--".startswith(head[pos:pos + 4]) else True
    return False if rest[:1] == b"<" and rest[1:] not in b"?!" else None


_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")


def _head(zf: zipfile.ZipFile, info: zipfile.ZipInfo, raw, size: int | None = 4096) -> bytes:
    """The first `size` bytes of a part (None: all of it). Straight from the package's bytes for the
    usual case (a deflated or stored, unencrypted part: a few microseconds instead of zipfile's open
    and read; the part's checksum is left to the parser that reads it whole)."""
    if raw is None or info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        with zf.open(info) as fh:
            return fh.read(size if size is not None else -1)
    at = info.header_offset
    header = _LOCAL_HEADER.unpack_from(raw, at)
    if header[0] != b"PK\x03\x04":
        raise zipfile.BadZipFile("bad local header")
    start = at + _LOCAL_HEADER.size + header[10] + header[11]  # name and extra field lengths
    if size is None:  # never more than the declared size, which inspect_package has bounded
        body = bytes(raw[start:start + info.compress_size])
        if info.compress_type == zipfile.ZIP_STORED:
            return body
        data = zlib.decompressobj(-15).decompress(body, info.file_size + 1)
        if len(data) != info.file_size:
            raise zipfile.BadZipFile(f"{info.filename}: size differs from its header")
        return data
    body = bytes(raw[start:start + min(info.compress_size, 4 * size)])
    if info.compress_type == zipfile.ZIP_STORED:
        return body[:size]
    return zlib.decompressobj(-15).decompress(body, size)


def _part(zf: zipfile.ZipFile, name: str) -> bytes:
    """A whole part of a package that inspect_package has passed."""
    return _head(zf, zf.getinfo(name), zf.fp.getbuffer() if isinstance(zf.fp, io.BytesIO) else None, None)


_CELL_REF = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="([A-Z]{1,3})(\d{1,7})"')
MAX_RANGE_CELLS = 5_000_000


def diagnose_crash(source: Source) -> str | None:
    """Why a worker died on this file, when the reason is one we can name: a cell far outside the
    form (the parser allocates the whole rectangle up to it). Streams the sheets; never expands a bomb."""
    try:
        data = source.read_bytes()
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = _sheet_files(zf)
    except Exception:
        return None
    for part, title in names.items():
        max_row = max_col = 0
        far = ""
        try:
            with zf.open(part) as fh:
                tail = b""
                while chunk := fh.read(1 << 20):
                    buf = tail + chunk
                    for m in _CELL_REF.finditer(buf):
                        row, col = int(m.group(2)), column_index_from_string(m.group(1).decode("ascii"))
                        if row * col > max_row * max_col:
                            far = f"{m.group(1).decode('ascii')}{row}"
                        max_row, max_col = max(max_row, row), max(max_col, col)
                    tail = buf[-64:]
        except Exception:
            continue
        if max_row * max_col > MAX_RANGE_CELLS:
            return f"工作表“{title}”的 {far} 单元格有内容，表格范围过大；请删除该单元格的内容"
    return None


def _sheet_files(zf: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part -> sheet name."""
    root = SafeET.fromstring(zf.read("xl/workbook.xml"))
    rels = SafeET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target") for r in rels}
    out = {}
    for sh in root.iterfind("m:sheets/m:sheet", NS):
        t = target.get(sh.get(f"{{{NS['r']}}}id"), "")
        part = t.lstrip("/") if t.startswith("/") else "xl/" + t
        out[part] = sh.get("name")
    return out


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
            rows = self._sheets[sheet] = self.wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        return rows

    def get(self, sheet: str, row: int, col: int) -> Any:
        if sheet not in self.visible or row < 1 or col < 1:
            return None
        rows = self.rows(sheet)
        if row > len(rows):
            return None
        line = rows[row - 1]
        if col > len(line):
            return None
        value = line[col - 1]
        return None if value == "" else value

    def max_row(self, sheet: str) -> int:
        return len(self.rows(sheet))

    def texts(self) -> Iterator[tuple[str, int, int, str]]:
        for sheet in self.order:
            for r, line in enumerate(self.rows(sheet), start=1):
                for c, value in enumerate(line, start=1):
                    if isinstance(value, str) and value:
                        yield sheet, r, c, value


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


def _xlsx_parts(zf: zipfile.ZipFile) -> tuple[dict[str, str], dict[str, str]]:
    """Workbook-level defined names and our custom document properties. Called only after
    inspect_package has made sure no part declares a DTD or an entity."""
    props: dict[str, str] = {}
    text = _part(zf, "xl/workbook.xml").decode("utf-8", "replace")
    names = {_unescape(name): _unescape(value) for before, name, after, value in _DEFINED_NAME.findall(text)
             if "localSheetId" not in before and "localSheetId" not in after}
    if "docProps/custom.xml" in zf.namelist():
        ctext = _part(zf, "docProps/custom.xml").decode("utf-8", "replace")
        for name, value in _PROPERTY.findall(ctext):
            name = _unescape(name)
            if name.startswith(PROPERTY_PREFIX):
                props[name[len(PROPERTY_PREFIX):]] = _unescape(value).strip()
    return names, props


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
    if source.problem is not None:
        code, kw = source.problem
        return ret.fail(code, **kw)
    try:
        data = source.read_bytes()
    except MemberError as exc:
        return ret.fail(exc.code, **exc.kw)
    except OSError as exc:
        return ret.fail("file_unreadable", reason=f"无法打开：{exc.strerror or exc}")
    if len(data) > MAX_FILE_BYTES:
        return ret.fail("file_too_large", reason=f"{len(data) / 2**20:.0f} MB")
    kind, description, package = sniff(data, source.suffix)
    if kind == "xlsx":
        problem = inspect_package(package)
        if problem is not None:
            code, reason = problem
            return ret.fail(code, reason=reason)
    if kind == "encrypted":
        return ret.fail("file_encrypted")
    if kind == "broken":
        return ret.fail("file_unreadable", reason=description)
    if kind in ("other", "xlsb"):
        return ret.fail("file_not_workbook", kind=description)
    try:
        wb = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        grid = _Grid(wb)
    except calamine.PasswordError:
        return ret.fail("file_encrypted")
    except Exception as exc:  # calamine raises several types for damaged files
        return ret.fail("file_unreadable", reason=f"内容已损坏（{type(exc).__name__}）")
    names: dict[str, str] = {}
    props: dict[str, str] = {}
    if kind == "xlsx":
        try:
            names, props = _xlsx_parts(package)
        except Exception:  # a damaged workbook.xml: fall back to the labels
            names, props = {}, {}
    else:
        ret.findings.append(F.make("file_legacy_format", file=source.display, kind=description))
    meta = identify(grid, props, forms)
    if "category" not in meta:
        return ret.fail("not_template", reason="未找到模板标识和表单标题")
    form = forms[meta["category"]]
    ret.category = form.category_id
    ret.template_version = meta.get("template_version")
    ret.fingerprint = meta.get("fingerprint")
    ret.park_id = meta.get("park_id") or None
    if ret.template_version and ret.template_version != form.template_version:
        ret.findings.append(F.make("template_version", file=source.display, found=ret.template_version,
                                   expected=form.template_version, value=ret.template_version,
                                   category=form.category_name))
    _locate_fields(ret, grid, names, form)
    _read_list(ret, grid, names, form)
    return ret


def _locate_fields(ret: RawReturn, grid: _Grid, names: dict[str, str], form: Form) -> None:
    missing: list[str] = []
    for fid in form.fields:
        ref = _split_ref(names.get(NAME_PREFIX + fid, ""))
        if ref is None or ref[0] not in grid.visible:
            missing.append(fid)
            continue
        sheet, coord = ref[0], ref[1].split(":")[0]
        row, col = _rc(coord)
        ret.cells[fid] = Cell(sheet, coord, grid.get(sheet, row, col))
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
            ret.findings.append(F.make("field_not_found", file=ret.source.display, field=fid, label=label))
            continue
        sheet, r, c = found[k]
        ret.cells[fid] = Cell(sheet, f"{get_column_letter(c + dc)}{r + dr}", grid.get(sheet, r + dr, c + dc))
    if ret.located_by == "labels":
        ret.findings.append(F.make("located_by_label", file=ret.source.display))


@lru_cache(maxsize=16)
def _anchor_plan(form: Form) -> dict[str, tuple[str, int, int, int, str]]:
    """field id -> (label text, k, row offset, column offset, label): the value is found at the given
    offset from the k-th occurrence, in reading order, of its label text (counting every cell of
    the template with that text, block titles included)."""
    from .template import build_workbook  # openpyxl: only for a return found by its labels

    wb, layout = build_workbook(form)
    occurrences: dict[str, list[tuple[str, str]]] = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value and not c.value.startswith("="):
                    occurrences.setdefault(_squash(c.value), []).append((ws.title, c.coordinate))
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
    return int(m.group(2)), column_index_from_string(m.group(1))


def _read_list(ret: RawReturn, grid: _Grid, names: dict[str, str], form: Form) -> None:
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
    out.sheet, out.letters = sheet, {cid: get_column_letter(c) for cid, (_, c) in cols.items()}
    out.columns = {cid: [] for cid in cols}
    index = [(out.columns[cid], c - 1) for cid, (_, c) in cols.items()]
    rows = grid.rows(sheet)
    for r in range(first_row, len(rows) + 1):
        line = rows[r - 1]
        values = [(line[i] if i < len(line) and line[i] != "" else None) for _, i in index]
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        out.rows.append(r)
        for (column, _), v in zip(index, values):
            column.append(v)
