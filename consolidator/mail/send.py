"""The outbox: ready-to-send .eml files, or sending by SMTP with a log that prevents sending twice.

The SMTP user and password come from the environment (CONSOLIDATOR_SMTP_USER,
CONSOLIDATOR_SMTP_PASSWORD), never from the command line, where other users of the machine could
read them. One failed message does not stop the others; it is reported and can be sent by a rerun.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import smtplib
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..write.files import atomic_write_bytes
from .compose import Outgoing, build_message, message_bytes, safe_filename

LOG_NAME = "发送记录.csv"
LOG_COLUMNS = ["key", "kind", "park_id", "park", "to", "subject", "message_id", "sent_at"]
USER_ENV, PASSWORD_ENV = "CONSOLIDATOR_SMTP_USER", "CONSOLIDATOR_SMTP_PASSWORD"


@dataclass
class SmtpSettings:
    host: str
    port: int
    security: str = "starttls"  # starttls | ssl | none (none only for a server on this machine)
    timeout: float = 30.0

    @classmethod
    def parse(cls, text: str, security: str | None = None) -> "SmtpSettings":
        host, _, port = text.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"--smtp 应写成 主机:端口，如 smtp.example.gov.cn:465，而不是“{text}”")
        port_n = int(port)
        security = security or ("ssl" if port_n == 465 else "starttls")
        if security == "none" and host not in ("localhost", "127.0.0.1", "::1"):
            raise ValueError("不加密的连接只允许用于本机的邮件服务器（localhost）")
        return cls(host, port_n, security)


@dataclass
class Delivery:
    park: str
    to: str
    kind: str
    action: str  # 已写出 | 已发送 | 已发送过，跳过 | 将发送（试运行） | 发送失败
    detail: str = ""


class SendLog:
    def __init__(self, outbox: Path):
        self.path = Path(outbox) / LOG_NAME
        self.keys: set[str] = set()
        if self.path.exists():
            with self.path.open(encoding="utf-8-sig", newline="") as fh:
                self.keys = {row["key"] for row in csv.DictReader(fh)}

    def record(self, out: Outgoing, message_id: str) -> None:
        new = not self.path.exists()
        with self.path.open("a", encoding="utf-8-sig" if new else "utf-8", newline="") as fh:
            w = csv.writer(fh)
            if new:
                w.writerow(LOG_COLUMNS)
            w.writerow([out.key, out.kind, out.park.park_id, out.park.name, out.park.email, out.subject, message_id,
                        dt.datetime.now().isoformat(timespec="seconds")])
            fh.flush()
            os.fsync(fh.fileno())
        self.keys.add(out.key)


KIND_ZH = {"distribute": "填报通知", "problems": "问题反馈", "accepted": "通过回执", "reminder": "催报提醒",
           "unreadable": "文件无法读取"}


def eml_path(outbox: Path, out: Outgoing) -> Path:
    kind = KIND_ZH.get(out.kind, out.kind)
    return Path(outbox) / "邮件" / safe_filename(f"{out.park.park_id}_{out.park.name}_{kind}", ".eml")


def write_attachments(outbox: Path, outgoing: list[Outgoing], folder: str) -> None:
    """The attached workbooks also as files, for the office's records."""
    for out in outgoing:
        for name, data in out.attachments:
            atomic_write_bytes(Path(outbox) / folder / safe_filename(Path(name).stem, Path(name).suffix), data)


def deliver(outgoing: list[Outgoing], outbox: Path, sender: str, *, sender_name: str = "",
            smtp: SmtpSettings | None = None, dry_run: bool = False, pause: float = 0.0,
            progress: Callable[[Delivery], None] | None = None) -> list[Delivery]:
    outbox = Path(outbox)
    outbox.mkdir(parents=True, exist_ok=True)
    results: list[Delivery] = []

    def done(d: Delivery):
        results.append(d)
        if progress:
            progress(d)

    if smtp is None:
        for out in outgoing:
            msg = build_message(out, sender, sender_name)
            msg["X-Unsent"] = "1"  # Outlook and Foxmail open the file as a draft to send, not as mail received
            path = atomic_write_bytes(eml_path(outbox, out), message_bytes(msg))
            done(Delivery(out.park.name, out.park.email, out.kind, "已写出", str(path)))
        return results
    log = SendLog(outbox)
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
                done(Delivery(out.park.name, out.park.email, out.kind, "发送失败", str(exc)))
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
        raise ConnectionError(f"无法连接邮件服务器 {s.host}:{s.port}：{exc}") from None
    user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
    if user:
        try:
            server.login(user, password or "")
        except smtplib.SMTPException as exc:
            server.close()
            raise ConnectionError(f"邮件服务器拒绝登录（用户 {user}）：{exc}") from None
    return server
