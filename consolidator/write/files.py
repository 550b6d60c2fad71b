"""File output at the edge: every file is written to a temporary sibling and then moved into
place, so a run that is killed never leaves a half-written output behind."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..read.sources import OUTPUT_MARKER


class OutputLockedError(OSError):
    """The output file exists and cannot be replaced (on Windows: it is open in Excel)."""


def atomic_write_bytes(path: Path | str, data: bytes, *, sync: bool = True) -> Path:
    """`data` in place of `path` at once (a temporary renamed over it). `sync=False` leaves the flush to
    disk to the caller (sync_all after a batch of files: one wait instead of one per file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".~tmp-{os.getpid()}-", suffix=path.suffix, dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        try:
            os.replace(tmp, path)
        except PermissionError as exc:
            raise OutputLockedError(
                f"无法覆盖文件 {path}：文件可能正在 Excel 或 WPS 中打开，请关闭后重试（原文件保持不变）"
            ) from exc
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path: Path | str, text: str, encoding: str = "utf-8") -> Path:
    return atomic_write_bytes(path, text.encode(encoding))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class OutputBusyError(OSError):
    """Another run is writing into the same output folder."""


TEMP_PREFIX = ".~tmp-"
LOCK_NAME = ".consolidator-运行中.lock"
MARKER_NAME = OUTPUT_MARKER  # stays: a folder holding it is ours, never read as returns
MARKER_TEXT = "此文件夹是 consolidator 的输出目录（检查结果、汇总表），检查报送文件时会跳过它。\n"


class OutputSet:
    """A run's outputs in one folder, changed as one set: the folder is claimed before any work (a second
    run on it is refused, naming the first; a folder that cannot be written is reported before the returns
    are read), every output is written to a temporary file first, and only when all are written do they
    replace the old ones. Temporaries of this run are removed however it ends (SIGTERM included, see
    terminate_gracefully); those of earlier runs that were killed are removed when the folder is claimed.

        with OutputSet(folder) as out:
            ... work ...
            out.add("report.html", data)
            written = out.commit()
    """

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        self.pending: list[tuple[Path, Path]] = []  # (temporary, final)
        self._lock: Path | None = None

    def __enter__(self) -> "OutputSet":
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = self.folder / LOCK_NAME
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = _lock_owner(lock)
            if owner and _alive(owner):
                raise OutputBusyError(f"输出目录 {self.folder} 正被另一次运行（进程 {owner}）使用，请等它结束后再运行") from None
            lock.unlink(missing_ok=True)  # left by a run that was killed
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
        self._lock = lock
        _remove_stale_temporaries(self.folder)
        marker = self.folder / MARKER_NAME
        if not marker.exists():
            marker.write_text(MARKER_TEXT, encoding="utf-8")
        return self

    def add(self, name: str, data: bytes | Iterable[bytes]) -> None:
        """Stage an output: its bytes, or its pieces one after another (none of them kept)."""
        final = self.folder / name
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=final.suffix, dir=self.folder)
        self.pending.append((Path(tmp), final))
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            if isinstance(data, (bytes, bytearray, memoryview)):
                fh.write(data)
            else:
                for piece in data:
                    fh.write(piece)
            fh.flush()
            os.fsync(fh.fileno())

    def commit(self) -> list[Path]:
        """Put every output in place; one open in another program is kept as it was (the others are
        replaced) and OutputLockedError then names each that could not be."""
        written, locked = [], []
        for tmp, final in self.pending:
            try:
                os.replace(tmp, final)
                written.append(final)
            except PermissionError:
                locked.append(f"无法覆盖文件 {final}：文件可能正在 Excel 或 WPS 中打开，请关闭后重试（原文件保持不变）")
        self.pending = [(t, f) for t, f in self.pending if t.exists()]
        if locked:
            raise OutputLockedError("\n".join(locked))
        return written

    def __exit__(self, *exc) -> None:
        for tmp, _ in self.pending:
            tmp.unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.unlink(missing_ok=True)


def _lock_owner(lock: Path) -> int | None:
    try:
        return int(lock.read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sync_all() -> None:
    """Everything written so far on its way to disk (after files written with sync=False)."""
    if hasattr(os, "sync"):
        os.sync()


def remove_stale_temporaries(folder: Path) -> None:
    """The same in a folder and every folder below it (the returns folder that collect writes into)."""
    for sub in [Path(folder), *(p for p in Path(folder).rglob("*") if p.is_dir())]:
        _remove_stale_temporaries(sub)


def _remove_stale_temporaries(folder: Path) -> None:
    """The temporaries of earlier runs that died (killed while writing: they can be hundreds of MB)."""
    for path in folder.glob(f"{TEMP_PREFIX}*"):
        pid = path.name[len(TEMP_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or not _alive(int(pid)) or int(pid) == os.getpid():
            path.unlink(missing_ok=True)


def terminate_gracefully() -> None:
    """SIGTERM ends the command as Ctrl-C does, so that its temporaries and lock are removed."""
    import signal

    def stop(signum, frame):
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, stop)
    except (ValueError, OSError):  # not the main thread, or a platform without it
        pass
