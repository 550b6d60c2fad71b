"""The candidate returns below a folder: files, and members of .zip archives (expanded only by the
worker that reads them), with the files that are skipped and why.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import why_zh
from ..findings import Finding, make_finding
from .archives import MemberError, kind_of, members, read_member
from .package import MAX_FILE_BYTES

SKIP_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}
OUTPUT_MARKER = ".consolidator-输出目录"  # every output folder holds it (write.files.OutputSet)


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
            return read_member(self.path, kind_of(self.path), self.entry, self.member or "")
        return self.path.read_bytes()

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.member or self.path.name).suffix.lower()


# ---- discovery --------------------------------------------------------------------------------
def _skip_reason(name: str) -> str | None:
    base = name.rsplit("/", 1)[-1]
    if base.startswith("~$"):
        return "Office 临时锁定文件（~$开头），不是报送文件"
    if base.startswith(".") or base.lower() in SKIP_NAMES or "__MACOSX/" in name:
        return "隐藏文件或系统文件"
    return None


def _entries(root: Path, skipped: list[Finding]) -> list[Path]:
    """The regular files below root. Links are never followed (one could lead out of the folder, or in a
    circle); a link, a pipe or a device is listed as skipped with why, and a folder or file that cannot be
    entered is a finding for the office: the rest of the batch goes on."""
    files: list[Path] = []
    if (root / OUTPUT_MARKER).exists():  # the office pointed the check at one of our output folders
        skipped.append(make_finding("skipped", file=root.name, reason="本程序的输出目录（检查结果、汇总表），不是报送文件夹"))
        return files
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
                    elif (path / OUTPUT_MARKER).exists():
                        skipped.append(_skipped(root, path, "本程序的输出目录（检查结果、汇总表），不是报送文件"))
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
    why = why_zh(exc)
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
        if kind_of(path):
            _discover_archive(path, rel, mtime, sources, skipped)
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


def _discover_archive(path: Path, rel: str, mtime, sources: list, skipped: list) -> None:
    """The members of an archive (.zip, .7z, .rar), listed: each is expanded only by the worker that reads
    it (a national round sent as archives would not fit in memory at once); a member too big to be a return
    is never expanded (its declared size is checked here), and one broken member spoils no other."""
    try:
        listed = members(path, kind_of(path))
    except MemberError as exc:
        if exc.code == "file_encrypted":
            skipped.append(make_finding("file_encrypted", file=rel))
        else:
            skipped.append(make_finding(exc.code, file=rel, **exc.kw))
        return
    if len(listed) > MAX_ARCHIVE_MEMBERS:
        skipped.append(make_finding("file_too_large", file=rel, reason=f"压缩包中有 {len(listed)} 个文件"))
        return
    seen: set[str] = set()
    for m in listed:
        display = f"{rel}!{m.name}"
        reason = _skip_reason(m.name)
        if reason:
            skipped.append(make_finding("skipped", file=display, reason=reason))
            continue

        def failed(code: str, **kw) -> None:
            sources.append(Source(display, m.time or mtime, path, member=m.name, data=b"", problem=(code, kw)))

        if m.name in seen:
            failed("file_unreadable", reason="压缩包中有同名文件，无法确定报送的是哪一个")
            continue
        seen.add(m.name)
        if m.size > MAX_FILE_BYTES or (m.packed and m.size / m.packed > 1000):
            failed("file_too_large", reason=f"解压后约 {m.size / 2**20:.0f} MB")
            continue
        sources.append(Source(display, m.time or mtime, path, member=m.name, entry=m.index))
