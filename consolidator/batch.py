"""The check as the office runs it: read a folder of returns, check them as one batch.

This is the file-reading edge around the pure core (reader.read_return per file, then
checker.check_batch once). Progress is reported through a callback, never printed here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .checker import BatchResult, check_batch
from .form import Form
from .isolation import DEFAULT_TIMEOUT, IsolatedReader
from .reader import RawReturn, discover
from .roster import Park

Progress = Callable[[int, int, RawReturn], None]


def run_check(returns_dir: Path, forms: dict[str, Form], roster: list[Park] | None = None,
              progress: Progress | None = None, *, workers: int | None = None,
              timeout: float = DEFAULT_TIMEOUT) -> BatchResult:
    """Read every file of the folder in isolated workers, then check them as one batch."""
    sources, skipped = discover(Path(returns_dir))
    rules_dir = next(iter(forms.values())).rules_dir
    raws = IsolatedReader(forms, rules_dir, workers=workers, timeout=timeout).read_all(sources, progress)
    return check_batch(raws, forms, roster, skipped)


def default_out_dir(returns_dir: Path) -> Path:
    """Beside the returns, never inside: 返回文件夹 -> 返回文件夹_检查结果."""
    returns_dir = Path(returns_dir).resolve()
    return returns_dir.parent / f"{returns_dir.name}_检查结果"


def is_inside(path: Path, folder: Path) -> bool:
    path, folder = Path(path).resolve(), Path(folder).resolve()
    return path == folder or folder in path.parents
