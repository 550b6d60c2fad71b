"""A real IMAP server for the tests: Dovecot, started on localhost with its own throwaway configuration,
one user, plain IMAP and IMAPS (a test certificate) on free ports."""

from __future__ import annotations

import imaplib
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

USER, PASSWORD = "office@example.gov.cn", "s3cret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ids() -> tuple[str, str, int, int]:
    """The users Dovecot runs as, and the owner of the mail (never root: Dovecot refuses uid 0)."""
    if os.geteuid() != 0:
        import grp
        import pwd

        me = pwd.getpwuid(os.getuid()).pw_name
        return me, me, os.getuid(), os.getgid() if grp else os.getgid()
    import pwd

    internal = "dovecot" if _user_exists("dovecot") else "nobody"
    login = "dovenull" if _user_exists("dovenull") else "nobody"
    owner = pwd.getpwnam(internal)
    return internal, login, owner.pw_uid, owner.pw_gid


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@dataclass
class Dovecot:
    folder: Path
    port: int
    ssl_port: int
    cert: Path
    process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "Dovecot":
        internal, login, uid, gid = _ids()
        home = self.folder / "home"
        home.mkdir(parents=True, exist_ok=True)
        (self.folder / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n", encoding="utf-8")
        conf = self.folder / "dovecot.conf"
        conf.write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {self.folder}/run
state_dir = {self.folder}/state
log_path = {self.folder}/dovecot.log
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{self.cert.with_name("key.pem")}
auth_mechanisms = plain login
disable_plaintext_auth = no
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.folder}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={home}/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    port = {self.port}
  }}
  inet_listener imaps {{
    port = {self.ssl_port}
    ssl = yes
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""", encoding="utf-8")
        if os.geteuid() == 0:
            shutil.chown(home, uid, gid)
        self.process = subprocess.Popen([shutil.which("dovecot") or "/usr/sbin/dovecot", "-F", "-c", str(conf)],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        log = (self.folder / "dovecot.log").read_text(errors="replace") if (self.folder / "dovecot.log").exists() else ""
        raise RuntimeError(f"dovecot did not start: {self.process.stdout.read() if self.process.stdout else ''} {log}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def client(self) -> imaplib.IMAP4:
        c = imaplib.IMAP4("127.0.0.1", self.port)
        c.login(USER, PASSWORD)
        return c

    def append(self, raw: bytes, mailbox: str = "INBOX") -> None:
        c = self.client()
        try:
            typ, data = c.append(mailbox, None, None, raw)
            assert typ == "OK", data
        finally:
            c.logout()

    def flags(self) -> list[bytes]:
        c = self.client()
        try:
            c.select("INBOX", readonly=True)
            typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
            return [d for d in data if d]
        finally:
            c.logout()

    def count(self) -> int:
        c = self.client()
        try:
            typ, data = c.select("INBOX", readonly=True)
            return int(data[0])
        finally:
            c.logout()
