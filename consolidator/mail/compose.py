"""E-mails to the parks, built from the office's editable templates (mail_templates/). Pure: no sending.

Headers are safe whatever the roster or a return holds: text is folded to one line before it goes
into a header (a park name with a line break cannot add a Bcc), addresses are validated, and the
Chinese attachment name is encoded both as RFC 2231 (filename*=) and as an RFC 2047 encoded word
(name=), which between them cover Outlook, Foxmail, Thunderbird and the web mail of QQ and 163.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field
from email.generator import NLCRE, BytesGenerator
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, make_msgid
from functools import lru_cache
from pathlib import Path

import jinja2

from ..read.roster import Park
from ..resources import shipped_dir
from ..rules.formats import email_ok

DEFAULT_TEMPLATES = shipped_dir("mail_templates")  # installed with the package, or the clone's
SUBJECT_PREFIX = "主题："
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
TYPES = {".xlsx": XLSX_TYPE, ".docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
         ".pdf": ("application", "pdf")}
WIRE = compat32.clone(linesep="\r\n")


class MailTemplateError(ValueError):
    """A mail template is missing or wrong; the message (Chinese) names the file."""


@dataclass
class Outgoing:
    key: str  # what the send log remembers, so a rerun does not send it twice
    kind: str  # distribute | problems | accepted | unreadable | reminder
    park: Park
    subject: str
    body: str
    attachments: list[tuple[str, bytes]] = field(default_factory=list)
    round: str = ""  # the distribution round, for the ledger
    file_sha256: str | None = None  # the return the feedback is about


def one_line(text: str) -> str:
    """Header text: every line break and control character becomes a space."""
    return re.sub(r"[\x00-\x1f\x7f\u2028\u2029\x85]+", " ", str(text or "")).strip()


def render(templates: Path, kind: str, **context) -> tuple[str, str]:
    path = Path(templates) / f"{kind}.txt.j2"
    try:
        source = path.read_text(encoding="utf-8")
    except OSError:
        raise MailTemplateError(f"找不到邮件模板 {path}") from None
    subject_t, body_t = _compiled(str(path), source)
    try:
        subject = subject_t.render(**context)
        body = body_t.render(**context)
    except jinja2.TemplateError as exc:
        raise MailTemplateError(f"邮件模板 {path} 有误：{exc}") from None
    return one_line(subject), body.strip() + "\n"


@lru_cache(maxsize=32)
def _compiled(path: str, source: str) -> tuple[jinja2.Template, jinja2.Template]:
    """A template's subject and body, compiled once per text (a distribution renders it for every park)."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    first, _, rest = source.partition("\n")  # rendered apart: a line break in a name cannot end the subject
    if not first.startswith(SUBJECT_PREFIX):
        raise MailTemplateError(f"邮件模板 {path} 的第一行应以“{SUBJECT_PREFIX}”开头，写邮件主题")
    try:
        return env.from_string(first[len(SUBJECT_PREFIX):]), env.from_string(rest)
    except jinja2.TemplateError as exc:
        raise MailTemplateError(f"邮件模板 {path} 有误：{exc}") from None


KINDS = ("distribute", "feedback_problems", "feedback_accepted", "feedback_unreadable", "feedback_reminder")


def template_problems(templates: Path) -> list[str]:
    """What is wrong with a folder of mail templates (missing ones, a subject line, jinja2 syntax)."""
    problems = []
    env = jinja2.Environment()
    for kind in KINDS:
        path = Path(templates) / f"{kind}.txt.j2"
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            problems.append(f"找不到或无法读取邮件模板 {path.name}")
            continue
        if not source.startswith(SUBJECT_PREFIX):
            problems.append(f"邮件模板 {path.name} 的第一行应以“{SUBJECT_PREFIX}”开头，写邮件主题")
        try:
            env.parse(source)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(f"邮件模板 {path.name} 第{exc.lineno}行有误：{exc.message}")
    return problems


def _encoded_word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "?="


def check_addresses(out: Outgoing, sender: str) -> None:
    """ValueError, said in Chinese, when the sender's or the park's address is not one."""
    if not email_ok(sender):
        raise ValueError(f"发件人地址“{sender}”格式不对")
    if not email_ok(out.park.email):
        raise ValueError(f"{out.park.name} 的电子邮箱“{out.park.email}”格式不对")


def build_message(out: Outgoing, sender: str, sender_name: str = "") -> MIMEMultipart:
    """The message, ready for smtplib or an .eml file (serialise with as_bytes(policy=WIRE))."""
    check_addresses(out, sender)
    msg = MIMEMultipart(boundary=BytesGenerator._make_boundary())  # the generator's own, made without its search
    msg["From"] = formataddr((one_line(sender_name), sender), charset="utf-8") if sender_name else sender
    msg["To"] = formataddr((one_line(out.park.contact or out.park.name), out.park.email.strip()), charset="utf-8")
    msg["Subject"] = Header(one_line(out.subject), "utf-8")
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    msg.attach(MIMEText(out.body, "plain", "utf-8"))
    for name, data in out.attachments:
        name = one_line(name)
        part = MIMEBase(*TYPES.get(Path(name).suffix.lower(), ("application", "octet-stream")), name=_encoded_word(name))
        part.set_payload(base64_lines(data))  # what encoders.encode_base64 sets
        part["Content-Transfer-Encoding"] = "base64"
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
        msg.attach(part)
    return msg


def base64_lines(data: bytes) -> str:
    """base64.encodebytes(data) as text (76 characters a line, each ending in a newline), made from one encoding of
    the whole: encodebytes encodes 57 bytes at a time, ~1,800 calls for an attachment of 100 KB."""
    text = base64.b64encode(data).decode("ascii")
    return "".join([text[i:i + 76] + "\n" for i in range(0, len(text), 76)])


class _Generator(BytesGenerator):
    """The standard library's BytesGenerator, writing a part's lines in one piece: its own writes each line and
    each line end apart (an attachment of 100 KB is some 1,800 lines in base64; feedback to 1,000 parks spent most
    of its main process so). The same bytes: tests/test_mail.py holds it to BytesGenerator's."""

    def _write_lines(self, lines):
        if not lines:
            return
        if "\r" not in lines:  # (every base64 part): the line ends NLCRE would split at are the newlines
            self.write(lines.replace("\n", self._NL))
            return
        lines = NLCRE.split(lines)
        if len(lines) > 1:
            self.write(self._NL.join(lines[:-1]) + self._NL)
        if lines[-1]:
            self.write(lines[-1])


def message_bytes(msg) -> bytes:
    """msg.as_bytes(policy=WIRE), made faster."""
    out = io.BytesIO()
    _Generator(out, mangle_from_=False, policy=WIRE).flatten(msg, unixfrom=False)
    return out.getvalue()


def safe_filename(text: str, suffix: str = "", limit: int = 80) -> str:
    """A file name that Windows accepts and that cannot leave its folder."""
    name = re.sub(r'[<>:"/\\|?*\x00-\x1f\x7f]+', "_", one_line(text)).strip(" .")
    name = re.sub(r"_+", "_", name)[:limit].strip(" ._") or "未命名"
    if name.upper() in {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}:
        name = "_" + name
    return name + suffix
