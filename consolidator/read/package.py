"""A workbook package looked at before any parser sees it: what kind of file it is, whether it is
safe to open (required parts, sizes, compression ratios, no DTD or entities), and why a worker died on it.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from functools import lru_cache
from zlib import error as zlib_error

from defusedxml import ElementTree as SafeET

from ..returns import Source
from ..rules.workbook import column_index

# What one return may be. Our templates are about 0.2 MB zipped and 3 MB unzipped with about
# 12,000 cells; these limits leave a wide margin and still stop a bomb before it is opened.
MAX_FILE_BYTES = 50 * 2**20
MAX_UNZIPPED_BYTES = 300 * 2**20
MAX_RATIO = 200  # a member that expands more than this (when large) is a zip bomb
REQUIRED_PARTS = ("xl/workbook.xml",)  # without [Content_Types].xml the reader still reads it (a minimal package)
NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
}



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
            if _ods_encrypted(package):
                return "encrypted", None, None
            return "ods", "OpenDocument 表格（.ods）", None
        if "word/document.xml" in names:
            return "other", "Word 文档", None
        return "archive", "zip 压缩包", None
    if data[:8] == OLE_MAGIC:
        return _ole_kind(data, suffix)
    if data[:6] == b"7z\xbc\xaf\x27\x1c":
        return "archive", "7z 压缩包", None
    if data[:4] == b"Rar!":
        return "archive", "rar 压缩包", None
    if data[:5] == b"%PDF-":
        return "other", "PDF 文件", None
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<table" in head:
        return "other", "网页文件（HTML）", None
    if data[:5] == b"<?xml":
        return "other", "XML 文件", None
    return "other", "文本或其他格式的文件", None


class Refused(Exception):
    """A file (or archive member) that is not read: the code and fields of its one finding."""

    def __init__(self, code: str, **kw):
        super().__init__(code)
        self.code, self.kw = code, kw


OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_FILEPASS = 0x002F  # the BIFF record that says an .xls is encrypted; it stands right after the first BOF


def _ole_kind(data: bytes, suffix: str) -> tuple[str, str | None, None]:
    """An OLE compound file, by its main stream (not by names anywhere inside it: an .xls may embed a Word
    object): Workbook/Book an Excel 97-2003 workbook, encrypted when its BIFF stream starts with FILEPASS;
    EncryptedPackage an encrypted .xlsx; WordDocument a Word document."""
    import olefile

    xls = ("xls", "Excel 97-2003 工作簿（.xls）" if suffix != ".et" else "WPS 表格（.et）", None)
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            top = {entry[0] for entry in ole.listdir(streams=True, storages=False) if len(entry) == 1}
            if "EncryptedPackage" in top or "EncryptionInfo" in top:
                return "encrypted", None, None
            book = next((s for s in ("Workbook", "Book") if s in top), None)
            if book is not None:
                return ("encrypted", None, None) if _biff_encrypted(ole.openstream(book).read(1 << 16)) else xls
            if "WordDocument" in top:
                return "other", "Word 文档（.doc）", None
    except Exception:  # olefile cannot read it (damaged): judge by the stream names, then let the reader try
        head = data[: 1 << 20]
        if "EncryptionInfo".encode("utf-16-le") in head or "EncryptedPackage".encode("utf-16-le") in head:
            return "encrypted", None, None
        if "WordDocument".encode("utf-16-le") in head and "Workbook".encode("utf-16-le") not in head:
            return "other", "Word 文档（.doc）", None
        return xls
    return "other", "Office 文档（非 Excel 工作簿）", None


def _biff_encrypted(stream: bytes) -> bool:
    pos, seen = 0, 0
    while pos + 4 <= len(stream) and seen < 64:
        kind, size = struct.unpack_from("<HH", stream, pos)
        if kind == _FILEPASS:
            return True
        if kind == 0x0809 and seen:  # the next BOF: the workbook globals are past
            return False
        pos, seen = pos + 4 + size, seen + 1
    return False


def _ods_encrypted(package: zipfile.ZipFile) -> bool:
    try:
        return b"encryption-data" in package.read("META-INF/manifest.xml")[: 1 << 20]
    except (KeyError, zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError):
        return False


def odd_package(package: zipfile.ZipFile) -> bool:
    """A zip that is a workbook written by an odd generator: part names with backslashes, or a package
    without [Content_Types].xml, but a workbook part all the same (the workbook reader may still read it)."""
    return any(n.replace("\\", "/").lstrip("/") == "xl/workbook.xml" for n in package.namelist())


def inspect_package(data: bytes | zipfile.ZipFile, *, complete: bool = True) -> tuple[str, str] | None:
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
    missing = [p for p in REQUIRED_PARTS if p not in names] if complete else []
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


def part(zf: zipfile.ZipFile, name: str) -> bytes:
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
        names = sheet_files(zf)
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
                        row, col = int(m.group(2)), column_index(m.group(1).decode("ascii"))
                        if row * col > max_row * max_col:
                            far = f"{m.group(1).decode('ascii')}{row}"
                        max_row, max_col = max(max_row, row), max(max_col, col)
                    tail = buf[-64:]
        except Exception:
            continue
        if max_row * max_col > MAX_RANGE_CELLS:
            return f"工作表“{title}”的 {far} 单元格有内容，表格范围过大；请删除该单元格的内容"
    return None


def sheet_files(zf: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part -> sheet name."""
    return dict(_sheet_files(zf.read("xl/workbook.xml"), zf.read("xl/_rels/workbook.xml.rels")))


@lru_cache(maxsize=8)
def _sheet_files(workbook: bytes, rels: bytes) -> tuple[tuple[str, str], ...]:
    """sheet_files of these two parts' bytes: the copies of a category's template share them (feedback
    annotates hundreds on a worker; parsing the workbook's 23 KB each time was a fifth of a copy's time)."""
    root = SafeET.fromstring(workbook)
    target = {r.get("Id"): r.get("Target") for r in SafeET.fromstring(rels)}
    out = []
    for sh in root.iterfind("m:sheets/m:sheet", NS):
        t = target.get(sh.get(f"{{{NS['r']}}}id"), "")
        out.append((t.lstrip("/") if t.startswith("/") else "xl/" + t, sh.get("name")))
    return tuple(out)



_MACRO_SHEET = re.compile(rb'<Relationship\b[^>]*\bType="[^"]*/(?:xlMacrosheet|xlIntlMacrosheet|dialogsheet)"[^>]*>')
_REL_ID = re.compile(rb'\bId="([^"]+)"')


def without_macro_sheets(package: zipfile.ZipFile) -> bytes | None:
    """The package again, its Excel 4 macro sheets and dialog sheets left out of the workbook's sheet list (a
    workbook reader may refuse them; the form's sheets are what we read); None when it has none. Called
    only for a package inspect_package has passed."""
    try:
        rels = part(package, "xl/_rels/workbook.xml.rels")
    except KeyError:
        return None
    ids = [m.group(1) for rel in _MACRO_SHEET.findall(rels) if (m := _REL_ID.search(rel))]
    if not ids:
        return None
    book = part(package, "xl/workbook.xml")
    for rid in ids:
        book = re.sub(rb'<(?:\w+:)?sheet\b[^>]*\br:id="' + re.escape(rid) + rb'"[^>]*/>', b"", book)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in package.infolist():
            dst.writestr(info.filename, book if info.filename == "xl/workbook.xml" else package.read(info))
    return out.getvalue()
