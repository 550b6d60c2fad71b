"""Speed and memory of `consolidator check` and `summarize` at N = 100, 1,000 and 10,000 returns.

    python benchmarks/bench.py                       # N = 100 1000 10000
    python benchmarks/bench.py --n 100 1000 --workdir /tmp/bench

For each N it generates N returns from the templates (both categories, realistic values, about a
fifth with planted problems, some with enterprise lists of a few hundred rows), then measures on the
same files, in the same run:

1. the floor, as a whole process (start-up included): read every file's bytes and parse each of its XML
   parts (expat), nothing else; and the tight floor: only the parts the reader opens (the package parts it
   and its workbook reader read, and the sheets it asks for, recorded while it reads a return of each
   category: benchmarks/floor.py);
2. a naive baseline: openpyxl load plus one pandera validation per file (on a sample of the files
   when N is large: it is measured, then reported per file);
3. `consolidator check` (with its HTML report) and `consolidator summarize`, run as the office runs
   them, as separate processes; peak memory is the largest total PSS of the process and its workers,
   taken in runs of their own (sampling memory maps costs CPU the timed run should not lose), also --rounds of
   them, median with min and max.

Each figure is the median of --rounds (3) interleaved rounds, with min and max: floor, tight floor, check
and summarize run one after the other in every round. Then: the shared-enterprise case, the ledger's
incremental re-check, distribute for 1,000 parks, word and feedback for 1,000 returns.

The floor and consolidator use all cores; the naive baseline is one process, as naive code is.
The corpus is kept in --workdir and reused when it is already there.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
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
    _FORMS = load_forms()
    if _reusable(folder, n, lambda i, d: _make_listed((i, d, shared))):
        print(f"  reusing {n} returns in {folder}")
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
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
    `repeat`, against a full check of the same folder. Then summarize with the ledger (the readings taken from
    it, as in a workspace after a check) against summarize reading every file, interleaved."""
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
    # summarize as the office runs it in a workspace, after a check: the returns' readings come from the ledger;
    # against summarize reading every file (interleaved)
    warm, cold = [], []
    for _ in range(repeat):
        warm.append(run_timed([exe, "summarize", str(folder), "--out", str(out) + "_sum", "--ledger", str(book)]))
        cold.append(run_timed([exe, "summarize", str(folder), "--out", str(out) + "_sum"]))
    print(f"  summarize after the check, readings from the ledger: {_spread(warm)} s ({n / _med(warm):,.0f} returns/s); "
          f"reading every file: {_spread(cold)} s ({n / _med(cold):,.0f} returns/s)")


def other_commands_case(workdir: Path, exe: str, n: int, rounds: int) -> None:
    """distribute for n parks (the .eml files and personal workbooks), word and feedback (the .eml files and
    annotated copies) for the n returns of the corpus, each the median of `rounds` runs."""
    print(f"Other commands, N = {n}")
    roster = _roster(workdir / f"roster_{n}.csv", n, "测试{:05d}经济技术开发区", ("推动绿色安全发展类", "提高开放合作水平类"))
    outbox = workdir / f"outbox_{n}"
    dist = []
    for _ in range(rounds):
        shutil.rmtree(outbox, ignore_errors=True)
        dist.append(run_timed([exe, "distribute", "--roster", str(roster), "--out", str(outbox), "--from",
                               "gyc@example.gov.cn", "--office-name", "省工信厅"]))
    folder = workdir / f"returns_{n}"
    make_corpus(folder, n)
    word = [run_timed([exe, "word", str(folder), "--out", str(workdir / f"out_word_{n}"), "--no-pdf"])
            for _ in range(rounds)]
    # feedback to the parks of the corpus (every return has something to point out: an annotated copy each)
    parks = _roster(workdir / f"roster_returns_{n}.csv", n, "基准园区{:05d}", ("提高开放合作水平类", "推动绿色安全发展类"))
    back = workdir / f"feedback_{n}"
    feedback = []
    for _ in range(rounds):
        shutil.rmtree(back, ignore_errors=True)
        feedback.append(run_timed([exe, "feedback", str(folder), "--roster", str(parks), "--out", str(back), "--from",
                                   "gyc@example.gov.cn", "--office-name", "省工信厅"]))
    copies = len(list((back / "问题标注").glob("*.xlsx")))
    print(f"  distribute {_spread(dist)} s ({n / _med(dist):,.0f} parks/s); word (check + documents) {_spread(word)} s "
          f"({n / _med(word):,.0f} returns/s); feedback {_spread(feedback)} s ({n / _med(feedback):,.0f} returns/s, "
          f"{copies:,} annotated copies)")


def _reusable(folder: Path, n: int, make) -> bool:
    """A corpus made before is reused only when it has its n returns and its first two (one of each category)
    are what this code makes now, part for part (all but the time stamp of docProps/core.xml): a corpus made
    from an earlier template measures a workbook parks no longer fill."""
    files = sorted(folder.glob("*.xlsx")) if folder.exists() else []
    if len(files) != n:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(min(n, 2)):
            make(i, tmp)
            if _parts(Path(tmp) / files[i].name) != _parts(files[i]):
                print(f"  {folder} was made from an earlier template: made again")
                return False
    return True


def _parts(path: Path) -> dict[str, int]:
    if not path.exists():
        return {}
    with zipfile.ZipFile(path) as zf:
        return {i.filename: i.CRC for i in zf.infolist() if i.filename != "docProps/core.xml"}


def office_command(workdir: Path) -> Path:
    """The command as the office installs it: this checkout installed (editable, so that it is the code as it
    is now) into a virtual environment of its own in workdir, without the test dependencies. The development
    environment has them, and pandera's first validation loads hypothesis (with pytest and trio) wherever it is
    installed: some 0.35 s of CPU at every start that no office pays. Made again when pyproject.toml changes.

    The checkout's bytecode is compiled before every measurement: an office's install keeps its .pyc files,
    while a sandbox that sets PYTHONDONTWRITEBYTECODE would compile every module again at every start (some
    0.1-0.3 s of one core's time that no office pays). compileall compares each file's time stamp, so it
    compiles only what changed. The rules are then loaded once, so that the compiled rules' cache holds them, as
    it does for every run of an office but the first after the rules or the program changed (that run pays the
    compiling, 0.2-0.35 s of one core, once)."""
    venv, repo = workdir / "office-venv", Path(__file__).resolve().parent.parent
    stamp = hashlib.sha256((repo / "pyproject.toml").read_bytes()).hexdigest()
    scripts = venv / ("Scripts" if os.name == "nt" else "bin")
    command = scripts / ("consolidator.exe" if os.name == "nt" else "consolidator")
    made = venv / "stamp"
    if not command.exists() or not made.exists() or made.read_text(encoding="utf-8") != stamp:
        print(f"  installing the project into {venv} (as the office does: no test dependencies)")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(scripts / "python"), "-m", "pip", "install", "--quiet", "-e", str(repo)], check=True)
        made.write_text(stamp, encoding="utf-8")
    subprocess.run([str(scripts / "python"), "-m", "compileall", "-q", str(repo / "consolidator")], check=True)
    subprocess.run([str(scripts / "python"), "-c", "from consolidator.rules import load_forms; load_forms()"],
                   check=True)
    return command


def _roster(path: Path, n: int, name: str, categories: tuple[str, str]) -> Path:
    """A roster of n parks named name.format(i), of the two categories in turn."""
    import csv

    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["园区编号", "园区名称", "所在城市", "所在区县", "类别", "联系人", "电子邮箱"])
        for i in range(n):
            w.writerow([f"P{i:05d}", name.format(i), "江苏省苏州市", "工业园区", categories[i % 2], "王伟",
                        f"park{i}@example.gov.cn"])
    return path


def make_corpus(folder: Path, n: int) -> None:
    global _FORMS
    _FORMS = load_forms()
    if _reusable(folder, n, lambda i, d: _make((i, d))):
        print(f"  reusing {n} returns in {folder}")
        return
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    t = time.perf_counter()
    with mp.get_context("fork").Pool(CPUS) as pool:
        pool.map(_make, [(i, str(folder)) for i in range(n)], chunksize=20)
    print(f"  generated {n} returns in {time.perf_counter() - t:.0f} s")


# ---- 1. the floor --------------------------------------------------------------------------------------
def floor_process(folder: Path, sheets: list[str] | None) -> float:
    """The floor as a whole process (interpreter start-up included, as for the command): benchmarks/floor.py;
    tight when given the sheets the reader reads."""
    return run_timed([sys.executable, str(Path(__file__).with_name("floor.py")), str(folder)]
                     + (["--tight", *sheets] if sheets is not None else []))


def reader_sheets(folder: Path) -> list[str]:
    """The sheets the reader asks its workbook reader for, recorded while it reads the first return of each
    category in the folder (every return of a category comes from one template)."""
    from consolidator.read import workbook
    from consolidator.read.sources import discover
    from consolidator.read.workers import read_one

    forms, asked, seen = load_forms(), [], set()
    rows = workbook._Grid.rows

    def recorded(grid, sheet):
        if sheet not in asked:
            asked.append(sheet)
        return rows(grid, sheet)

    workbook._Grid.rows = recorded
    try:
        for source in discover(folder)[0]:
            seen.add(read_one(source, forms).category)
            if seen >= set(forms):
                break
    finally:
        workbook._Grid.rows = rows
    return asked



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
    ap.add_argument("--others", type=int, default=1000, help="parks and returns for distribute, word and feedback (0: skip)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds per N (median, min and max)")
    ap.add_argument("--command", type=Path, help="the consolidator command to measure (default: the office's install, "
                                                 "made in --workdir)")
    args = ap.parse_args()
    exe = str(args.command or office_command(args.workdir))
    print(f"Measuring {exe}")
    if args.shared:
        shared_case(args.workdir, exe, args.shared)
    if args.incremental:
        incremental_case(args.workdir, exe, args.incremental)
    if args.others:
        other_commands_case(args.workdir, exe, args.others, args.rounds)
    rows = []
    for n in args.n:
        print(f"N = {n}")
        rows.append(measure(args, exe, n))
    print()
    print(f"Machine: {CPUS} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; Python {sys.version.split()[0]}; "
          f"medians of {args.rounds} interleaved rounds (min–max)")
    print()
    print("| N | floor, whole process (s) | tight floor (s) | check + report (s) | check returns/s | check ÷ tight floor "
          "| check peak memory (MB) | KB a return beyond the smallest N | summarize (s) | summarize returns/s | summarize peak (MB) "
          "| naive (returns/s) | report opens (s) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    base = rows[0]
    for r in rows:  # memory a return: the growth from the smallest N, per return added
        r["per_return"] = (f"{(_med(r['mem_check']) - _med(base['mem_check'])) * 1024 / (r['n'] - base['n']):,.0f}"
                           if r is not base else "—")
    for r in rows:
        print(" | ".join([f"| {r['n']:,}", _spread(r["floor"]), _spread(r["tight"]), _spread(r["check"]),
                          f"{r['n'] / _med(r['check']):,.0f}", f"{_med(r['check']) / _med(r['tight']):.2f}",
                          _spread(r["mem_check"], 0), r["per_return"], _spread(r["summarize"]),
                          f"{r['n'] / _med(r['summarize']):,.0f}", _spread(r["mem_sum"], 0), f"{r['naive']:,.1f}",
                          "n/a" if r["opened"] is None else f"{r['opened']:.2f}"]) + " |")


def _med(xs: list[float]) -> float:
    import statistics

    return statistics.median(xs)


def _spread(xs: list[float], digits: int = 2) -> str:
    """The median (min–max)."""
    return f"{_med(xs):,.{digits}f} ({min(xs):,.{digits}f}–{max(xs):,.{digits}f})"


def measure(args, exe: str, n: int) -> dict:
    """Floor (whole process, all parts and only the needed ones), check and summarize, run interleaved in
    `rounds` rounds so that a slower moment of the machine falls on all of them; then the peak memory of each in
    `rounds` runs of its own (it varies by some 50 MB at 10,000 returns from run to run)."""
    folder = args.workdir / f"returns_{n}"
    make_corpus(folder, n)
    files = sorted(folder.glob("*.xlsx"))
    out = args.workdir / f"out_{n}"
    times: dict[str, list[float]] = {"floor": [], "tight": [], "check": [], "summarize": []}
    sheets = reader_sheets(folder)
    print(f"  the tight floor parses the sheets the reader reads: {'、'.join(sheets)}")
    for _ in range(args.rounds):
        times["floor"].append(floor_process(folder, None))
        times["tight"].append(floor_process(folder, sheets))
        shutil.rmtree(out, ignore_errors=True)
        times["check"].append(run_timed([exe, "check", str(folder), "--out", str(out)]))
        times["summarize"].append(run_timed([exe, "summarize", str(folder), "--out", str(out)]))
    mem_check = [run_peak_memory([exe, "check", str(folder), "--out", str(out)]) for _ in range(args.rounds)]
    mem_sum = [run_peak_memory([exe, "summarize", str(folder), "--out", str(out)]) for _ in range(args.rounds)]
    sample = files[: min(len(files), args.naive_sample)]
    t_naive = naive(sample) * len(files) / len(sample)
    opened = report_open_time(out / "report.html")
    print(f"  floor {_spread(times['floor'])} s, tight {_spread(times['tight'])} s, check {_spread(times['check'])} s "
          f"({_spread(mem_check, 0)} MB), summarize {_spread(times['summarize'])} s ({_spread(mem_sum, 0)} MB)")
    return {"n": n, **times, "mem_check": mem_check, "mem_sum": mem_sum,
            "naive": n / t_naive, "opened": opened}


if __name__ == "__main__":
    main()
