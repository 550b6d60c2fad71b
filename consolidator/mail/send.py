"""The outbox: ready-to-send .eml files, or sending by SMTP with a log that prevents sending twice.

The SMTP user and password come from the environment (CONSOLIDATOR_SMTP_USER,
CONSOLIDATOR_SMTP_PASSWORD), never from the command line, where other users of the machine could
read them. One failed message does not stop the others; it is reported and can be sent by a rerun.
"""

from __future__ import annotations

import csv
import io
import os
import smtplib
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..cores import start_on_cores
from ..ledger import Ledger
from ..write.files import atomic_write_bytes, sync_all
from .compose import Outgoing, build_message, check_addresses, message_bytes, safe_filename
from .servers import network_error_zh, server_address

LOG_NAME = "发送记录.csv"
LOG_COLUMNS = ["编号", "类型", "园区编号", "园区", "收件人", "主题", "邮件编号", "方式", "时间"]
CHANNEL_ZH = {"smtp": "已发送", "eml": "已写出 .eml（由办公室发送）"}
USER_ENV, PASSWORD_ENV = "CONSOLIDATOR_SMTP_USER", "CONSOLIDATOR_SMTP_PASSWORD"


@dataclass
class SmtpSettings:
    host: str
    port: int
    security: str = "starttls"  # starttls | ssl | none (none only for a server on this machine)
    timeout: float = 30.0

    @classmethod
    def parse(cls, text: str, security: str | None = None) -> "SmtpSettings":
        return cls(*server_address(text, security, option="--smtp", example="smtp.example.gov.cn:465", ssl_port=465))


@dataclass
class Delivery:
    park: str
    to: str
    kind: str
    action: str  # 已写出 | 已写出（替换了上次写出的邮件） | 已发送 | 已发送过，跳过 | 将发送（试运行） | 发送失败
    detail: str = ""


class SendLog:
    """What was sent, as the ledger holds it (a rerun skips it); 发送记录.csv is its export for Excel."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self.keys: set[str] = ledger.sent_keys()

    def record(self, out: Outgoing, message_id: str, channel: str = "smtp") -> None:
        self.record_all([(out, message_id)], channel)

    def record_all(self, items: list[tuple[Outgoing, str]], channel: str) -> None:
        """Messages sent (or written as .eml) in one transaction; those sent are not sent again."""
        self.ledger.record_sent_many([dict(key=o.key, kind=o.kind, park_id=o.park.park_id, park=o.park.name,
                                           recipient=o.park.email, subject=o.subject, message_id=mid or "",
                                           channel=channel, round_=o.round, file_sha256=o.file_sha256)
                                      for o, mid in items])
        if channel == "smtp":
            self.keys.update(o.key for o, _ in items)


def export_log(ledger: Ledger, outbox: Path) -> Path | None:
    """发送记录.csv in the outbox: every message the ledger records, for the office to open in Excel."""
    rows = ledger.sent_rows()
    if not rows:
        return None
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(LOG_COLUMNS)
    for r in rows:
        w.writerow([r["key"], KIND_ZH.get(r["kind"], r["kind"]), r["park_id"], r["park"], r["recipient"], r["subject"],
                    r["message_id"], CHANNEL_ZH.get(r["channel"], r["channel"]), r["sent_at"]])
    return atomic_write_bytes(Path(outbox) / LOG_NAME, buf.getvalue().encode("utf-8-sig"))


KIND_ZH = {"distribute": "填报通知", "problems": "问题反馈", "accepted": "通过回执", "reminder": "催报提醒",
           "unreadable": "文件无法读取"}


WRITTEN, REPLACED = "已写出", "已写出（替换了上次写出的邮件）"


def eml_path(outbox: Path, out: Outgoing) -> Path:
    kind = KIND_ZH.get(out.kind, out.kind)
    return Path(outbox) / "邮件" / safe_filename(f"{out.park.park_id}_{out.park.name}_{kind}", ".eml")


EARLIER = "旧邮件"


def _keep_earlier(path: Path) -> bool:
    """Move an .eml written by an earlier run to 邮件/旧邮件/, stamped with its time; True if there was one."""
    if not path.exists():
        return False
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(path.stat().st_mtime))
    earlier = path.parent / EARLIER / f"{path.stem}_{stamp}{path.suffix}"
    n = 1
    while earlier.exists():  # two runs within a second
        n += 1
        earlier = path.parent / EARLIER / f"{path.stem}_{stamp}_{n}{path.suffix}"
    earlier.parent.mkdir(exist_ok=True)
    os.replace(path, earlier)
    return True


def write_attachments(outbox: Path, outgoing: list[Outgoing], folder: str) -> None:
    """The attached workbooks also as files, for the office's records."""
    for out in outgoing:
        for name, data in out.attachments:
            atomic_write_bytes(Path(outbox) / folder / safe_filename(Path(name).stem, Path(name).suffix), data,
                               sync=False)
    sync_all()


# .eml files are composed on all cores from this many on (a worker's start is paid back by ~50 messages), in
# chunks of a few so that their bytes come back while the first are written
EML_PER_WORKER, EML_CHUNK = 50, 8


def _draft(job: tuple) -> tuple[bytes, str]:
    """One .eml file's bytes and Message-ID, in a worker."""
    out, sender, sender_name = job
    msg = build_message(out, sender, sender_name)
    msg["X-Unsent"] = "1"  # Outlook and Foxmail open the file as a draft to send, not as mail received
    return message_bytes(msg), msg["Message-ID"]


def deliver(outgoing: list[Outgoing], outbox: Path, sender: str, ledger: Ledger, *, sender_name: str = "",
            smtp: SmtpSettings | None = None, dry_run: bool = False, pause: float = 0.0,
            progress: Callable[[Delivery], None] | None = None) -> list[Delivery]:
    outbox = Path(outbox)
    outbox.mkdir(parents=True, exist_ok=True)
    results: list[Delivery] = []

    def done(d: Delivery):
        results.append(d)
        if progress:
            progress(d)

    log = SendLog(ledger)
    written: list[tuple[Outgoing, str]] = []
    if smtp is None:
        for out in outgoing:  # every address judged before anything is written
            check_addresses(out, sender)
        drafts = start_on_cores(_draft, [(out, sender, sender_name) for out in outgoing], least=EML_PER_WORKER,
                                chunk=EML_CHUNK)
        # strict: each() is run to its end, and its workers end with it
        for out, (data, message_id) in zip(outgoing, drafts.each(), strict=True):
            path = eml_path(outbox, out)
            replaced = _keep_earlier(path)  # a rerun: the office may have edited or sent the earlier one
            atomic_write_bytes(path, data, sync=False)
            written.append((out, message_id))
            done(Delivery(out.park.name, out.park.email, out.kind, REPLACED if replaced else WRITTEN, str(path)))
        sync_all()
        log.record_all(written, channel="eml")  # one transaction for the batch
        return results
    todo = [o for o in outgoing if o.key not in log.keys]
    for out in outgoing:
        if out.key in log.keys:
            done(Delivery(out.park.name, out.park.email, out.kind, "已发送过，跳过"))
    if dry_run or not todo:
        for out in todo:
            build_message(out, sender, sender_name)  # fails here, not later, if an address is wrong
            done(Delivery(out.park.name, out.park.email, out.kind, "将发送（试运行）"))
        return results
    with _connect(smtp) as server:
        for i, out in enumerate(todo):
            if i and pause:
                time.sleep(pause)
            try:
                msg = build_message(out, sender, sender_name)
                server.sendmail(sender, [out.park.email.strip()], message_bytes(msg))
            except (smtplib.SMTPException, OSError, ValueError) as exc:
                done(Delivery(out.park.name, out.park.email, out.kind, "发送失败", smtp_error_zh(exc)))
                continue
            log.record(out, msg["Message-ID"])
            done(Delivery(out.park.name, out.park.email, out.kind, "已发送"))
    return results


def check_connection(s: SmtpSettings) -> None:
    """Connect and log in once, so that a wrong server or password is reported before any work."""
    server = _connect(s)
    try:
        server.quit()
    except smtplib.SMTPException:
        server.close()


def smtp_error_zh(exc: BaseException) -> str:
    """What went wrong talking to the mail server, in Chinese, with what to do (the server's own words kept)."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "用户名或密码不对（请核对环境变量 CONSOLIDATOR_SMTP_USER、CONSOLIDATOR_SMTP_PASSWORD；有的邮箱要用“授权码”代替密码）"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "服务器拒收这个收件地址（请核对名单中的电子邮箱）"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return "服务器不接受这个发件人地址（应与登录的邮箱一致）"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return "服务器不支持 STARTTLS（请改用 --security ssl，端口一般为 465）"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "服务器断开了连接（加密方式可能不对：端口 465 用 ssl，587 用 starttls）"
    said = network_error_zh(exc, ssl_port=465, starttls_port=587)
    if said:
        return said
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"服务器回复错误 {exc.smtp_code}：{exc.smtp_error.decode('utf-8', 'replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"
    if isinstance(exc, OSError):
        return f"网络错误：{exc.strerror or exc}"
    return str(exc)


def _connect(s: SmtpSettings) -> smtplib.SMTP:
    context = ssl.create_default_context()
    try:
        if s.security == "ssl":
            server = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            server = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            if s.security == "starttls":
                server.starttls(context=context)
    except (OSError, smtplib.SMTPException) as exc:
        raise ConnectionError(f"无法连接邮件服务器 {s.host}:{s.port}：{smtp_error_zh(exc)}") from None
    user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
    if user:
        try:
            server.login(user, password or "")
        except smtplib.SMTPException as exc:
            server.close()
            raise ConnectionError(f"邮件服务器拒绝登录（用户 {user}）：{smtp_error_zh(exc)}") from None
    return server
