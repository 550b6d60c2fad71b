"""The ledger: incremental re-checks give the findings of a full check, every change is a transaction (a
killed run leaves it as before), two commands at once wait or refuse in Chinese, migrations back up first,
and the send log and reminders live in it."""

import datetime as dt
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from consolidator import ledger as ledger_mod
from consolidator.ledger import Ledger, LedgerError
from consolidator.pipeline import run_check

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"


def findings_of(result):
    return sorted((f.code, f.file, f.park, f.sheet, f.cell, f.field, str(f.value), f.severity, f.message)
                  for f in result.findings)


@pytest.fixture
def returns(tmp_path):
    folder = tmp_path / "报送文件"
    shutil.copytree(SAMPLES / "returns", folder)
    return folder


def _touch_bytes(path: Path, comment: bytes) -> None:
    """New bytes, same content: the archive comment of an .xlsx."""
    with zipfile.ZipFile(path, "a") as z:
        z.comment = comment


def test_a_recheck_reads_only_what_changed_and_finds_the_same(returns, tmp_path, forms):
    from consolidator.read.roster import read_roster

    parks = read_roster(SAMPLES / "roster.csv", forms, mail=False)
    with Ledger.open(tmp_path / "台账.sqlite") as book:
        read = []
        first = run_check(returns, forms, parks, progress=lambda n, t, raw: read.append(raw.source.display),
                          ledger=book)
        assert len(read) == len(first.returns)
        changed = next(p for p in sorted(returns.glob("*.xlsx")) if not p.name.startswith("~$"))
        _touch_bytes(changed, b"changed")
        read.clear()
        again = run_check(returns, forms, parks, progress=lambda n, t, raw: read.append(raw.source.display),
                          ledger=book)
        members = [r.file for r in again.returns if "!" in r.file]  # archive members are always read
        assert sorted(read) == sorted([changed.name, *members])
    full = run_check(returns, forms, parks)
    assert findings_of(again) == findings_of(full) == findings_of(first)
    assert [r.status for r in again.returns] == [r.status for r in full.returns]
    # a reading from the ledger joins the batch's table of list texts as if read now: the same list frame
    assert again.lists.dtypes.to_dict() == full.lists.dtypes.to_dict()
    assert "category" in {d.name for d in full.lists.dtypes}
    assert again.lists.astype(object).equals(full.lists.astype(object))


def test_readings_are_unpickled_without_the_cyclic_collector(returns, tmp_path, forms, monkeypatch):
    """It would walk the readings unpickled so far again and again (10,000 in a re-check: 1.6-3.3 s with it,
    1.0-1.7 s without); it runs again once they are frozen."""
    import gc

    seen = []
    loads = ledger_mod.pickle.loads

    def watched(blob):
        seen.append(gc.isenabled())
        return loads(blob)

    with Ledger.open(tmp_path / "台账.sqlite") as book:
        run_check(returns, forms, ledger=book)
        monkeypatch.setattr(ledger_mod.pickle, "loads", watched)
        assert gc.isenabled()
        run_check(returns, forms, ledger=book)
    assert seen and not any(seen)
    assert gc.isenabled()


def test_a_reading_that_no_longer_loads_is_read_again(returns, tmp_path, forms):
    """A cached reading holds pyarrow's arrays: one that this program cannot unpickle (a library changed
    under it) is read again, not a crash; pyarrow's version is part of the program's version."""
    from importlib.metadata import version

    with Ledger.open(tmp_path / "台账.sqlite") as book:
        read_first, read = [], []
        first = run_check(returns, forms, progress=lambda n, t, raw: read_first.append(raw), ledger=book)
        with book.conn:
            book.conn.execute("UPDATE readings SET raw = ?", (b"not a pickle",))
        again = run_check(returns, forms, progress=lambda n, t, raw: read.append(raw), ledger=book)
    assert len(read) == len(read_first) > 0 and findings_of(again) == findings_of(first)
    ledger_mod._PROGRAM.clear()
    try:
        before = ledger_mod.program_version()
        ledger_mod._PROGRAM.clear()
        real = version
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("importlib.metadata.version", lambda name: "0.0" if name == "pyarrow" else real(name))
            assert ledger_mod.program_version() != before
    finally:
        ledger_mod._PROGRAM.clear()


def test_a_rules_change_reads_everything_again(returns, tmp_path, rules_copy):
    from consolidator.rules import load_forms

    with Ledger.open(tmp_path / "台账.sqlite") as book:
        run_check(returns, load_forms(rules_copy), ledger=book)
        common = rules_copy / "common.yaml"
        common.write_text(common.read_text(encoding="utf-8").replace("经验总结材料", "经验总结材料 "), encoding="utf-8")
        read = []
        result = run_check(returns, load_forms(rules_copy), ledger=book, progress=lambda n, t, raw: read.append(1))
        attached = sum(f.code == "park_attachment" for f in result.skipped)  # read, then found to be a scan
        assert len(read) == len(result.returns) + attached


def test_the_ledger_records_parks_files_and_findings(returns, tmp_path, capsys):
    from consolidator.cli import main

    with pytest.raises(SystemExit):
        main(["check", str(returns), "--roster", str(SAMPLES / "roster.csv"), "--ledger", str(tmp_path / "l.sqlite"),
              "--out", str(tmp_path / "out")])
    c = sqlite3.connect(tmp_path / "l.sqlite")
    assert c.execute("SELECT COUNT(*) FROM parks").fetchone()[0] == 14
    received = c.execute("SELECT name, origin, park, status, sha256 FROM received").fetchall()
    assert {r[1] for r in received} == {"folder"} and all(len(r[4]) == 64 for r in received)
    assert any(r[3] == "有错误" for r in received)
    (n,) = c.execute("SELECT COUNT(*) FROM checks").fetchone()
    assert n == len(received)
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _many_returns(folder: Path, copies: int) -> None:
    for k in range(copies):
        sub = folder / f"批次{k:02d}"
        sub.mkdir(parents=True)
        for p in (SAMPLES / "returns").glob("*.xlsx"):
            shutil.copy(p, sub / p.name)


def test_a_killed_check_leaves_the_ledger_as_before(tmp_path):
    """Killed at any moment, the ledger holds all of a run or none of it, and stays a sound database."""
    folder = tmp_path / "报送文件"
    _many_returns(folder, 12)
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    outcomes = set()
    for k, delay in enumerate((0.4, 0.8, 1.2, 1.6, 2.0, 2.6)):
        book = tmp_path / f"l{k}.sqlite"
        proc = subprocess.Popen([sys.executable, "-m", "consolidator.cli", "check", str(folder), "--ledger", str(book),
                                 "--out", str(tmp_path / f"out{k}")], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if not book.exists():
            outcomes.add("none")
            continue
        c = sqlite3.connect(book)
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "checks" not in tables:
            outcomes.add("none")
            continue
        checks = c.execute("SELECT COUNT(*) FROM checks").fetchone()[0]
        received = c.execute("SELECT COUNT(*), COUNT(DISTINCT sha256) FROM received").fetchone()
        readings = c.execute("SELECT COUNT(*) FROM readings").fetchone()[0]
        assert (checks, received, readings) == (0, (0, 0), 0) or (
            received[0] == 12 * 13 and checks == received[1] and readings), (delay, checks, received, readings)
        outcomes.add("all" if checks else "none")
        c.close()
    assert "none" in outcomes  # at least one kill came before the commit


def test_two_commands_at_once_wait_then_refuse_in_chinese(tmp_path, monkeypatch):
    path = tmp_path / "台账.sqlite"
    Ledger.open(path).close()
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(ledger_mod, "BUSY_SECONDS", 0.3)
    with Ledger.open(path) as book:
        book.conn.execute("PRAGMA busy_timeout = 300")
        with pytest.raises(LedgerError, match="正被另一个命令使用"):
            book.sync_parks([])
        threading.Timer(0.1, lambda: holder.execute("COMMIT")).start()
        book.conn.execute("PRAGMA busy_timeout = 5000")
        book.sync_parks([])  # waits for the other one, then goes on


def test_a_migration_backs_up_first(tmp_path, monkeypatch):
    path = tmp_path / "台账.sqlite"
    with Ledger.open(path) as book:
        book.record_sent_many([dict(key="k", kind="distribute", round_="", park_id="P1", park="园区",
                                    recipient="a@b.cn", subject="s", message_id="<m>", file_sha256=None,
                                    channel="smtp")])
    monkeypatch.setattr(ledger_mod, "MIGRATIONS", (*ledger_mod.MIGRATIONS, "ALTER TABLE sent ADD COLUMN note TEXT"))
    monkeypatch.setattr(ledger_mod, "VERSION", len(ledger_mod.MIGRATIONS))
    with Ledger.open(path) as book:
        assert book.version() == 2
        assert book.sent_keys() == {"k"}
    backups = list(tmp_path.glob("台账.sqlite.v1-*.bak"))
    assert len(backups) == 1
    assert sqlite3.connect(backups[0]).execute("PRAGMA user_version").fetchone()[0] == 1


def test_a_ledger_from_a_newer_program_or_damaged_is_refused(tmp_path):
    path = tmp_path / "新.sqlite"
    sqlite3.connect(path).execute("PRAGMA user_version = 99")
    with pytest.raises(LedgerError, match="较新版本"):
        Ledger.open(path)
    bad = tmp_path / "坏.sqlite"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(LedgerError, match="已损坏"):
        Ledger.open(bad)


def test_reminders_wait_after_distribution_and_between_reminders(forms):
    from consolidator.mail.plan import _not_yet
    from consolidator.read.roster import Park

    park = Park("P1", "苏州工业园区", "苏州", "工业园区", "green_safety", "王", "w@x.cn", 2)
    today = dt.date(2026, 12, 10)
    opts = dict(today=today, remind_after=7, remind_every=3)
    assert "未满 7 天" in _not_yet(park, {**opts, "last_sent": {("P1", "distribute"): "2026-12-05T09:00:00"}})
    assert _not_yet(park, {**opts, "last_sent": {("P1", "distribute"): "2026-12-01T09:00:00"}}) == ""
    recent = {("P1", "distribute"): "2026-12-01T09:00:00", ("P1", "reminder"): "2026-12-09T09:00:00"}
    assert "已提醒过" in _not_yet(park, {**opts, "last_sent": recent})
    assert _not_yet(park, {**opts, "last_sent": {}}) == ""  # nothing recorded: as before the ledger


def test_the_send_log_is_exported_for_excel(tmp_path, capsys):
    from consolidator.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["distribute", "--roster", str(SAMPLES / "roster.csv"), "--out", str(tmp_path / "o"),
              "--from", "gyc@example.gov.cn", "--office-name", "省工信厅"])
    assert exc.value.code == 0
    log = (tmp_path / "o" / "发送记录.csv").read_text(encoding="utf-8-sig").splitlines()
    assert log[0].startswith("编号,类型,园区编号,园区") and len(log) == 15
    assert "填报通知" in log[1] and "已写出 .eml" in log[1]
    with Ledger.open(tmp_path / "o" / "台账.sqlite") as book:
        assert book.last_sent()[("JS001", "distribute")]


def test_status_sorts_the_round_by_what_needs_doing(tmp_path, capsys):
    from consolidator.cli import main

    book = tmp_path / "台账.sqlite"
    roster = str(SAMPLES / "roster.csv")
    for args in (["distribute", "--roster", roster, "--out", str(tmp_path / "o"), "--from", "gyc@example.gov.cn",
                  "--office-name", "省工信厅"],
                 ["check", str(SAMPLES / "returns"), "--roster", roster, "--out", str(tmp_path / "r")],
                 ["status", "--out", str(tmp_path / "s")]):
        with pytest.raises(SystemExit) as exc:
            main([*args, "--ledger", str(book)])
        assert exc.value.code in (0, 1), capsys.readouterr()
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("JS")]
    assert len(lines) == 14
    assert "未报送" in lines[0] and "催报" in lines[0]  # distributed, nothing back: chase first
    assert "无需处理" in lines[-1]
    table = (tmp_path / "s" / "进度表.csv").read_text(encoding="utf-8-sig").splitlines()
    assert table[0].startswith("园区编号,园区,所在城市,分发") and len(table) == 15
    assert (tmp_path / "s" / "进度表.xlsx").is_file()
