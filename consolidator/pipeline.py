"""The check as the office runs it: read a folder of returns, check them as one batch.

This is the file-reading edge around the pure core (read.workers reads and normalises each file,
then check.batch.check_batch checks them once). Progress is reported through a callback, never
printed here.

Two things make a large batch fast here rather than in the core: while the workers read, the
main process imports the checker and builds its schemas (pandas' validation stack takes a good part
of a second to load),
and Python's cyclic garbage collector is paused while the batch is built, since every collection
would walk all returns read so far (the batch holds no reference cycles that need it).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from .read.roster import Park
from .read.sources import discover
from .read.workers import DEFAULT_TIMEOUT, IsolatedReader
from .returns import RawReturn
from .rules import Form

if TYPE_CHECKING:
    from .check.results import BatchResult

Progress = Callable[[int, int, RawReturn], None]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic collections inside (the previous setting is restored after)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def run_check(returns_dir: Path, forms: dict[str, Form], roster: list[Park] | None = None,
              progress: Progress | None = None, *, workers: int | None = None,
              timeout: float = DEFAULT_TIMEOUT, preload: tuple[str, ...] = (), release: bool = False) -> BatchResult:
    """Read every file of the folder in isolated workers, then check them as one batch.
    `preload`: modules the caller needs next (the report, the summary), imported while reading.
    `release`: drop the cells and list rows as read once checked (RawReturn.release), for a caller
    that needs only the findings, the values and the list frame: the summary of a national round."""
    sources, skipped = discover(Path(returns_dir))
    rules_dir = next(iter(forms.values())).rules_dir
    loader = threading.Thread(target=_preload, args=(forms, preload), daemon=True)
    reader = IsolatedReader(forms, rules_dir, workers=workers, timeout=timeout, meanwhile=loader)
    with gc_paused():
        raws = reader.read_all(sources, progress)
        if loader.ident is not None:
            loader.join()
        from .check.batch import check_batch

        result = check_batch(raws, forms, roster, skipped)
    if release:
        for raw in raws:
            raw.release()
    return result


def _preload(forms: dict[str, Form], modules: tuple[str, ...]) -> None:
    from .check.batch import warm_up

    warm_up(forms)
    for name in modules:
        importlib.import_module(name)


def default_out_dir(returns_dir: Path) -> Path:
    """Beside the returns, never inside: 返回文件夹 -> 返回文件夹_检查结果."""
    returns_dir = Path(returns_dir).resolve()
    return returns_dir.parent / f"{returns_dir.name}_检查结果"


def is_inside(path: Path, folder: Path) -> bool:
    path, folder = Path(path).resolve(), Path(folder).resolve()
    return path == folder or folder in path.parents
