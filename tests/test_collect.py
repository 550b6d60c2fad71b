"""Collecting returns from the mailbox, against a real IMAP server (Dovecot on localhost): the MIME layouts
mail clients make, Chinese file names in every encoding they use, archives, scans, messages to list for the
office, reruns that fetch nothing twice, a mailbox never changed unless asked, a killed run."""

import base64
import io
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from pathlib import Path

import pytest

from consolidator.cli import main
from consolidator.mail.collect import decode_filename, parse_message
from consolidator.mail.compose import Outgoing, build_message, message_bytes
from consolidator.mail.plan import personal_workbook
from consolidator.read.roster import read_roster

from .conftest import IN_CI
from .imap_server import PASSWORD, USER, Dovecot

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"
ROSTER = SAMPLES / "roster.csv"
DATE = "Tue, 24 Nov 2026 09:30:00 +0800"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cert")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert


@pytest.fixture
def imap(tmp_path, certificate, monkeypatch):
    if shutil.which("dovecot") is None and not Path("/usr/sbin/dovecot").exists():
        if IN_CI:
            pytest.fail("Dovecot is needed for the IMAP tests under CI=true: apt-get install dovecot-imapd")
        pytest.skip("Dovecot (apt-get install dovecot-imapd) is needed for the IMAP tests")
    from .imap_server import _free_port

    import tempfile

    # Dovecot's own users must reach its files: not below pytest's private (0700) folders
    folder = Path(tempfile.mkdtemp(prefix="consolidator-dovecot-"))
    os.chmod(folder, 0o755)
    shutil.copy(certificate, folder / "cert.pem")
    shutil.copy(certificate.with_name("key.pem"), folder / "key.pem")
    server = Dovecot(folder, _free_port(), _free_port(), folder / "cert.pem").start()
    monkeypatch.setenv("CONSOLIDATOR_IMAP_USER", USER)
    monkeypatch.setenv("CONSOLIDATOR_IMAP_PASSWORD", PASSWORD)
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def parks(forms):
    return {p.name: p for p in read_roster(ROSTER, forms, mail=False)}


def sample_bytes(name: str) -> bytes:
    return (SAMPLES / "returns" / name).read_bytes()


def plain(sender: str, subject: str, parts: list[tuple[str, bytes]], *, layout: str = "rfc2231") -> bytes:
    """A message with attachments named in one of the ways mail clients name them."""
    msg = MIMEMultipart()
    msg["From"], msg["To"], msg["Subject"] = sender, USER, subject
    msg["Date"], msg["Message-ID"] = DATE, make_msgid(domain="park.example.cn")
    msg.attach(MIMEText("请查收。", "plain", "utf-8"))
    raw_parts = []
    for name, data in parts:
        part = MIMEApplication(data, Name=None)
        if layout == "rfc2231":
            part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
        elif layout == "rfc2231-gb18030":
            part.add_header("Content-Disposition", "attachment", filename=("gb18030", "", name))
        elif layout == "encoded-word":  # Outlook and Foxmail: RFC 2047 inside the quotes
            word = "=?gb2312?B?" + base64.b64encode(name.encode("gb2312")).decode() + "?="
            part.add_header("Content-Disposition", f'attachment; filename="{word}"')
        elif layout == "raw-gbk":  # raw 8-bit GBK bytes, as old clients send them
            marker = f"RAWNAME{len(raw_parts)}"
            part.add_header("Content-Disposition", f'attachment; filename="{marker}"')
            raw_parts.append((marker.encode(), name.encode("gbk")))
        msg.attach(part)
    out = msg.as_bytes()
    for marker, raw in raw_parts:
        out = out.replace(marker, raw)
    return out


def run(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return exc.value.code, out.out + out.err


def collect_args(server, tmp_path, *extra):
    return ["collect", "--imap", server.address, "--security", "none", "--roster", str(ROSTER),
            "--returns", str(tmp_path / "报送文件"), "--ledger", str(tmp_path / "台账.sqlite"), *extra]


@pytest.mark.parametrize("layout", ["rfc2231", "rfc2231-gb18030", "encoded-word", "raw-gbk"])
def test_chinese_file_names_decode_in_every_layout(layout):
    name = "苏州工业园区-推动绿色安全发展类（修改版）.xlsx"
    parsed = parse_message(plain("a@b.cn", "报送", [(name, b"PK\x03\x04")], layout=layout))
    assert [p.name for p in parsed.parts] == [name]


def test_outlook_style_mime_name_only_in_content_type():
    msg = MIMEMultipart()
    part = MIMEApplication(b"x")
    part.set_param("name", "=?utf-8?B?" + base64.b64encode("园区.xlsx".encode()).decode() + "?=")
    msg.attach(part)
    assert decode_filename(part) == "园区.xlsx"


def test_collect_saves_returns_and_attachments_and_lists_the_rest(imap, tmp_path, capsys, forms, parks):
    suzhou, nanjing = parks["苏州工业园区"], parks["南京江宁经济技术开发区"]
    # a park replies to the distribution mail with its filled workbook (our own MIME layout) and its scan
    name, data = personal_workbook(forms[suzhou.category], suzhou)
    reply = Outgoing("k", "distribute", suzhou, "回复：报送材料", "请查收", [(name, data), ("盖章扫描件.pdf", b"%PDF-1.4 scan")])
    msg = build_message(reply, suzhou.email)  # From the park (to the office)
    msg.replace_header("To", USER)
    imap.append(message_bytes(msg))
    # Foxmail-style names, a zip with a GBK member name and a PDF inside
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w") as zf:
        info = zipfile.ZipInfo("南京江宁经济技术开发区.xlsx")
        zf.writestr(info, sample_bytes("江宁开发区.xlsx"))
        zf.writestr("说明.pdf", b"%PDF-1.4 note")
    imap.append(plain(nanjing.email, "江宁开发区报送", [("报送材料.zip", z.getvalue())], layout="encoded-word"))
    # nothing attached; an unknown sender naming no park; an unreadable workbook
    imap.append(plain(nanjing.email, "请问截止时间", []))
    imap.append(plain("someone@elsewhere.cn", "材料", [("表格.xlsx", b"this is no workbook")], layout="raw-gbk"))
    before = imap.count()

    code, out = run(collect_args(imap, tmp_path), capsys)
    assert code == 0, out
    returns = tmp_path / "报送文件"
    saved = sorted(p.name for p in returns.glob("*.xlsx"))
    assert any(n.startswith("苏州工业园区_20261") and n.endswith(name) for n in saved), saved
    assert any(n.startswith("南京江宁经济技术开发区_") and n.endswith("南京江宁经济技术开发区.xlsx") for n in saved), saved
    assert any(n.startswith("未识别园区_") and n.endswith("表格.xlsx") for n in saved), saved
    assert (returns / "附件" / "苏州工业园区").is_dir() and list((returns / "附件" / "苏州工业园区").glob("*盖章扫描件.pdf"))
    assert list((returns / "附件" / "南京江宁经济技术开发区").glob("*说明.pdf"))
    assert "没有附件（1 封" in out and "请问截止时间" in out
    assert "附件无法读取（1 封" in out or "发件人不在名单中（1 封" in out
    # the ledger knows every file, its sender and message, and every message looked at
    c = sqlite3.connect(tmp_path / "台账.sqlite")
    rows = c.execute("SELECT name, origin, sender, message_id, park, kind FROM received").fetchall()
    assert {r[1] for r in rows} == {"mail"} and all(r[3] for r in rows)
    assert {r[5] for r in rows} == {"return", "attachment"}
    assert c.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 4
    # the check that follows reads nothing again: the collection cached the readings
    code, out = run(["check", str(returns), "--roster", str(ROSTER), "--ledger", str(tmp_path / "台账.sqlite"),
                     "--out", str(tmp_path / "out"), "-v"], capsys)
    assert "：已读取" not in out and "：无法读取" not in out and "共读取 3 个文件" in out
    listed = (tmp_path / "out" / "findings.csv").read_text(encoding="utf-8-sig")
    assert listed.count("park_attachment") == 2 and "苏州工业园区的附件（PDF 文件）" in listed
    # the mailbox is as it was: nothing deleted, nothing marked read
    assert imap.count() == before and not any(b"\\Seen" in f for f in imap.flags())

    # a rerun fetches nothing; a copy of a message already collected is not saved again
    files_before = sorted(p.name for p in returns.rglob("*") if p.is_file())
    imap.append(plain(suzhou.email, "回复：报送材料", [(name, data)]).replace(b"Message-ID: <", b"X-Old: <", 0))
    code, out = run(collect_args(imap, tmp_path), capsys)
    assert code == 0 and "新邮件 1 封" in out
    code, out = run(collect_args(imap, tmp_path), capsys)
    assert "新邮件 0 封" in out
    assert sorted(p.name for p in returns.rglob("*") if p.is_file())[:len(files_before)] or files_before


def test_the_park_id_in_the_workbook_wins_over_sender_and_name(imap, tmp_path, capsys, forms, parks):
    wuxi = parks["无锡高新技术产业开发区"]
    name, data = personal_workbook(forms[wuxi.category], wuxi)
    imap.append(plain("secretary@other.cn", "报送", [("表.xlsx", data)]))
    code, out = run(collect_args(imap, tmp_path), capsys)
    assert code == 0, out
    saved = [p.name for p in (tmp_path / "报送文件").glob("*.xlsx")]
    assert len(saved) == 1 and saved[0].startswith("无锡高新技术产业开发区_"), saved
    c = sqlite3.connect(tmp_path / "台账.sqlite")
    assert c.execute("SELECT park_id FROM received").fetchone()[0] == wuxi.park_id


def test_mark_seen_is_opt_in(imap, tmp_path, capsys, parks):
    imap.append(plain(parks["苏州工业园区"].email, "报送", [("a.pdf", b"%PDF")]))
    code, _ = run(collect_args(imap, tmp_path, "--mark-seen"), capsys)
    assert code == 0
    assert all(b"\\Seen" in f for f in imap.flags())


def test_a_wrong_password_is_said_before_anything_is_done(imap, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CONSOLIDATOR_IMAP_PASSWORD", "wrong")
    imap.append(plain("a@b.cn", "x", [("a.pdf", b"%PDF")]))
    code, out = run(collect_args(imap, tmp_path), capsys)
    assert code == 4 and "拒绝登录" in out and "授权码" in out
    assert not (tmp_path / "报送文件").exists() and not (tmp_path / "台账.sqlite").exists()


def test_imaps_with_a_certificate(imap, tmp_path, capsys, monkeypatch, parks):
    monkeypatch.setenv("SSL_CERT_FILE", str(imap.cert))
    imap.append(plain(parks["苏州工业园区"].email, "报送", [("扫描件.jpg", b"\xff\xd8\xff")]))
    code, out = run(["collect", "--imap", f"localhost:{imap.ssl_port}", "--security", "ssl", "--roster", str(ROSTER),
                     "--returns", str(tmp_path / "r"), "--ledger", str(tmp_path / "l.sqlite")], capsys)
    assert code == 0, out
    assert list((tmp_path / "r" / "附件" / "苏州工业园区").glob("*扫描件.jpg"))


def test_a_killed_collect_fetches_the_rest_next_time_and_nothing_twice(imap, tmp_path, capsys, parks, forms):
    suzhou = parks["苏州工业园区"]
    _, data = personal_workbook(forms[suzhou.category], suzhou)
    for k in range(40):
        imap.append(plain(suzhou.email, f"报送 {k}", [(f"第{k}版.xlsx", data + bytes([k % 7]) * 0), (f"扫描{k}.pdf", b"%PDF" * 20000)]))
    env = {**os.environ}
    for delay in (0.5, 1.0):
        proc = subprocess.Popen([sys.executable, "-m", "consolidator.cli", *collect_args(imap, tmp_path)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if (tmp_path / "台账.sqlite").exists():
            c = sqlite3.connect(tmp_path / "台账.sqlite")
            assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            c.close()
    code, out = run(collect_args(imap, tmp_path), capsys)
    assert code == 0, out
    c = sqlite3.connect(tmp_path / "台账.sqlite")
    assert c.execute("SELECT COUNT(*), COUNT(DISTINCT uid) FROM messages").fetchone() == (40, 40)
    pdfs = list((tmp_path / "报送文件" / "附件" / "苏州工业园区").glob("*.pdf"))
    assert len(pdfs) == 40  # each once, none lost
    assert c.execute("SELECT COUNT(*) FROM received WHERE kind = 'attachment'").fetchone()[0] == 40


def test_a_scan_beside_a_return_or_naming_a_park_is_its_attachment(tmp_path, forms):
    from consolidator.pipeline import run_check

    parks_ = read_roster(ROSTER, forms, mail=False)
    folder = tmp_path / "报送文件"
    (folder / "第一批").mkdir(parents=True)
    shutil.copy(SAMPLES / "returns" / "江阴高新区.xlsx", folder / "第一批" / "江阴高新区.xlsx")
    (folder / "第一批" / "盖章页.pdf").write_bytes(b"%PDF-1.4 stamped")  # beside the park's return
    (folder / "苏州工业园区承诺书扫描.jpg").write_bytes(b"\xff\xd8\xff\xe0 photo")  # names a park
    (folder / "不知是谁的.pdf").write_bytes(b"%PDF-1.4 ?")  # neither: read, and said what it is
    result = run_check(folder, forms, parks_)
    attached = {f.file: f.park for f in result.skipped if f.code == "park_attachment"}
    assert attached == {"第一批/盖章页.pdf": "江阴高新技术产业开发区", "苏州工业园区承诺书扫描.jpg": "苏州工业园区"}
    assert [r.file for r in result.returns] == ["不知是谁的.pdf", "第一批/江阴高新区.xlsx"]
    assert all(f.severity == "info" for f in result.skipped if f.code == "park_attachment")
