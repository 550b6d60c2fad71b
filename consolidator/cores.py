"""Work spread over the machine's cores: the Word documents of a batch, the annotated copies of feedback."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_all_start_methods, get_context
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_on_cores(fn: Callable[[T], R], jobs: Sequence[T], *, least: int = 8, chunk: int = 4) -> list[R]:
    """[fn(job) for job in jobs], in worker processes when there are enough jobs (at least `least` a worker):
    forked where the system forks, else spawned (Windows), so `fn` is a module-level function of picklable
    arguments."""
    workers = min(os.cpu_count() or 1, max(1, len(jobs) // least))
    if workers <= 1:
        return [fn(job) for job in jobs]
    method = "fork" if "fork" in get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(workers, mp_context=get_context(method)) as pool:
        return list(pool.map(fn, jobs, chunksize=chunk))
