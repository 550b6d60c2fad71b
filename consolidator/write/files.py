"""File output at the edge: every file is written to a temporary sibling and then moved into
place, so a run that is killed never leaves a half-written output behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class OutputLockedError(OSError):
    """The output file exists and cannot be replaced (on Windows: it is open in Excel)."""


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".~tmp-", suffix=path.suffix, dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
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
