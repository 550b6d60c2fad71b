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

from .cores import map_on_cores
from .ledger import Ledger, program_version, rules_fingerprint, sha256_of
from .read.roster import Park
from .read.sources import discover
from .read.workers import DEFAULT_TIMEOUT, IsolatedReader
from .returns import RawReturn
from .rules import Form, share_forms

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
        # what was built inside lives on (the batch): moved out of the collector's sight before it runs
        # again, so that no collection walks it (0.07 s at 1,000 returns, 0.33 s at 10,000)
        gc.freeze()
        if was:
            gc.enable()


def run_check(returns_dir: Path, forms: dict[str, Form], roster: list[Park] | None = None,
              progress: Progress | None = None, *, workers: int | None = None,
              timeout: float = DEFAULT_TIMEOUT, preload: tuple[str, ...] = (), release: bool = False,
              ledger: Ledger | None = None) -> BatchResult:
    """Read every file of the folder in isolated workers, then check them as one batch.
    `preload`: modules the caller needs next (the report, the summary), imported while reading.
    `release`: drop the cells and list rows as read once checked (RawReturn.release), for a caller
    that needs only the findings, the values and the list frame: the summary of a national round.
    `ledger`: files read before (same bytes, name, rules and program) are taken from it instead of
    being read again, and the readings, findings and files of this run are recorded in one transaction."""
    sources, skipped = discover(Path(returns_dir))
    sources, named = _named_attachments(sources, roster, forms)
    skipped += named
    rules_dir = next(iter(forms.values())).rules_dir
    keys: list = [None] * len(sources)
    cached: dict = {}
    if ledger is not None:
        keys, rules, program = file_keys(sources), rules_fingerprint(forms), program_version()
        # unpickled without the cyclic collector, which would walk the readings unpickled so far again and again
        # (10,000 readings in a re-check: 1.6-3.3 s with it, 1.0-1.7 s without); they live as long as the batch
        with gc_paused():
            cached = ledger.readings([k for k in keys if k], rules, program)
    todo = [i for i, k in enumerate(keys) if k is None or k not in cached]
    loader = threading.Thread(target=_preload, args=(forms, preload), daemon=True)
    reader = IsolatedReader(forms, rules_dir, workers=workers, timeout=timeout, meanwhile=loader)
    with gc_paused():
        fresh = reader.read_all([sources[i] for i in todo], progress)
        raws: list[RawReturn] = [None] * len(sources)  # type: ignore[list-item]
        for i, raw in zip(todo, fresh):
            raws[i] = raw
        for i, key in enumerate(keys):
            if raws[i] is None:
                raws[i] = cached[key].share(reader.shared)  # its list's texts in the batch's table, as if read now
                raws[i].source = sources[i]  # the same bytes under the same name: only the time may differ
        # pickled before the check, which adds the recomputed values to each return's own
        readings = [(keys[i], Ledger.pickled(raws[i])) for i in todo if keys[i] is not None] if ledger else []
        if loader.ident is not None:
            loader.join()
        from .check.batch import check_batch
        from .check.parks import split_attachments

        returns, attachments = split_attachments(raws, roster, forms)
        gc.freeze()  # the batch read, out of the collector's sight: check_batch collects only what it makes
        result = check_batch(returns, forms, roster, skipped + attachments)
        if attachments:  # the keys of the files checked, in their order
            kept = {id(r) for r in returns}
            keys = [k for k, raw in zip(keys, raws) if id(raw) in kept]
    if ledger is not None:
        record_check(ledger, result, keys, readings, rules, program)
    if release:
        for raw in raws:
            raw.release()
    return result


def _named_attachments(sources: list, roster: list[Park] | None, forms: dict[str, Form]):
    """Scans, photos and documents whose name (or folder) names a roster park are its attachments: listed,
    never read as returns."""
    from .check.parks import attachment_finding, is_attachment_like, longest_first, named_park

    if not roster:
        return sources, []
    keep, found = [], []
    names = longest_first(roster)
    for s in sources:
        park = named_park(s.display, names) if is_attachment_like(s.display) else None
        if park is None:
            keep.append(s)
        else:
            found.append(attachment_finding(s.display, park, forms))
    return keep, found


def file_keys(sources: list) -> list[tuple[str, str] | None]:
    """(sha256 of the bytes, name as shown) of every plain file; None for what the ledger does not keep
    (members of archives, which only a worker expands, and files found unusable before reading)."""
    keys: list[tuple[str, str] | None] = []
    for s in sources:
        if s.entry is not None or s.data is not None or s.problem is not None:
            keys.append(None)
            continue
        try:
            keys.append((sha256_of(s.path.read_bytes()), s.display))
        except OSError:  # the worker will say why
            keys.append(None)
    return keys


def record_check(ledger: Ledger, result: BatchResult, keys: list, readings: list, rules: str, program: str) -> None:
    """The readings, findings and received files of one check, in one transaction."""
    checks, received = [], []
    for ret, key in zip(result.returns, keys):
        if key is None:
            continue
        park_id = ret.park.park_id if ret.park else ret.raw.park_id
        checks.append((key[0], park_id, ret.park_name, ret.status, ret.findings))
        received.append(dict(sha256=key[0], size=ret.raw.source.path.stat().st_size, name=key[1], origin="folder",
                             path=str(ret.raw.source.path), received_at=ret.raw.source.mtime.isoformat(timespec="seconds"),
                             park_id=park_id, park=ret.park_name, category=ret.form.category_id if ret.form else None,
                             fill_date=ret.fill_date.isoformat() if ret.fill_date else None, status=ret.status,
                             kind="return"))
    with ledger.transaction() as c:
        ledger.store_readings(c, readings, rules, program)
        ledger.store_checks(c, checks, rules, program)
        ledger.record_received_in(c, received)


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


# ---- the official Word form of each return --------------------------------------------------------
def _word_one(job: tuple) -> bytes:
    """One document, in a worker process."""
    from .rules import form_in
    from .write.word import form_document

    rules_dir, category, values, rows, blind, number, show_region = job
    return form_document(form_in(rules_dir, category), values, blind=blind, number=number, enterprises=rows,
                         show_region=show_region)


def word_documents(result: BatchResult, rets: list, *, blind: bool = False,
                   numbers: dict[int, str] | None = None, show_region: bool = False) -> list[tuple[str, bytes]]:
    """(file name, .docx) of the official form of each return, made on all cores. The list rows come from the
    batch's list frame (the returns' own may have been released). Blind: named by review number, redacted (the
    region too unless show_region)."""
    from .write.word import docx_name

    index = {id(r): i for i, r in enumerate(result.returns)}
    rows = _list_rows(result)
    jobs, names = [], []
    for ret in rets:
        number = (numbers or {}).get(id(ret), "")
        jobs.append((ret.form.rules_dir, ret.form.category_id, dict(ret.values), rows.get(index[id(ret)], []), blind,
                     number, show_region))
        names.append(f"{number}-经验总结材料（{ret.form.category_name}）.docx" if blind
                     else docx_name(ret.park_name or Path(ret.file).stem, ret.form))
    share_forms(r.form for r in rets)
    docs = map_on_cores(_word_one, jobs, least=20, chunk=10)
    return _unique(list(zip(names, docs)))


def _list_rows(result: BatchResult) -> dict[int, list[dict]]:
    frame = result.lists
    if frame is None or not len(frame):
        return {}
    import pandas as pd  # (loaded by now: the batch is checked)
    import pyarrow

    cols = [c for c in frame.columns if c not in ("ret", "row")]
    # each column as an array once (an Arrow column as it is, a Categorical's texts as objects), a return's rows
    # taken from it as Python objects (pandas per group: twice the time)
    arrays = [pyarrow.array(frame[c].array) if isinstance(frame[c].dtype, pd.ArrowDtype)
              else frame[c].to_numpy(dtype=object) for c in cols]
    out: dict[int, list[dict]] = {}
    for ret, at in frame.groupby("ret", sort=False).indices.items():
        start, n = int(at[0]), len(at)  # a return's rows follow each other (check.lists.list_frame)
        picked = [a.slice(start, n).to_pylist() if isinstance(a, (pyarrow.Array, pyarrow.ChunkedArray))
                  else a[start:start + n].tolist() for a in arrays]
        out[int(ret)] = [dict(zip(cols, row)) for row in zip(*picked)]
    return out


def _unique(items: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Two parks of the same name (not in the roster) would write one file: the second gets a number."""
    seen: dict[str, int] = {}
    out = []
    for name, data in items:
        k = seen.get(name, 0)
        seen[name] = k + 1
        out.append((name if not k else f"{Path(name).stem}_{k + 1}{Path(name).suffix}", data))
    return out


def to_pdf(docs: list[tuple[str, bytes]], soffice: str, timeout: float = 600) -> list[tuple[str, bytes]]:
    """The documents converted by LibreOffice in one run (its own throwaway profile, so that a LibreOffice
    the office has open is not disturbed); a document it cannot convert is left out."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="consolidator-pdf-") as tmp:
        folder = Path(tmp)
        for k, (_, data) in enumerate(docs):
            (folder / f"{k:05d}.docx").write_bytes(data)
        subprocess.run([soffice, f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless",
                        "--convert-to", "pdf", "--outdir", str(folder / "pdf"),
                        *sorted(str(p) for p in folder.glob("*.docx"))],
                       capture_output=True, timeout=timeout, check=False)
        out = []
        for k, (name, _) in enumerate(docs):
            pdf = folder / "pdf" / f"{k:05d}.pdf"
            if pdf.exists():
                out.append((str(Path(name).with_suffix(".pdf")), pdf.read_bytes()))
        return out
