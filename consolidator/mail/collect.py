"""Collecting the returns from the office's mailbox (IMAP): every message not yet in the ledger is looked at
once; its workbooks (also those inside archives) are saved into the returns folder as
`园区名称_收件时间_原文件名`, other files (the stamped scan, a Word report) as the park's 附件, and each is
recorded in the ledger with its sender, Message-ID and time. Mail is never deleted or moved; marking it
read is opt-in. The user and password come only from the environment.

The parsing is pure (`parse_message`); `collect` does the I/O: the IMAP session, the files, the ledger.
"""

from __future__ import annotations

import datetime as dt
import email
import imaplib
import os
import re
import ssl
import tempfile
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path, PurePosixPath
from typing import Callable

from ..ledger import Ledger, program_version, rules_fingerprint, sha256_of
from ..read.archives import ARCHIVE_SUFFIXES, MemberError, members, read_member
from ..read.package import MAX_FILE_BYTES
from ..read.roster import Park, park_key
from ..write.files import atomic_write_bytes, remove_stale_temporaries
from .compose import safe_filename
from .servers import network_error_zh, server_address

USER_ENV, PASSWORD_ENV = "CONSOLIDATOR_IMAP_USER", "CONSOLIDATOR_IMAP_PASSWORD"
RETURN_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".et", ".docx"}
ATTACHMENTS = "附件"  # the parks' other files, below the returns folder
UNKNOWN = "未识别园区"
FETCH_CHUNK = 20  # messages fetched per IMAP command


@dataclass
class ImapSettings:
    host: str
    port: int
    security: str = "ssl"  # ssl | starttls | none (none only for a server on this machine)
    mailbox: str = "INBOX"
    timeout: float = 60.0

    @classmethod
    def parse(cls, text: str, security: str | None = None, mailbox: str = "INBOX") -> "ImapSettings":
        host, port, security = server_address(text, security, option="--imap", example="imap.example.gov.cn:993",
                                              ssl_port=993)
        return cls(host, port, security, mailbox)


@dataclass
class Part:
    name: str
    data: bytes
    kind: str  # return | archive | attachment


@dataclass
class Parsed:
    message_id: str | None
    sender: str
    subject: str
    received: dt.datetime
    parts: list[Part]


@dataclass
class Collected:
    """What was done with one message."""

    uid: int
    sender: str
    subject: str
    outcome: str  # 已保存 | 已收过 | 没有附件 | 发件人不在名单中 | 附件无法读取
    park: Park | None = None
    saved: list[Path] = field(default_factory=list)
    attachments: list[Path] = field(default_factory=list)
    detail: str = ""


# ---- parsing (pure) -------------------------------------------------------------------------------
def decode_filename(part: Message) -> str | None:
    """An attachment's file name as mail clients write it: RFC 2231 (filename*=), RFC 2047 encoded words
    (also inside quotes, as some clients put them), or raw 8-bit GBK/GB18030 or UTF-8 bytes."""
    name = part.get_filename()
    if name is not None and "\ufffd" in name:  # raw 8-bit bytes, replaced on the way: take the header as stored
        name = _raw_param(part) or name
    if name is None:
        name = part.get_param("name")  # Content-Type's name= only (older clients)
        if isinstance(name, tuple):
            name = email.utils.collapse_rfc2231_value(name)
    if not name:
        return None
    name = str(name)
    if "=?" in name:
        try:
            name = str(make_header(decode_header(name)))
        except (UnicodeDecodeError, LookupError, email.errors.HeaderParseError):
            pass
    return _raw_bytes_name(name).strip().replace("\r", "").replace("\n", "") or None


def _raw_param(part: Message) -> str | None:
    for key, value in part.raw_items():
        if key.lower() in ("content-disposition", "content-type"):
            m = re.search(r'(?:file)?name\s*=\s*"([^"]*)"', str(value), re.I) or re.search(r"(?:file)?name\s*=\s*([^;\s]+)",
                                                                                     str(value), re.I)
            if m:
                return m.group(1)
    return None


def _raw_bytes_name(name: str) -> str:
    """Raw 8-bit bytes reach Python as surrogates (or as Latin-1 look-alikes): read them as UTF-8 or GB18030."""
    if any("\udc80" <= ch <= "\udcff" for ch in name):
        raw = name.encode("utf-8", "surrogateescape")
    elif name and all(ord(ch) < 256 for ch in name) and any(ord(ch) > 127 for ch in name):
        raw = name.encode("latin-1")
    else:
        return name
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")


def _kind(name: str) -> str:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in RETURN_SUFFIXES:
        return "return"
    if suffix in ARCHIVE_SUFFIXES:
        return "archive"
    return "attachment"


def _text(value) -> str:
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value))))
    except (UnicodeDecodeError, LookupError, email.errors.HeaderParseError):
        return str(value)


def parse_message(raw: bytes, fallback_time: dt.datetime | None = None) -> Parsed:
    """The sender, subject, time and files of one message (never raises for a malformed message)."""
    msg = email.message_from_bytes(raw)
    addresses = getaddresses([_text(msg.get("From"))])
    sender = (addresses[0][1] if addresses else "").strip().lower()
    try:
        received = parsedate_to_datetime(msg.get("Date")).astimezone().replace(tzinfo=None)
    except (TypeError, ValueError, IndexError):
        received = fallback_time or dt.datetime.now()
    parts = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        name = decode_filename(part)
        if not name:
            continue
        data = part.get_payload(decode=True) or b""
        parts.append(Part(PurePosixPath(name.replace("\\", "/")).name, data, _kind(name)))
    return Parsed(_text(msg.get("Message-ID")).strip() or None, sender, _text(msg.get("Subject")), received, parts)


def match_park(parsed: Parsed, roster: list[Park]) -> Park | None:
    """The sender's address in the roster, else a roster park's name in the subject or a file name (the
    longest name that fits, so 苏州工业园区 is not taken for 苏州)."""
    by_mail = [p for p in roster if p.email and p.email.strip().lower() == parsed.sender]
    if len(by_mail) == 1:
        return by_mail[0]
    texts = [park_key(parsed.subject)] + [park_key(p.name) for p in parsed.parts]
    named = [p for p in roster if any(park_key(p.name) in t for t in texts)]
    named.sort(key=lambda p: -len(p.name))
    return named[0] if named else (by_mail[0] if by_mail else None)


# ---- the mailbox ----------------------------------------------------------------------------------
def connect(s: ImapSettings) -> imaplib.IMAP4:
    """Connect and log in; ConnectionError with a Chinese message when it cannot."""
    user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
    if not user or password is None:
        raise ConnectionError(f"没有收信邮箱的用户名或密码：请设置环境变量 {USER_ENV} 和 {PASSWORD_ENV}。")
    context = ssl.create_default_context()
    try:
        if s.security == "ssl":
            conn = imaplib.IMAP4_SSL(s.host, s.port, ssl_context=context, timeout=s.timeout)
        else:
            conn = imaplib.IMAP4(s.host, s.port, timeout=s.timeout)
            if s.security == "starttls":
                conn.starttls(ssl_context=context)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ConnectionError(f"无法连接收信服务器 {s.host}:{s.port}：{imap_error_zh(exc)}") from None
    try:
        conn.login(user, password)
    except imaplib.IMAP4.error as exc:
        conn.shutdown()
        raise ConnectionError(f"收信服务器拒绝登录（用户 {user}）：用户名或密码不对（有的邮箱要用“授权码”）。{exc}") from None
    return conn


def imap_error_zh(exc: BaseException) -> str:
    said = network_error_zh(exc, ssl_port=993, starttls_port=143)
    if said:
        return said
    if isinstance(exc, imaplib.IMAP4.error):
        return f"服务器不接受：{exc}"
    return f"网络错误：{getattr(exc, 'strerror', None) or exc}"


def check_login(s: ImapSettings) -> None:
    conn = connect(s)
    conn.logout()


def _uids(conn: imaplib.IMAP4, mailbox: str, readonly: bool) -> tuple[int, list[int]]:
    typ, data = conn.select(_quoted(mailbox), readonly=readonly)
    if typ != "OK":
        raise ConnectionError(f"收信邮箱中没有文件夹“{mailbox}”")
    validity = conn.response("UIDVALIDITY")[1]
    uidvalidity = int(validity[0]) if validity and validity[0] else 0
    typ, data = conn.uid("SEARCH", None, "ALL")
    uids = [int(u) for u in (data[0] or b"").split()] if typ == "OK" else []
    return uidvalidity, uids


def _quoted(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _fetch(conn: imaplib.IMAP4, uids: list[int]) -> dict[int, bytes]:
    """The full messages, not marking them read (BODY.PEEK)."""
    out: dict[int, bytes] = {}
    typ, data = conn.uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])")
    if typ != "OK":
        return out
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            m = re.search(rb"UID (\d+)", item[0])
            if m:
                out[int(m.group(1))] = item[1]
    return out


Progress = Callable[[int, int, Collected], None]


def collect(settings: ImapSettings, ledger: Ledger, roster: list[Park], returns_dir: Path, *,
            mark_seen: bool = False, progress: Progress | None = None) -> list[Collected]:
    """Every message of the mailbox not yet in the ledger, saved and recorded (a message at a time, each in
    its own transaction: a run that is killed fetches the rest next time, nothing twice)."""
    if Path(returns_dir).is_dir():
        remove_stale_temporaries(Path(returns_dir))  # left by a collection that was killed while saving
    conn = connect(settings)
    try:
        uidvalidity, uids = _uids(conn, settings.mailbox, readonly=not mark_seen)
        new = [u for u in uids if u not in ledger.seen_uids(settings.mailbox, uidvalidity)]
        known_ids = ledger.seen_message_ids()
        done: list[Collected] = []
        for start in range(0, len(new), FETCH_CHUNK):
            chunk = new[start:start + FETCH_CHUNK]
            fetched = _fetch(conn, chunk)
            for uid in chunk:
                raw = fetched.get(uid)
                item = _one(raw, uid, settings.mailbox, uidvalidity, ledger, roster, Path(returns_dir), known_ids)
                if mark_seen and raw is not None:
                    conn.uid("STORE", str(uid), "+FLAGS", "(\\Seen)")
                done.append(item)
                if progress:
                    progress(len(done), len(new), item)
        return done
    finally:
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            pass


def _one(raw: bytes | None, uid: int, mailbox: str, uidvalidity: int, ledger: Ledger, roster: list[Park],
         returns_dir: Path, known_ids: set[str]) -> Collected:
    if raw is None:
        return Collected(uid, "", "", "附件无法读取", detail="服务器没有返回这封邮件")
    parsed = parse_message(raw)
    park = match_park(parsed, roster)
    item = Collected(uid, parsed.sender, parsed.subject, "已保存", park)
    rows: list[dict] = []
    if parsed.message_id and parsed.message_id in known_ids:
        item.outcome = "已收过"
    elif not parsed.parts:
        item.outcome = "没有附件"
    else:
        rows = _save_parts(parsed, park, returns_dir, item)
        if not item.saved and not item.attachments:
            item.outcome = "附件无法读取"
        elif park is None:
            item.outcome = "发件人不在名单中"
    with ledger.transaction() as c:
        ledger.record_received_in(c, rows)
        ledger.record_message(c, mailbox=mailbox, uidvalidity=uidvalidity, uid=uid, message_id=parsed.message_id,
                              sender=parsed.sender, subject=parsed.subject, outcome=item.outcome)
    if parsed.message_id:
        known_ids.add(parsed.message_id)
    return item


def _save_parts(parsed: Parsed, park: Park | None, returns_dir: Path, item: Collected) -> list[dict]:
    stamp = parsed.received.strftime("%Y%m%d-%H%M%S")
    who = park.name if park else UNKNOWN
    rows = []
    for part in _expanded(parsed.parts, item):
        if part.kind == "return":
            path = _place(returns_dir, safe_filename(f"{who}_{stamp}_{PurePosixPath(part.name).stem}",
                                                     PurePosixPath(part.name).suffix.lower()), part.data)
            item.saved.append(path)
        else:
            folder = returns_dir / ATTACHMENTS / safe_filename(who)
            path = _place(folder, safe_filename(f"{stamp}_{PurePosixPath(part.name).stem}",
                                                PurePosixPath(part.name).suffix.lower()), part.data)
            item.attachments.append(path)
        rows.append(dict(sha256=sha256_of(part.data), size=len(part.data), name=part.name, origin="mail",
                         path=str(path), sender=parsed.sender, message_id=parsed.message_id,
                         received_at=parsed.received.isoformat(timespec="seconds"),
                         park_id=park.park_id if park else None, park=park.name if park else None,
                         category=park.category if park else None, status="已收到",
                         kind="return" if part.kind == "return" else "attachment"))
    return rows


def _expanded(parts: list[Part], item: Collected) -> list[Part]:
    """The workbooks inside archives in place of the archive (each member bounded in size); an archive that
    cannot be opened is kept as the park's attachment, and said so."""
    out = []
    for part in parts:
        if part.kind != "archive":
            out.append(part)
            continue
        suffix = PurePosixPath(part.name).suffix.lower()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"a{suffix}"
            path.write_bytes(part.data)
            try:
                inside = [m for m in members(path, ARCHIVE_SUFFIXES[suffix]) if m.size <= MAX_FILE_BYTES]
                for m in inside:
                    name = PurePosixPath(m.name).name
                    if name.startswith(("~$", ".")) or "__MACOSX" in m.name:
                        continue
                    out.append(Part(name, read_member(path, ARCHIVE_SUFFIXES[suffix], m.index, m.name), _kind(name)))
            except MemberError as exc:
                item.detail = f"压缩包“{part.name}”无法打开（{exc.kw.get('reason') or exc.code}），已作为附件保存"
                out.append(Part(part.name, part.data, "attachment"))
    return out


def _place(folder: Path, name: str, data: bytes) -> Path:
    """Save without replacing a different file of the same name (the same bytes are not saved twice)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    n = 1
    while target.exists():
        if target.read_bytes() == data:
            return target
        n += 1
        target = folder / f"{PurePosixPath(name).stem}_{n}{PurePosixPath(name).suffix}"
    return atomic_write_bytes(target, data)


def identify(items: list[Collected], forms: dict, roster: list[Park], ledger: Ledger, returns_dir: Path) -> None:
    """Read the saved returns (in the isolated workers, as a check would) to find the park id embedded in each
    personal workbook: it wins over the sender and the name. A file saved under the wrong park is renamed;
    one that cannot be read is said so (it stays, and the check reports it). The readings are kept in the
    ledger, so the next check does not read these files again."""
    from ..read.sources import Source
    from ..read.workers import IsolatedReader

    saved = [(it, p) for it in items for p in it.saved]
    if not saved:
        return
    returns_dir = Path(returns_dir)
    sources = [Source(p.relative_to(returns_dir).as_posix(), dt.datetime.fromtimestamp(p.stat().st_mtime), p)
               for _, p in saved]
    rules_dir = next(iter(forms.values())).rules_dir
    raws = IsolatedReader(forms, rules_dir).read_all(sources)
    by_id = {p.park_id: p for p in roster}
    keep = []
    for (it, path), source, raw in zip(saved, sources, raws):
        if not raw.readable:
            it.outcome, it.detail = "附件无法读取", (raw.findings[-1].message if raw.findings else "")
        park = by_id.get(raw.park_id or "")
        if park is not None and (it.park is None or it.park.park_id != park.park_id):
            _rename(it, path, park, ledger)
            continue
        keep.append((sha256_of(path.read_bytes()), source.display, raw))
    with ledger.transaction() as c:
        ledger.store_readings(c, [((sha, name), Ledger.pickled(raw)) for sha, name, raw in keep],
                              rules_fingerprint(forms), program_version())


def _rename(item: Collected, path: Path, park: Park, ledger: Ledger) -> None:
    old = item.park.name if item.park else UNKNOWN
    name = path.name[len(safe_filename(old)):] if path.name.startswith(safe_filename(old)) else "_" + path.name
    target = _place(path.parent, safe_filename(park.name) + name, path.read_bytes())
    if target != path:
        path.unlink()
    item.saved[item.saved.index(path)] = target
    item.park = park
    if item.outcome == "发件人不在名单中":
        item.outcome = "已保存"
    ledger.move_received(path, target, park)
