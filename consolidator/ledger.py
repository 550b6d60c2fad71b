"""The round's memory: one SQLite database in the workspace (台账.sqlite).

It records the roster's parks, every message sent (distribution, feedback, reminder), every file received
(from a folder or the mailbox: its sha256, name, origin, sender, park, status), the messages of the mailbox
already looked at, and each checked file's reading and findings keyed by (file sha256, rules fingerprint,
program version), so that a re-check reads only what changed.

Every change is a transaction (`with ledger.transaction():`): a run that is killed leaves the ledger as it
was before the run. Two commands at once wait for each other (up to BUSY_SECONDS), then the second is
refused with a Chinese message. The schema is versioned; before a migration the database is copied beside
itself. Standard library only (sqlite3, WAL journal).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import pickle
import sqlite3
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterable, Iterator

from .findings import Finding
from .returns import RawReturn

LEDGER_NAME = "台账.sqlite"
BUSY_SECONDS = 30.0

# each entry brings the schema from version i to i + 1; never edit one that has shipped, add one
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE parks (
        park_id TEXT PRIMARY KEY, name TEXT NOT NULL, city TEXT, county TEXT, category TEXT,
        contact TEXT, email TEXT, updated_at TEXT NOT NULL);
    CREATE TABLE sent (
        id INTEGER PRIMARY KEY, key TEXT NOT NULL, kind TEXT NOT NULL, round TEXT, park_id TEXT, park TEXT,
        recipient TEXT, subject TEXT, message_id TEXT, file_sha256 TEXT, channel TEXT NOT NULL,
        sent_at TEXT NOT NULL);
    CREATE INDEX sent_key ON sent (key);
    CREATE INDEX sent_park ON sent (park_id, kind);
    CREATE TABLE received (
        id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL, name TEXT NOT NULL,
        origin TEXT NOT NULL, path TEXT, sender TEXT, message_id TEXT, received_at TEXT NOT NULL,
        park_id TEXT, park TEXT, category TEXT, fill_date TEXT, status TEXT, kind TEXT NOT NULL DEFAULT 'return',
        UNIQUE (sha256, origin, path));
    CREATE INDEX received_park ON received (park_id);
    CREATE TABLE readings (
        sha256 TEXT NOT NULL, name TEXT NOT NULL, rules TEXT NOT NULL, program TEXT NOT NULL, raw BLOB NOT NULL,
        read_at TEXT NOT NULL, PRIMARY KEY (sha256, name, rules, program));
    CREATE TABLE checks (
        sha256 TEXT NOT NULL, rules TEXT NOT NULL, program TEXT NOT NULL, park_id TEXT, park TEXT,
        status TEXT NOT NULL, findings TEXT NOT NULL, checked_at TEXT NOT NULL,
        PRIMARY KEY (sha256, rules, program));
    CREATE TABLE messages (
        mailbox TEXT NOT NULL, uidvalidity INTEGER NOT NULL, uid INTEGER NOT NULL, message_id TEXT,
        sender TEXT, subject TEXT, outcome TEXT NOT NULL, seen_at TEXT NOT NULL,
        PRIMARY KEY (mailbox, uidvalidity, uid));
    CREATE INDEX messages_id ON messages (message_id);
    """,
)
VERSION = len(MIGRATIONS)


class LedgerError(Exception):
    """The ledger cannot be used; the message (Chinese) names the file and what to do."""


def now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rules_fingerprint(forms: dict[str, Any]) -> str:
    return sha256_of(json.dumps(sorted((cid, f.fingerprint) for cid, f in forms.items())).encode())[:16]


_PROGRAM: list[str] = []


def program_version() -> str:
    """The version and a digest of the program's own code and of pyarrow's version (a reading holds its arrays):
    a reading cached by other code is not reused."""
    if not _PROGRAM:
        from importlib.metadata import PackageNotFoundError, version

        from . import __version__

        digest = hashlib.sha256()
        try:
            digest.update(f"pyarrow {version('pyarrow')}".encode())
        except PackageNotFoundError:
            pass
        for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
            digest.update(path.read_bytes())
        _PROGRAM.append(f"{__version__}+{digest.hexdigest()[:12]}")
    return _PROGRAM[0]


class Ledger:
    """An open ledger. `Ledger.open(path)` creates or migrates it; use it as a context manager."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path, self.conn = path, conn

    # ---- opening ------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | str) -> "Ledger":
        path = Path(path)
        try:
            conn = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            ledger = cls(path, conn)
            ledger._migrate()
        except sqlite3.DatabaseError as exc:
            raise _refusal(path, exc) from None
        return ledger

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        current = self.version()
        if current > VERSION:
            raise LedgerError(f"台账 {self.path} 是较新版本的程序建立的（版本 {current}），请升级 consolidator 后再用。")
        if current == VERSION:
            return
        if current > 0:  # there is data to lose: copy the database first
            backup = self.path.with_name(f"{self.path.name}.v{current}-{dt.datetime.now():%Y%m%d-%H%M%S}.bak")
            with sqlite3.connect(backup) as copy:
                self.conn.backup(copy)
        with self.transaction():
            for script in MIGRATIONS[current:]:
                for statement in filter(str.strip, script.split(";")):
                    self.conn.execute(statement)
            self.conn.execute(f"PRAGMA user_version = {VERSION}")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction, taken for writing at once (so two commands queue rather than deadlock)."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise _refusal(self.path, exc) from None
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self.conn.execute("ROLLBACK")
                raise _refusal(self.path, exc) from None

    # ---- the roster ---------------------------------------------------------------------------
    def sync_parks(self, parks: Iterable[Any]) -> None:
        rows = [(p.park_id, p.name, p.city, p.county, p.category, p.contact, p.email, now()) for p in parks]
        with self.transaction() as c:
            c.executemany("INSERT INTO parks VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(park_id) DO UPDATE SET "
                          "name=excluded.name, city=excluded.city, county=excluded.county, "
                          "category=excluded.category, contact=excluded.contact, email=excluded.email, "
                          "updated_at=excluded.updated_at", rows)

    def park_rows(self) -> list[dict[str, Any]]:
        return _rows(self.conn.execute("SELECT * FROM parks ORDER BY park_id"))

    # ---- messages sent ------------------------------------------------------------------------
    def sent_keys(self) -> set[str]:
        return {k for (k,) in self.conn.execute("SELECT key FROM sent WHERE channel = 'smtp'")}

    def record_sent_many(self, rows: list[dict[str, Any]]) -> None:
        """Many messages in one transaction (the .eml files of a distribution)."""
        stamp = now()
        with self.transaction() as c:
            c.executemany("INSERT INTO sent (key, kind, round, park_id, park, recipient, subject, message_id, "
                          "file_sha256, channel, sent_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                          [(r["key"], r["kind"], r["round_"], r["park_id"], r["park"], r["recipient"], r["subject"],
                            r["message_id"], r["file_sha256"], r["channel"], stamp) for r in rows])

    def sent_rows(self) -> list[sqlite3.Row]:
        cur = self.conn.execute("SELECT * FROM sent ORDER BY id")
        return _rows(cur)

    def last_sent(self) -> dict[tuple[str, str], str]:
        """(park id, kind) -> when the last message of that kind went to the park."""
        return {(p, k): t for p, k, t in self.conn.execute(
            "SELECT park_id, kind, MAX(sent_at) FROM sent GROUP BY park_id, kind")}

    # ---- files received -----------------------------------------------------------------------
    RECEIVED = ("sha256", "size", "name", "origin", "path", "sender", "message_id", "received_at", "park_id",
                "park", "category", "fill_date", "status", "kind")

    def record_received_in(self, c: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
        """The same inside a transaction the caller holds."""
        cols = self.RECEIVED
        c.executemany(
            f"INSERT INTO received ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
            "ON CONFLICT(sha256, origin, path) DO UPDATE SET park_id=excluded.park_id, park=excluded.park, "
            "category=excluded.category, fill_date=excluded.fill_date, status=excluded.status, "
            "sender=COALESCE(received.sender, excluded.sender), "
            "message_id=COALESCE(received.message_id, excluded.message_id)",
            [tuple(r.get(k) for k in cols) for r in rows])

    def move_received(self, old: Path, new: Path, park: Any) -> None:
        """A file collected from the mail, renamed to the park its embedded id names."""
        with self.transaction() as c:
            c.execute("UPDATE received SET path = ?, park_id = ?, park = ?, category = ? "
                      "WHERE origin = 'mail' AND path = ?", (str(new), park.park_id, park.name, park.category, str(old)))

    def received_rows(self) -> list[dict[str, Any]]:
        return _rows(self.conn.execute("SELECT * FROM received ORDER BY received_at, id"))

    # ---- readings and checks ------------------------------------------------------------------
    def readings(self, keys: Iterable[tuple[str, str]], rules: str, program: str) -> dict[tuple[str, str], RawReturn]:
        """The cached readings of these files, by (sha256, name as shown), under these rules and this program:
        a reading depends on the bytes, the name (its findings name the file) and nothing else."""
        wanted = list(dict.fromkeys(keys))
        out: dict[tuple[str, str], RawReturn] = {}
        for chunk in _chunks(sorted({sha for sha, _ in wanted}), 500):
            marks = ",".join("?" * len(chunk))
            for sha, name, blob in self.conn.execute(
                    f"SELECT sha256, name, raw FROM readings WHERE rules = ? AND program = ? AND sha256 IN ({marks})",
                    (rules, program, *chunk)):
                out[(sha, name)] = blob
        found = {}
        for k in wanted:
            if k in out:
                try:
                    found[k] = pickle.loads(out[k])
                except Exception:  # a reading this program cannot load (a library changed under it): read again
                    continue
        return found

    @staticmethod
    def pickled(raw: RawReturn) -> bytes:
        """A reading as the ledger keeps it: pickled before the check adds its recomputed values."""
        return pickle.dumps(raw, protocol=pickle.HIGHEST_PROTOCOL)

    def store_readings(self, c: sqlite3.Connection, items: Iterable[tuple[tuple[str, str], bytes]], rules: str,
                       program: str) -> None:
        """((sha256, name), pickled reading) of each file read; inside a transaction the caller holds."""
        stamp = now()
        c.executemany("INSERT OR REPLACE INTO readings VALUES (?,?,?,?,?,?)",
                      [(sha, name, rules, program, blob, stamp) for (sha, name), blob in items])

    def store_checks(self, c: sqlite3.Connection, items: Iterable[tuple[str, str, str, str, list[Finding]]],
                     rules: str, program: str) -> None:
        """(sha256, park id, park, status, findings) of each checked file; inside the caller's transaction."""
        stamp = now()
        c.executemany("INSERT OR REPLACE INTO checks VALUES (?,?,?,?,?,?,?,?)",
                      [(sha, rules, program, pid, park, status, findings_json(fs), stamp)
                       for sha, pid, park, status, fs in items])

    # ---- the mailbox --------------------------------------------------------------------------
    def seen_uids(self, mailbox: str, uidvalidity: int) -> set[int]:
        return {u for (u,) in self.conn.execute(
            "SELECT uid FROM messages WHERE mailbox = ? AND uidvalidity = ?", (mailbox, uidvalidity))}

    def seen_message_ids(self) -> set[str]:
        return {m for (m,) in self.conn.execute("SELECT message_id FROM messages WHERE message_id IS NOT NULL")}

    def record_message(self, c: sqlite3.Connection, *, mailbox: str, uidvalidity: int, uid: int,
                       message_id: str | None, sender: str, subject: str, outcome: str) -> None:
        c.execute("INSERT OR REPLACE INTO messages VALUES (?,?,?,?,?,?,?,?)",
                  (mailbox, uidvalidity, uid, message_id, sender, subject, outcome, now()))



def findings_json(findings: list[Finding]) -> str:
    return json.dumps([asdict(f) for f in findings], ensure_ascii=False, default=str)


def _rows(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _chunks(items: list, n: int) -> Iterator[list]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _refusal(path: Path, exc: sqlite3.Error) -> LedgerError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return LedgerError(f"台账 {path} 正被另一个命令使用，等了 {BUSY_SECONDS:.0f} 秒仍未结束；请等它结束后再运行。")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return LedgerError(f"台账 {path} 已损坏，无法打开。请用同一文件夹中最近的 .bak 备份替换它，或联系技术支持人员。")
    if "unable to open" in text or "readonly" in text or "read-only" in text:
        return LedgerError(f"台账 {path} 无法打开或写入：请检查文件夹权限，或文件是否只读。")
    return LedgerError(f"台账 {path} 出错：{exc}")
