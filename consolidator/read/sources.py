"""The candidate returns below a folder: files, and members of .zip archives (expanded only by the
worker that reads them), with the files that are skipped and why.
"""

from __future__ import annotations

import datetime as dt
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from zlib import error as zlib_error

from ..findings import Finding, make_finding
from .package import MAX_FILE_BYTES

ARCHIVE_SUFFIXES = {".zip"}
SKIP_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}


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
    name_bytes: str | None = None  # the name as the folder holds it, when it is not UTF-8 (display: decoded)

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


def _entries(root: Path, skipped: list[Finding]) -> list[Path]:
    """The regular files below root. Links are never followed (one could lead out of the folder, or in a
    circle); a link, a pipe or a device is listed as skipped with why, and a folder or file that cannot be
    entered is a finding for the office: the rest of the batch goes on."""
    files: list[Path] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            skipped.append(_access_finding(root, folder, exc))
            continue
        for e in entries:
            path = Path(e.path)
            try:
                if e.is_symlink():
                    skipped.append(_skipped(root, path, "快捷方式（链接），未跟随读取；请把文件本身放入报送文件夹"))
                elif e.is_dir(follow_symlinks=False):
                    if e.name.startswith("."):
                        skipped.append(_skipped(root, path, "隐藏文件夹"))
                    else:
                        stack.append(path)
                elif e.is_file(follow_symlinks=False):
                    files.append(path)
                else:
                    skipped.append(_skipped(root, path, "不是普通文件（管道、设备等），未读取"))
            except OSError as exc:
                skipped.append(_access_finding(root, path, exc))
    return sorted(files)


def _shown(root: Path, path: Path) -> str:
    return readable_name(path.relative_to(root).as_posix() if path != root else path.name)[0]


def _skipped(root: Path, path: Path, reason: str) -> Finding:
    return make_finding("skipped", file=_shown(root, path), reason=reason)


def _access_finding(root: Path, path: Path, exc: OSError) -> Finding:
    why = "没有权限" if isinstance(exc, PermissionError) else (exc.strerror or type(exc).__name__)
    return make_finding("access_denied", file=_shown(root, path), reason=why)


def discover(root: Path) -> tuple[list[Source], list[Finding]]:
    """Every candidate return below root (zip archives opened in memory) and the skipped files."""
    root = Path(root)
    sources: list[Source] = []
    skipped: list[Finding] = []
    for path in _entries(root, skipped):
        rel, raw_name = readable_name(path.relative_to(root).as_posix())
        reason = _skip_reason(rel)
        if reason:
            skipped.append(make_finding("skipped", file=rel, reason=reason))
            continue
        try:
            mtime = dt.datetime.fromtimestamp(path.stat().st_mtime)
        except OSError as exc:
            skipped.append(_access_finding(root, path, exc))
            continue
        if path.suffix.lower() in ARCHIVE_SUFFIXES:
            _discover_zip(path, rel, mtime, sources, skipped)
        else:
            sources.append(Source(rel, mtime, path, name_bytes=raw_name))
    return sources, skipped


def readable_name(name: str) -> tuple[str, str | None]:
    """A file name as every output can show it, and (when it had to be changed) the name as the folder holds
    it, its undecodable bytes as \\xNN. Names made on Chinese Windows and unpacked elsewhere are GBK bytes
    (Python hands them over as surrogates): shown as GBK where they are, with replacement characters where
    not even that reads."""
    try:
        name.encode("utf-8")
        return name, None
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "surrogateescape")
    try:
        shown = raw.decode("gb18030")
    except UnicodeDecodeError:
        shown = raw.decode("utf-8", "replace")
    return shown, raw.decode("utf-8", "backslashreplace")


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
        skipped.append(make_finding("file_unreadable", file=rel, reason=reason))
        return
    with zf:
        if len(all_entries) > MAX_ARCHIVE_MEMBERS:
            skipped.append(make_finding("file_too_large", file=rel, reason=f"压缩包中有 {len(all_entries)} 个文件"))
            return
        seen: set[str] = set()
        for k, info in all_entries:
            name = _member_name(info)
            display = f"{rel}!{name}"
            reason = _skip_reason(name)
            if reason:
                skipped.append(make_finding("skipped", file=display, reason=reason))
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


