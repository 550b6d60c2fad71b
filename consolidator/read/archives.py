"""Archives parks send: .zip, .7z (py7zr) and .rar (rarfile, which extracts with bsdtar, unrar or unar).

Each is listed the same way (its members with their declared sizes, never expanded at listing) and a member
is expanded only by the worker that reads it, never past MAX_FILE_BYTES. Names made on Chinese Windows
are GBK bytes without the UTF-8 flag (zip); an archive or member that needs a password is said to be one.
"""

from __future__ import annotations

import datetime as dt
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zlib import error as zlib_error

from .package import MAX_FILE_BYTES, Refused

ARCHIVE_SUFFIXES = {".zip": "zip", ".7z": "7z", ".rar": "rar"}


class MemberError(Refused):
    """An archive or member that cannot be expanded."""


@dataclass(frozen=True)
class Member:
    index: int  # its place in the archive's listing
    name: str
    size: int  # as the archive declares it
    packed: int | None  # compressed size, where the format says (a solid 7z block does not)
    time: dt.datetime | None


def kind_of(path: Path) -> str | None:
    return ARCHIVE_SUFFIXES.get(path.suffix.lower())


def members(path: Path, kind: str) -> list[Member]:
    """The files of an archive (folders left out); MemberError when it cannot be listed."""
    try:
        return _LISTERS[kind](path)
    except MemberError:
        raise
    except Exception as exc:  # each library raises its own types for damaged archives
        raise _failure(exc, "压缩包已损坏或无法打开") from None


def read_member(path: Path, kind: str, index: int, name: str) -> bytes:
    """Expand one member (never more than MAX_FILE_BYTES, whatever its header says)."""
    try:
        data = _READERS[kind](path, index, name)
    except MemberError:
        raise
    except Exception as exc:
        raise _failure(exc, "压缩包中的文件已损坏") from None
    if len(data) > MAX_FILE_BYTES:
        raise MemberError("file_too_large", reason="解压后超过 50 MB")
    return data


def _failure(exc: Exception, damaged: str) -> MemberError:
    """A library's error as a finding: a password wanted, or the archive damaged."""
    if "password" in type(exc).__name__.lower() or "encrypt" in str(exc).lower():
        return MemberError("file_encrypted")
    return MemberError("file_unreadable", reason=damaged)


# ---- zip ----------------------------------------------------------------------------------------
def zip_member_name(info: zipfile.ZipInfo) -> str:
    """Zip member names made on Chinese Windows are GBK bytes without the UTF-8 flag."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _zip_members(path: Path) -> list[Member]:
    with zipfile.ZipFile(path) as zf:
        out = []
        for k, info in enumerate(zf.infolist()):
            if info.is_dir():
                continue
            try:
                when = dt.datetime(*info.date_time)
            except ValueError:
                when = None
            out.append(Member(k, zip_member_name(info), info.file_size, info.compress_size or None, when))
        return out


_OPEN: dict[str, Any] = {}  # the zip archive last read from, kept open for its next member


def _zip_read(path: Path, index: int, name: str) -> bytes:
    """The archive stays open for the next member, in this process only (a forked worker must not share
    the file position of its parent's handle)."""
    try:
        st = path.stat()
    except OSError:
        raise MemberError("file_unreadable", reason="压缩包已无法打开") from None
    key = (os.getpid(), str(path), st.st_mtime_ns, st.st_size)  # an archive replaced since is opened anew
    if _OPEN.get("key") != key:
        if _OPEN.get("zf") is not None and _OPEN["key"][0] == os.getpid():
            _OPEN["zf"].close()
        _OPEN.clear()
        try:
            _OPEN.update(key=key, zf=zipfile.ZipFile(path))
        except (zipfile.BadZipFile, OSError, ValueError):
            raise MemberError("file_unreadable", reason="压缩包已损坏或无法打开") from None
    zf = _OPEN["zf"]
    infos = zf.infolist()
    if index >= len(infos) or zip_member_name(infos[index]) != name:
        raise MemberError("file_unreadable", reason="压缩包在检查过程中被改动")
    try:
        with zf.open(infos[index]) as fh:
            return fh.read(MAX_FILE_BYTES + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError, zlib_error) as exc:
        if isinstance(exc, RuntimeError) and "encrypted" in str(exc):
            raise MemberError("file_encrypted") from None
        raise MemberError("file_unreadable", reason="压缩包中的文件已损坏") from None


# ---- 7z -----------------------------------------------------------------------------------------
def _7z_members(path: Path) -> list[Member]:
    import py7zr

    with py7zr.SevenZipFile(path) as z:
        if z.needs_password():
            raise MemberError("file_encrypted")
        out = []
        for k, f in enumerate(z.list()):
            if not f.is_directory:
                when = f.creationtime.replace(tzinfo=None) if f.creationtime else None
                out.append(Member(k, f.filename, f.uncompressed or 0, f.compressed, when))
        return out


def _7z_read(path: Path, index: int, name: str) -> bytes:
    import py7zr
    from py7zr.io import BytesIOFactory

    factory = BytesIOFactory(limit=MAX_FILE_BYTES + 1)
    with py7zr.SevenZipFile(path) as z:
        z.extract(targets=[name], factory=factory)
    got = factory.products.get(name)
    if got is None:
        raise MemberError("file_unreadable", reason="压缩包在检查过程中被改动")
    got.seek(0)
    return got.read(MAX_FILE_BYTES + 1)


# ---- rar ----------------------------------------------------------------------------------------
def _rar_members(path: Path) -> list[Member]:
    import rarfile

    with rarfile.RarFile(path) as rf:
        out = []
        for k, info in enumerate(rf.infolist()):
            if info.is_dir():
                continue
            if info.needs_password():
                raise MemberError("file_encrypted")
            try:
                when = dt.datetime(*info.date_time)
            except (TypeError, ValueError):
                when = None
            out.append(Member(k, info.filename, info.file_size, info.compress_size or None, when))
        return out


def _rar_read(path: Path, index: int, name: str) -> bytes:
    import rarfile

    with rarfile.RarFile(path) as rf:
        infos = rf.infolist()
        if index >= len(infos) or infos[index].filename != name:
            raise MemberError("file_unreadable", reason="压缩包在检查过程中被改动")
        with rf.open(infos[index]) as fh:
            return fh.read(MAX_FILE_BYTES + 1)


_LISTERS = {"zip": _zip_members, "7z": _7z_members, "rar": _rar_members}
_READERS = {"zip": _zip_read, "7z": _7z_read, "rar": _rar_read}
