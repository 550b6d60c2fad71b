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
import pickle
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Callable

from ..returns import Layouts, RawReturn
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
    """Cap the worker's address space at what it has plus `budget`. Arrow's default allocator (mimalloc)
    reserves address space by the gigabyte on its first allocation, which such a cap refuses: every
    list would fail to be read; the worker's Arrow arrays come from the C library's malloc instead."""
    import pyarrow

    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
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


def read_one(source: Source, forms: dict[str, Form]) -> RawReturn:
    """What a reading worker does with one file: read it and normalise its values (the only place a
    return is normalised; the main process only validates)."""
    raw = read_return(source, forms)
    if raw.readable and raw.category in forms:
        normalise_return(raw, forms[raw.category])
    return raw


def _die_with(parent_pid: int, inherited: list) -> None:
    """A worker ends when the process that started it does (killed by the OOM killer, say): it closes the
    pipe ends it inherited from the parent (its own and other workers': while it holds them its recv would
    never see the parent go), and on Linux asks the kernel to kill it when the parent dies."""
    for conn in inherited:
        try:
            conn.close()
        except OSError:
            pass
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the request was made
        os._exit(0)


def _worker(conn, forms: dict[str, Form] | None, rules_dir: str, budget: int, parent_pid: int = 0,
            inherited: tuple = ()) -> None:
    if parent_pid:
        _die_with(parent_pid, list(inherited))
    _quiet()
    gc.freeze()  # what the worker inherited stays put: collections then walk only its own objects
    if forms is None:  # spawned (Windows): load the rules here
        forms = load_forms(rules_dir)
    _limit_memory(budget)
    shared: dict = {}
    layouts = Layouts()  # what this connection has carried
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        index, source = task
        try:
            raw = read_one(source, forms).share(shared, coded=False)
        except MemoryError:
            raw = RawReturn(source).fail("file_crashed", reason="读取时占用内存超出限制")
        except Exception as exc:  # read_return turns bad files into findings; this is a last resort
            raw = RawReturn(source).fail("file_crashed", reason=f"程序无法处理该文件（{type(exc).__name__}）")
        raw.source = None  # the main process has it (and the bytes of a file given in memory): not sent back
        try:
            with layouts.over():
                conn.send((index, raw))
        except MemoryError:
            conn.send((index, RawReturn(source).fail("file_crashed", reason="读取时占用内存超出限制")))


@dataclass
class _Worker:
    process: mp.Process
    conn: object
    queue: deque = field(default_factory=deque)  # indices sent, in order; the first is being read
    deadline: float = 0.0  # when the first of the queue must be done
    layouts: Layouts = field(default_factory=Layouts)  # the layouts of cells its connection has carried


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
        self._parent_ends: set = set()  # the open parent ends of the workers' pipes
        self.shared: dict = {}  # what the returns it reads share (RawReturn.share): also for readings taken elsewhere

    def _start(self) -> _Worker:
        if self.meanwhile is not None and self.meanwhile.ident is not None:
            self.meanwhile.join()
        parent, child = self.ctx.Pipe()
        fork = self.ctx.get_start_method() == "fork"
        forms = self.forms if fork else None
        # a forked worker inherits the parent's ends of every pipe: it closes them first (_die_with)
        inherited = (parent, *self._parent_ends) if fork else ()
        p = self.ctx.Process(target=_worker, args=(child, forms, self.rules_dir, self.budget, os.getpid(), inherited),
                             daemon=True)
        p.start()
        child.close()
        self._parent_ends.add(parent)
        return _Worker(p, parent)

    def _stop(self, w: _Worker, kill: bool = False) -> None:
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
        self._parent_ends.discard(w.conn)

    def read_all(self, sources: list[Source],
                 progress: Callable[[int, int, RawReturn], None] | None = None) -> list[RawReturn]:
        """Every source read, in the order given.

        Each worker has up to QUEUE files sent ahead, so it never waits for the main process between
        two files (a file given in memory only when it waits: AHEAD_BYTES); a file's time limit runs
        from when the worker finished the one before it."""
        run = _Run(self, sources, progress)
        try:
            while run.pending or any(w.queue for w in run.pool):
                now = time.monotonic()
                for k in range(len(run.pool)):
                    run.send_ahead(k, now)
                busy = [w for w in run.pool if w.queue]
                ready = wait([w.conn for w in busy], timeout=max(0.0, min(w.deadline for w in busy) - now))
                for k in range(len(run.pool)):
                    run.collect(k, ready)
        finally:
            for w in run.pool:
                self._stop(w)
        return run.results  # type: ignore[return-value]


class _Run:
    """One read_all: the files not yet sent, the workers with what each has queued, the results."""

    def __init__(self, reader: IsolatedReader, sources: list[Source], progress):
        self.reader, self.sources, self.progress = reader, sources, progress
        self.results: list[RawReturn | None] = [None] * len(sources)
        self.pending = deque(range(len(sources)))
        self.pool = [reader._start() for _ in range(min(reader.workers, len(sources)))]
        if reader.meanwhile is not None:
            reader.meanwhile.start()
        self.done = 0
        self.shared = reader.shared

    def finish(self, i: int, raw: RawReturn) -> None:
        self.results[i] = raw.share(self.shared)
        self.done += 1
        if self.progress:
            self.progress(self.done, len(self.sources), raw)

    def replace(self, k: int) -> None:
        """Kill worker k; the files queued behind the one it failed on go back to the front."""
        w = self.pool[k]
        w.queue.popleft()
        self.pending.extendleft(reversed(w.queue))
        self.reader._stop(w, kill=True)
        self.pool[k] = self.reader._start()

    def send_ahead(self, k: int, now: float) -> None:
        w = self.pool[k]
        while len(w.queue) < self.reader.QUEUE and self.pending:
            if w.queue and len(self.sources[self.pending[0]].data or b"") > self.reader.AHEAD_BYTES:
                break
            i = self.pending.popleft()
            try:
                w.conn.send((i, self.sources[i]))
            except OSError:  # the worker died on a file it was given: its recv in collect says which
                self.pending.appendleft(i)
                if not w.queue:  # died with nothing to read: just replace it
                    self.reader._stop(w, kill=True)
                    self.pool[k] = w = self.reader._start()
                    continue
                break
            if not w.queue:
                w.deadline = now + self.reader.timeout
            w.queue.append(i)

    def collect(self, k: int, ready: list) -> None:
        """Take worker k's result if it has one; a worker that died or ran out of time is replaced."""
        w = self.pool[k]
        if not w.queue:
            return
        i = w.queue[0]
        if w.conn in ready:
            try:
                with w.layouts.over():
                    index, raw = w.conn.recv()
            except (EOFError, OSError, pickle.UnpicklingError, ValueError, IndexError):  # it died, or sent what
                # cannot be read (a layout it never sent): as good as dead
                w.process.join(timeout=5)
                self.finish(i, _crashed(self.sources[i]))
                self.replace(k)
                return
            w.queue.popleft()
            w.deadline = time.monotonic() + self.reader.timeout
            raw.source = self.sources[index]
            self.finish(index, raw)
        elif time.monotonic() >= w.deadline:
            self.finish(i, RawReturn(self.sources[i]).fail("file_timeout", seconds=f"{self.reader.timeout:g}"))
            self.replace(k)


def _crashed(source: Source) -> RawReturn:
    """The finding for a file its worker died on: the cell far outside the form, when that is why."""
    far = diagnose_crash(source)
    if far:
        return RawReturn(source).fail("file_too_large", reason=far)
    return RawReturn(source).fail("file_crashed", reason="读取时占用内存超出限制或内容异常")
