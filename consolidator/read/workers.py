"""Read every file in a worker process of its own, with a time limit and a memory budget.

A file that makes a parser hang is abandoned when its time is up (the worker is killed and
replaced); one that makes it allocate without end hits the worker's memory limit (RLIMIT_AS, on
Linux and macOS) and the worker dies instead of the run; either way the file gets one finding and
every other file is read as if it were not there. The workers also put all cores to use.
"""

from __future__ import annotations

import faulthandler
import gc
import multiprocessing as mp
import os
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable

from ..returns import RawReturn
from ..rules.load import load_forms
from ..rules.model import Form
from .normalize import normalise_return
from .package import diagnose_crash
from .sources import Source
from .workbook import read_return


DEFAULT_TIMEOUT = 60.0
DEFAULT_MEMORY_MB = 1024


def _vm_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return 0


def _limit_memory(budget: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: the size checks before parsing are the protection there
        return
    limit = _vm_bytes() + budget if _vm_bytes() else budget * 4
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass


def _quiet() -> None:
    """A parser that dies prints its own backtrace; the office should see our finding, not that."""
    if os.environ.get("CONSOLIDATOR_DEBUG"):
        return
    faulthandler.disable()  # enabled by a host such as pytest, it writes to a stderr of its own
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    except OSError:
        pass


def _worker(conn, forms: dict[str, Form] | None, rules_dir: str, budget: int) -> None:
    _quiet()
    gc.freeze()  # what the worker inherited stays put: collections then walk only its own objects
    if forms is None:  # spawned (Windows): load the rules here
        forms = load_forms(rules_dir)
    _limit_memory(budget)
    shared: dict = {}
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        index, source = task
        try:
            raw = read_return(source, forms)
            if raw.readable and raw.category in forms:
                normalise_return(raw, forms[raw.category])
            raw.share(shared)
        except MemoryError:
            raw = RawReturn(source).fail("file_crashed", reason="读取时占用内存超出限制")
        except Exception as exc:  # read_return turns bad files into findings; this is a last resort
            raw = RawReturn(source).fail("file_crashed", reason=f"程序无法处理该文件（{type(exc).__name__}）")
        raw.source = None  # the main process has it (and the bytes of a file given in memory): not sent back
        try:
            conn.send((index, raw))
        except MemoryError:
            conn.send((index, RawReturn(source).fail("file_crashed", reason="读取时占用内存超出限制")))


@dataclass
class _Worker:
    process: mp.Process
    conn: object
    queue: deque = field(default_factory=deque)  # indices sent, in order; the first is being read
    deadline: float = 0.0  # when the first of the queue must be done


class IsolatedReader:
    QUEUE = 8  # files sent ahead to each worker
    # A task that carries a file's bytes (a Source given in memory) is only sent to a worker with nothing queued,
    # which is waiting to receive it: queued behind another file it could fill the pipe while the
    # worker fills the other one with a long result, each side waiting for the other.
    AHEAD_BYTES = 16 * 1024
    def __init__(self, forms: dict[str, Form], rules_dir: Path | str, *, workers: int | None = None,
                 timeout: float = DEFAULT_TIMEOUT, memory_mb: int = DEFAULT_MEMORY_MB,
                 meanwhile: threading.Thread | None = None):
        """`meanwhile`: a thread of the caller's (an import, say) started once the first workers run;
        a worker that must be replaced later is forked only after that thread has ended, since a
        process forked while another thread holds a lock may inherit it held."""
        self.forms, self.rules_dir = forms, str(rules_dir)
        self.meanwhile = meanwhile
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.timeout, self.budget = timeout, memory_mb * 2**20
        self.ctx = mp.get_context("fork" if sys.platform != "win32" else "spawn")

    def _start(self) -> _Worker:
        if self.meanwhile is not None and self.meanwhile.ident is not None:
            self.meanwhile.join()
        parent, child = self.ctx.Pipe()
        forms = self.forms if self.ctx.get_start_method() == "fork" else None
        p = self.ctx.Process(target=_worker, args=(child, forms, self.rules_dir, self.budget), daemon=True)
        p.start()
        child.close()
        return _Worker(p, parent)

    @staticmethod
    def _stop(w: _Worker, kill: bool = False) -> None:
        try:
            if kill:
                w.process.kill()
            else:
                w.conn.send(None)
        except (OSError, ValueError):
            pass
        w.process.join(timeout=5)
        if w.process.is_alive():
            w.process.kill()
            w.process.join(timeout=5)
        w.conn.close()

    def read_all(self, sources: list[Source],
                 progress: Callable[[int, int, RawReturn], None] | None = None) -> list[RawReturn]:
        """Every source read, in the order given.

        Each worker has up to QUEUE files sent ahead, so it never waits for the main process between
        two files (a file given in memory only when it waits: AHEAD_BYTES); a file's time limit runs
        from when the worker finished the one before it."""
        results: list[RawReturn | None] = [None] * len(sources)
        pending = deque(range(len(sources)))
        pool = [self._start() for _ in range(min(self.workers, len(sources)))]
        if self.meanwhile is not None:
            self.meanwhile.start()
        done = 0
        shared: dict = {}

        def finish(i: int, raw: RawReturn) -> None:
            nonlocal done
            results[i] = raw.share(shared)
            done += 1
            if progress:
                progress(done, len(sources), raw)

        def replace(k: int) -> None:
            """Kill worker k; the files queued behind the one it failed on go back to the front."""
            w = pool[k]
            w.queue.popleft()
            pending.extendleft(reversed(w.queue))
            self._stop(w, kill=True)
            pool[k] = self._start()

        try:
            while pending or any(w.queue for w in pool):
                now = time.monotonic()
                for k, w in enumerate(pool):
                    while len(w.queue) < self.QUEUE and pending:
                        if w.queue and len(sources[pending[0]].data or b"") > self.AHEAD_BYTES:
                            break
                        i = pending.popleft()
                        try:
                            w.conn.send((i, sources[i]))
                        except OSError:  # the worker died on a file it was given: its recv below says which
                            pending.appendleft(i)
                            if not w.queue:  # died with nothing to read: just replace it
                                self._stop(w, kill=True)
                                pool[k] = w = self._start()
                                continue
                            break
                        if not w.queue:
                            w.deadline = now + self.timeout
                        w.queue.append(i)
                busy = [w for w in pool if w.queue]
                ready = wait([w.conn for w in busy], timeout=max(0.0, min(w.deadline for w in busy) - now))
                for k, w in enumerate(pool):
                    if not w.queue:
                        continue
                    i = w.queue[0]
                    if w.conn in ready:
                        try:
                            index, raw = w.conn.recv()
                        except (EOFError, OSError):
                            w.process.join(timeout=5)
                            far = diagnose_crash(sources[i])
                            if far:
                                finish(i, RawReturn(sources[i]).fail("file_too_large", reason=far))
                            else:
                                finish(i, RawReturn(sources[i]).fail(
                                    "file_crashed", reason="读取时占用内存超出限制或内容异常"))
                            replace(k)
                            continue
                        w.queue.popleft()
                        w.deadline = time.monotonic() + self.timeout
                        raw.source = sources[index]
                        finish(index, raw)
                    elif time.monotonic() >= w.deadline:
                        finish(i, RawReturn(sources[i]).fail("file_timeout", seconds=f"{self.timeout:g}"))
                        replace(k)
        finally:
            for w in pool:
                self._stop(w)
        return results  # type: ignore[return-value]
