"""Work spread over the machine's cores: the Word documents of a batch, the annotated copies of feedback, the
panel's park sheets, the rows of the summary's large tables."""

from __future__ import annotations

import os
from multiprocessing import get_all_start_methods, get_context
from typing import Callable, Iterator, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_on_cores(fn: Callable[[T], R], jobs: Sequence[T], *, least: int = 8, chunk: int = 4) -> list[R]:
    """[fn(job) for job in jobs], in worker processes when there are enough jobs (at least `least` a worker):
    forked where the system forks, else spawned (Windows), so `fn` is a module-level function of picklable
    arguments."""
    return start_on_cores(fn, jobs, least=least, chunk=chunk).results()


class Started:
    """Jobs under way on the workers; results() waits for them (and ends the workers)."""

    def __init__(self, fn: Callable[[T], R], jobs: Sequence[T], least: int, chunk: int, fresh: tuple[str, ...] | None):
        workers = min(os.cpu_count() or 1, max(1, len(jobs) // least))
        self.pool, self._results = None, None
        if workers <= 1:
            self._results = [fn(job) for job in jobs]
            return
        methods = get_all_start_methods()
        if fresh is not None and "forkserver" in methods:
            context = get_context("forkserver")
            context.set_forkserver_preload(list(fresh))
        else:
            context = get_context("fork" if "fork" in methods else "spawn")
        from concurrent.futures import ProcessPoolExecutor  # (with logging, ~15 ms that a check never needs)

        self.pool = ProcessPoolExecutor(workers, mp_context=context)
        self._pending = self.pool.map(fn, jobs, chunksize=chunk)  # all submitted now

    def each(self) -> Iterator:
        """The results one by one in the jobs' order, as they come (the workers end after the last): a caller
        that writes each away never holds them all."""
        if self._results is not None:
            yield from self._results
            return
        try:
            yield from self._pending
        finally:
            self.pool.shutdown(cancel_futures=True)

    def results(self) -> list:
        if self._results is None:
            try:
                self._results = list(self._pending)
            finally:
                self.pool.shutdown()
        return self._results


def start_on_cores(fn: Callable[[T], R], jobs: Sequence[T], *, least: int = 8, chunk: int = 4,
                   fresh: tuple[str, ...] | None = None) -> Started:
    """map_on_cores, started: this process goes on with other work while the workers do the jobs (when there
    are too few jobs for workers, they are done here and now). fresh: the workers share nothing of this
    process's memory (forked from a server that has imported these modules, where the system has one): a
    forked worker keeps its own copy of every page this process writes to while it runs, which at 10,000
    returns is most of the batch again."""
    return Started(fn, jobs, least, chunk, fresh)


_SHARED: list[tuple[Callable, Sequence]] = []  # what forked workers call (they have it: forked after it was set)


def _run_shared(k: int):
    fn, jobs = _SHARED[-1]
    return fn(jobs[k])


def map_forked(fn: Callable[[T], R], jobs: Sequence[T], *, least: int = 1) -> list[R]:
    """[fn(job) for job in jobs], on all cores: this process and workers forked from it where the system forks.
    fn and the jobs are not sent to the workers (they have this process's memory as it was), so fn may be a
    closure over large data; only the results come back. This process does jobs too (from the end, the workers
    from the start): one worker fewer, and a forked worker's copy of the pages it touches is memory twice.
    Where the system does not fork (Windows), all in this process."""
    workers = min(os.cpu_count() or 1, max(1, len(jobs) // least)) - 1
    if workers < 1 or "fork" not in get_all_start_methods():
        return [fn(job) for job in jobs]
    from concurrent.futures import ProcessPoolExecutor

    _SHARED.append((fn, jobs))
    try:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            futures = [pool.submit(_run_shared, k) for k in range(len(jobs))]
            results: list = [None] * len(jobs)
            for k in reversed(range(len(jobs))):
                if not futures[k].cancel():  # a worker has it
                    break
                results[k] = fn(jobs[k])
            for k, future in enumerate(futures):
                if not future.cancelled():
                    results[k] = future.result()
            return results
    finally:
        _SHARED.pop()


class WorkerDied(RuntimeError):
    """A forked worker ended without sending its result (killed, or its result could not be pickled)."""


def fork_call(fn: Callable[[T], R], job: T) -> Callable[[], R]:
    """fn(job) started now in one worker forked from this process, which goes on with other work; the function
    returned waits for the result (an exception of fn's is raised there; WorkerDied when the worker ended without
    one). As with map_forked, fn and job are not
    sent (the worker has this process's memory as it was); only the result comes back, pickled. Where the system
    does not fork (Windows), fn(job) runs here and now."""
    if "fork" not in get_all_start_methods():
        value = fn(job)
        return lambda: value
    ctx = get_context("fork")
    here, there = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_forked_call, args=(there, fn, job), daemon=True)
    process.start()  # forked now: what fn reads is this process's memory at this moment
    there.close()

    def result() -> R:
        try:
            ok, value = here.recv()
        except EOFError:  # it died (killed, say, or its result could not be pickled)
            ok, value = False, None
        finally:
            here.close()
        process.join()
        if not ok:
            raise value or WorkerDied(f"the worker forked for {getattr(fn, '__name__', fn)} ended without a "
                                      f"result (exit code {process.exitcode})")
        return value

    return result


def _forked_call(conn, fn, job) -> None:
    try:
        out = (True, fn(job))
    except BaseException as exc:  # (sent back as it is, raised by the caller)
        out = (False, exc)
    conn.send(out)
    conn.close()
