"""Speed and memory of `consolidator check` and `summarize` at N = 100, 1,000 and 10,000 returns.

    python benchmarks/bench.py                       # N = 100 1000 10000
    python benchmarks/bench.py --n 100 1000 --workdir /tmp/bench

For each N it generates N returns from the templates (both categories, realistic values, about a
fifth with planted problems, some with enterprise lists of a few hundred rows), then measures on the
same files, in the same run:

1. the floor: read every file's bytes and parse each of its XML parts (expat), nothing else;
2. a naive baseline: openpyxl load plus one pandera validation per file (on a sample of the files
   when N is large: it is measured, then reported per file);
3. `consolidator check` (with its HTML report) and `consolidator summarize`, run as the office runs
   them, as separate processes; peak memory is the largest total PSS of the process and its workers,
   taken in a run of its own (sampling memory maps costs CPU the timed run should not lose).

Times are the best of three runs for the floor, and for check at N <= 1,000 (one run at 10,000).

The floor and consolidator use all cores; the naive baseline is one process, as naive code is.
The corpus is kept in --workdir and reused when it is already there.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import os
import random
import shutil
import subprocess
import sys
import time
import warnings
import xml.parsers.expat
import zipfile
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from consolidator.rules import load_forms  # noqa: E402
from consolidator.samples import clean_return, credit_code  # noqa: E402
from consolidator.write.template import filled_workbook_bytes  # noqa: E402

CPUS = os.cpu_count() or 1


# ---- the corpus --------------------------------------------------------------------------------------
def _plant(values: dict, rng: random.Random) -> None:
    kind = rng.randrange(5)
    if kind == 0:
        values["lead_revenue_2025"] = values["revenue_2025"] * 1.2
    elif kind == 1:
        values["revenue_2024"] = f"{values['revenue_2024']:,.2f}"  # text with separators
        values["profit_2023"] = values["revenue_2023"] * 0.5
    elif kind == 2:
        values["developed_area_total"] = values["managed_area"] * 1.1
    elif kind == 3:
        values["listed_count"] = values["listed_count"] + 2
        values["contact_email"] = "wrong-address"
    else:
        values["declaration_accepted"] = "否"
        values["county"] = None


def _make(args) -> None:
    i, folder = args
    forms = _FORMS
    rng = random.Random(i)
    form = forms["green_safety" if i % 2 else "open_cooperation"]
    s = clean_return(form, rng, park_name=f"基准园区{i:05d}")
    if rng.random() < 0.15:  # a large park: a list of a few hundred enterprises
        extra = rng.randint(100, 400)
        label = form.enterprise_list.category("hitech").label
        for k in range(extra):
            s.enterprises.append({"category": label, "name": f"基准园区{i:05d}第{k}号高新技术有限公司",
                                  "credit_code": credit_code(rng), "industry": "C39"})
        s.values["hitech_count"] += extra
        s.values["total_enterprises"] += extra
    if rng.random() < 0.2:
        _plant(s.values, rng)
    (Path(folder) / f"{i:05d}_基准园区.xlsx").write_bytes(filled_workbook_bytes(form, s.values, s.enterprises))


_FORMS = None


def _make_listed(args) -> None:
    """One green_safety return of the shared-enterprise case: its own list, or the one list all share."""
    i, folder, shared = args
    form = _FORMS["green_safety"]
    s = clean_return(form, random.Random(i), park_name=f"共享园区{i:05d}")
    if shared:
        common = clean_return(form, random.Random(0)).enterprises  # every park lists the same enterprises
        s.enterprises = [dict(e) for e in common]
        for c in form.enterprise_list.categories:
            s.values[c.count_field] = sum(e["category"] == c.label for e in common)
    (Path(folder) / f"{i:05d}_园区.xlsx").write_bytes(filled_workbook_bytes(form, s.values, s.enterprises))


def make_listed_corpus(folder: Path, n: int, shared: bool) -> None:
    global _FORMS
    if folder.exists() and len(list(folder.glob("*.xlsx"))) == n:
        print(f"  reusing {n} returns in {folder}")
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    _FORMS = load_forms()
    with mp.get_context("fork").Pool(CPUS) as pool:
        pool.map(_make_listed, [(i, str(folder), shared) for i in range(n)], chunksize=20)


def shared_case(workdir: Path, exe: str, n: int) -> None:
    """n returns that all list the same enterprises against n returns with lists of their own: output must
    grow linearly (before, each finding named every other park: 1,000 returns took 3.5 GB)."""
    print(f"Shared enterprises, N = {n}")
    for shared in (False, True):
        folder = workdir / f"listed_{n}_{'shared' if shared else 'own'}"
        make_listed_corpus(folder, n, shared)
        out = workdir / f"out_listed_{n}_{'shared' if shared else 'own'}"
        shutil.rmtree(out, ignore_errors=True)
        t, mem = run_measured([exe, "check", str(folder), "--out", str(out)])
        size = sum(p.stat().st_size for p in out.iterdir()) / 2**20
        print(f"  {'one shared list' if shared else 'own lists'}: check {t:.1f} s, {mem:.0f} MB, outputs {size:.0f} MB")


def incremental_case(workdir: Path, exe: str, n: int, repeat: int = 3) -> None:
    """The ledger's re-check: n returns checked once with a ledger, then one of them changed (new bytes, same
    content) and checked again; the re-check's time beyond start-up (`consolidator --version`), median of
    `repeat`, against a full check of the same folder."""
    import statistics
    import zipfile

    print(f"Incremental re-check, N = {n}")
    source = workdir / f"returns_{n}"
    make_corpus(source, n)
    folder, book, out = workdir / f"incremental_{n}", workdir / f"incremental_{n}.sqlite", workdir / f"out_incr_{n}"
    shutil.rmtree(folder, ignore_errors=True)
    book.unlink(missing_ok=True)
    shutil.copytree(source, folder)
    first = run_timed([exe, "check", str(folder), "--out", str(out), "--ledger", str(book)])
    start = statistics.median(run_timed([exe, "--version"]) for _ in range(repeat))
    target = sorted(folder.glob("*.xlsx"))[n // 2]
    again = []
    for k in range(repeat):
        with zipfile.ZipFile(target, "a") as z:
            z.comment = f"changed {k}".encode()
        again.append(run_timed([exe, "check", str(folder), "--out", str(out), "--ledger", str(book)]))
    full = run_timed([exe, "check", str(folder), "--out", str(out)])
    med = statistics.median(again)
    print(f"  first check with the ledger {first:.2f} s; full check without it {full:.2f} s; start-up {start:.2f} s")
    print(f"  re-check after one file changed: median {med:.2f} s (min {min(again):.2f}, max {max(again):.2f}), "
          f"{med - start:.2f} s beyond start-up")


def make_corpus(folder: Path, n: int) -> None:
    global _FORMS
    have = len(list(folder.glob("*.xlsx"))) if folder.exists() else 0
    if have == n:
        print(f"  reusing {n} returns in {folder}")
        return
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    _FORMS = load_forms()
    t = time.perf_counter()
    with mp.get_context("fork").Pool(CPUS) as pool:
        pool.map(_make, [(i, str(folder)) for i in range(n)], chunksize=20)
    print(f"  generated {n} returns in {time.perf_counter() - t:.0f} s")


# ---- 1. the floor --------------------------------------------------------------------------------------
def _floor_one(path: str) -> int:
    data = Path(path).read_bytes()
    parts = 0
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            if info.filename.endswith((".xml", ".rels")):
                parser = xml.parsers.expat.ParserCreate()
                parser.Parse(zf.read(info), True)
                parts += 1
    return parts


def floor(files: list[Path]) -> float:
    t = time.perf_counter()
    with mp.get_context("fork").Pool(CPUS) as pool:
        pool.map(_floor_one, [str(f) for f in files], chunksize=50)
    return time.perf_counter() - t


# ---- 2. the naive baseline -----------------------------------------------------------------------------
def naive(files: list[Path]) -> float:
    """openpyxl load plus one pandera validation per file: how one would write it without thinking of scale."""
    import openpyxl
    import pandas as pd

    from consolidator.check.schema import form_schema, with_recomputed

    forms = load_forms()
    t = time.perf_counter()
    for path in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(path, data_only=True)
        meta = {r[0].value: r[1].value for r in wb["_meta"].iter_rows()}
        form = forms[meta["category"]]
        row = {}
        for fid, f in form.fields.items():
            (sheet, coord), = wb.defined_names[f"fld_{fid}"].destinations
            v = wb[sheet][coord.replace("$", "")].value
            if f.is_numeric:
                try:
                    v = float(str(v).replace(",", "")) if v is not None else float("nan")
                except ValueError:
                    v = float("nan")
            row[fid] = v
        frame = with_recomputed(form, pd.DataFrame([row]))
        try:
            form_schema(form).schema.validate(frame, lazy=True)
        except Exception:
            pass
    return time.perf_counter() - t


# ---- 3. consolidator ---------------------------------------------------------------------------------
def _memory(p: psutil.Process) -> int:
    """PSS where the system has it (Linux): pages shared by the forked workers are counted once;
    otherwise RSS, which counts them in every process."""
    try:
        return p.memory_full_info().pss
    except (AttributeError, psutil.Error):
        return p.memory_info().rss


def run_timed(cmd: list[str]) -> float:
    """Wall time of a command, nothing else running beside it."""
    t = time.perf_counter()
    code = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed with {code}")
    return time.perf_counter() - t


def run_peak_memory(cmd: list[str]) -> float:
    """Peak total memory (MB, PSS on Linux) of a command and all its children. A run of its own:
    reading the memory maps of three processes several times a second takes CPU from them."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            total = _memory(ps) + sum(_memory(c) for c in ps.children(recursive=True))
            peak = max(peak, total)
        except psutil.Error:
            pass
        time.sleep(0.1)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed with {proc.returncode}")
    return peak / 2**20


def run_measured(cmd: list[str], repeat: int = 1) -> tuple[float, float]:
    """Best wall time of `repeat` plain runs, then the peak memory of one more."""
    return min(run_timed(cmd) for _ in range(repeat)), run_peak_memory(cmd)


def report_open_time(report: Path) -> float | None:
    """Seconds until headless Chromium has loaded the report and shown its first page of parks."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        return None
    try:
        from selenium import webdriver
        from selenium.webdriver.common.by import By
    except ImportError:
        return None
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    profile = Path(f"/tmp/bench-chromium-{os.getpid()}")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    d = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=driver))
    try:
        d.get("about:blank")
        t = time.perf_counter()
        d.get(report.as_uri())
        d.find_elements(By.CSS_SELECTOR, "#parks .park")
        return time.perf_counter() - t
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/consolidator-bench"))
    ap.add_argument("--naive-sample", type=int, default=300, help="files timed for the naive baseline")
    ap.add_argument("--shared", type=int, default=5000, help="returns of the shared-enterprise case (0: skip it)")
    ap.add_argument("--incremental", type=int, default=1000, help="returns of the ledger's re-check case (0: skip it)")
    args = ap.parse_args()
    # the command installed beside this interpreter (a version manager's shim would add its own start-up)
    here = Path(sys.executable).with_name("consolidator")
    exe = str(here) if here.exists() else shutil.which("consolidator") or sys.exit("install the project first: pip install -e .")
    if args.shared:
        shared_case(args.workdir, exe, args.shared)
    if args.incremental:
        incremental_case(args.workdir, exe, args.incremental)
    rows = []
    for n in args.n:
        print(f"N = {n}")
        folder = args.workdir / f"returns_{n}"
        make_corpus(folder, n)
        files = sorted(folder.glob("*.xlsx"))
        t_floor = min(floor(files) for _ in range(3))
        sample = files[: min(len(files), args.naive_sample)]
        t_naive = naive(sample) * len(files) / len(sample)
        out = args.workdir / f"out_{n}"
        shutil.rmtree(out, ignore_errors=True)
        t_check, mem_check = run_measured([exe, "check", str(folder), "--out", str(out)], repeat=3 if n <= 1000 else 1)
        t_sum, mem_sum = run_measured([exe, "summarize", str(folder), "--out", str(out)])
        opened = report_open_time(out / "report.html")
        rows.append((n, n / t_floor, n / t_naive, n / t_check, t_check / t_floor, t_naive / t_check, mem_check,
                     n / t_sum, mem_sum, opened))
        print(f"  floor {t_floor:.1f} s, naive {t_naive:.1f} s{' (extrapolated)' if len(sample) < n else ''}, "
              f"check {t_check:.1f} s ({mem_check:.0f} MB), summarize {t_sum:.1f} s ({mem_sum:.0f} MB), "
              f"report opens in {opened if opened is None else round(opened, 2)} s")
    print()
    print(f"Machine: {CPUS} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; Python {sys.version.split()[0]}")
    print()
    print("| N | floor (returns/s) | naive (returns/s) | check + report (returns/s) | check ÷ floor (time) "
          "| × faster than naive | check peak memory (MB) | summarize (returns/s) | summarize peak memory (MB) "
          "| report opens in Chromium (s) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n, fl, nv, ck, ratio, speed, mem, sm, smem, op in rows:
        print(f"| {n:,} | {fl:,.0f} | {nv:,.1f} | {ck:,.0f} | {ratio:.2f} | {speed:,.0f} | {mem:,.0f} | {sm:,.0f} "
              f"| {smem:,.0f} | {'n/a' if op is None else f'{op:.2f}'} |")


if __name__ == "__main__":
    main()
