"""distribute and feedback against a real SMTP server started on localhost (aiosmtpd)."""

import email
import hashlib
import io
import shutil
import socket
import subprocess
from email import policy

import openpyxl
import pytest

from consolidator.cli import main
from consolidator.read.roster import read_roster
from consolidator.read.sources import Source
from consolidator.read.workbook import read_return

from .conftest import ROOT

aiosmtpd = pytest.importorskip("aiosmtpd", reason="pip install aiosmtpd (in the test extras)")
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402

SAMPLES = ROOT / "sample_data"
SENDER = "gyc@jiit.gov.cn"
OFFICE = "江苏省工业和信息化厅"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    def __init__(self):
        self.messages, self.reject = [], set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.original_content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def server():
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.address = f"127.0.0.1:{controller.port}"
    yield handler
    controller.stop()


def run(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return exc.value.code, out.out + out.err


def distribute(server, outbox, capsys, *extra, roster=SAMPLES / "roster.csv"):
    return run(["distribute", "--roster", str(roster), "--out", str(outbox), "--from", SENDER, "--smtp", server.address,
                "--security", "none", "--pause", "0", "--office-name", OFFICE, *extra], capsys)


def test_every_park_gets_its_own_workbook_once(server, tmp_path, capsys, forms):
    code, out = distribute(server, tmp_path / "发件箱", capsys)
    assert code == 0, out
    parks = read_roster(SAMPLES / "roster.csv", forms)
    assert sorted(rcpt[0] for _, rcpt, _ in server.messages) == sorted(p.email for p in parks)
    assert all(len(rcpt) == 1 and sender == SENDER for sender, rcpt, _ in server.messages)
    by_email = {p.email: p for p in parks}
    for _, (to,), msg in server.messages:
        park = by_email[to]
        assert park.name in msg["Subject"]
        (att,) = list(msg.iter_attachments())
        name = att.get_filename()
        assert name == f"{park.name}_{forms[park.category].category_name}_填报表.xlsx"
        data = att.get_content()
        path = tmp_path / "att.xlsx"
        path.write_bytes(data)
        raw = read_return(Source(name, None, path), forms)
        assert (raw.category, raw.park_id) == (park.category, park.park_id)
        assert raw.cells["park_name"].raw == park.name and raw.cells["county"].raw == park.county
    # the park cannot change its prefilled identity by accident
    wb = openpyxl.load_workbook(io.BytesIO(data))
    sheet, coord = raw.cells["park_name"].sheet, raw.cells["park_name"].coord
    assert wb[sheet][coord].protection.locked and wb[sheet].protection.sheet
    # a rerun of the same round sends nothing
    code, out = distribute(server, tmp_path / "发件箱", capsys)
    assert code == 0 and len(server.messages) == len(parks) and out.count("已发送过，跳过") == len(parks)
    # a new round sends again
    code, _ = distribute(server, tmp_path / "发件箱", capsys, "--round", "第二轮")
    assert len(server.messages) == 2 * len(parks)


def test_dry_run_sends_nothing(server, tmp_path, capsys):
    code, out = distribute(server, tmp_path / "发件箱", capsys, "--dry-run")
    assert code == 0 and server.messages == [] and out.count("将发送（试运行）") == 14
    assert not (tmp_path / "发件箱" / "发送记录.csv").exists()


@pytest.fixture
def small_roster(tmp_path):
    lines = (SAMPLES / "roster.csv").read_text(encoding="utf-8-sig").splitlines()
    path = tmp_path / "三个园区.csv"
    path.write_text("\n".join(lines[:2] + lines[8:10]) + "\n", encoding="utf-8-sig")  # JS001, JS008, JS009
    return path


def test_a_failed_message_does_not_stop_the_others_and_is_sent_by_a_rerun(server, tmp_path, capsys, small_roster):
    server.reject = {"wujun@ks.gov.cn"}
    code, out = distribute(server, tmp_path / "发件箱", capsys, roster=small_roster)
    assert code == 4 and len(server.messages) == 2 and "发送失败" in out
    server.reject = set()
    code, out = distribute(server, tmp_path / "发件箱", capsys, roster=small_roster)
    assert code == 0 and len(server.messages) == 3
    assert [rcpt for _, rcpt, _ in server.messages[2:]] == [["wujun@ks.gov.cn"]]


def test_line_breaks_in_the_roster_cannot_add_recipients_or_headers(server, tmp_path, capsys):
    roster = tmp_path / "名单.csv"
    roster.write_text('园区名称,所在城市,所在区县,类别,联系人,电子邮箱\n'
                      '"苏州工业园区\r\nBcc: spy@evil.example",江苏省苏州市,工业园区,推动绿色安全发展类,'
                      '"王伟\nCc: spy2@evil.example",wang@sipac.gov.cn\n', encoding="utf-8")
    code, out = distribute(server, tmp_path / "发件箱", capsys, roster=roster)
    assert code == 0, out
    (sender, rcpt, msg), = server.messages
    assert rcpt == ["wang@sipac.gov.cn"]
    assert msg["Bcc"] is None and msg["Cc"] is None
    assert "spy" not in msg["To"].addresses[0].addr_spec


def test_eml_files_when_no_server_is_given(tmp_path, capsys):
    code, out = run(["distribute", "--roster", str(SAMPLES / "roster.csv"), "--out", str(tmp_path / "o"),
                     "--from", SENDER, "--office-name", OFFICE], capsys)
    assert code == 0
    emls = sorted((tmp_path / "o" / "邮件").glob("*.eml"))
    assert len(emls) == 14
    msg = email.message_from_bytes(emls[0].read_bytes(), policy=policy.default)
    assert next(msg.iter_attachments()).get_filename().endswith("_填报表.xlsx")
    assert msg["X-Unsent"] == "1"  # Outlook and Foxmail open it as a draft
    assert all(p.name.endswith("_填报通知.eml") for p in emls)  # named in Chinese
    assert len(list((tmp_path / "o" / "填报表").glob("*.xlsx"))) == 14


def server_certificate(tmp_path):
    """A self-signed certificate for localhost, and the server-side TLS context using it."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    import ssl

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    cert, context = server_certificate(tmp_path)
    handler = Recorder()

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"gyc", b"s3cret")
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    controller = Controller(handler, hostname="localhost", port=free_port(), tls_context=context,
                            require_starttls=True, authenticator=authenticate, auth_require_tls=True)
    controller.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts the test certificate, nothing else changes
    handler.address = f"localhost:{controller.port}"
    yield handler
    controller.stop()


def test_starttls_and_login_from_the_environment(tls_server, tmp_path, capsys, monkeypatch, small_roster):
    args = ["distribute", "--roster", str(small_roster), "--out", str(tmp_path / "o"), "--from", SENDER,
            "--smtp", tls_server.address, "--security", "starttls", "--pause", "0", "--office-name", OFFICE]
    monkeypatch.setenv("CONSOLIDATOR_SMTP_USER", "gyc")
    monkeypatch.setenv("CONSOLIDATOR_SMTP_PASSWORD", "wrong")
    code, out = run(args, capsys)
    assert code == 4 and "拒绝登录" in out and "用户名或密码不对" in out and tls_server.messages == []
    assert not (tmp_path / "o").exists()  # refused before any work was done
    monkeypatch.setenv("CONSOLIDATOR_SMTP_PASSWORD", "s3cret")
    code, out = run(args, capsys)
    assert code == 0, out
    assert len(tls_server.messages) == 3


def test_a_server_that_is_not_there_is_said_in_chinese(tmp_path, capsys, small_roster):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out = run(["distribute", "--roster", str(small_roster), "--out", str(tmp_path / "o"), "--from", SENDER,
                     "--smtp", f"127.0.0.1:{port}", "--security", "none", "--office-name", OFFICE], capsys)
    assert code == 4
    assert "服务器拒绝连接（地址或端口不对" in out and "Errno" not in out and "refused" not in out


def tree_digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_feedback_round_trip(server, tmp_path, capsys, forms):
    returns = tmp_path / "报送"
    shutil.copytree(SAMPLES / "returns", returns)
    before = tree_digest(returns)
    args = ["feedback", str(returns), "--roster", str(SAMPLES / "roster.csv"), "--out", str(tmp_path / "o"),
            "--from", SENDER, "--smtp", server.address, "--security", "none", "--pause", "0", "--office-name", OFFICE]
    code, out = run(args, capsys)
    assert code == 0, out
    assert tree_digest(returns) == before
    kinds = {}
    for _, (to,), msg in server.messages:
        kinds[to] = msg
    assert len(server.messages) == len(kinds) == 14  # every roster park, once
    assert "提醒" in kinds["zhaoyong@yz.gov.cn"]["Subject"]  # sent nothing
    assert next(kinds["zhaoyong@yz.gov.cn"].iter_attachments()).get_filename().endswith("_填报表.xlsx")
    assert "已收到" in kinds["wujun@ks.gov.cn"]["Subject"]  # accepted: the official form to print and stamp
    assert [a.get_filename() for a in kinds["wujun@ks.gov.cn"].iter_attachments()] == [
        "昆山经济技术开发区-经验总结材料（提高开放合作水平类）.docx"]
    assert "无法读取" in kinds["huxia@ha.gov.cn"]["Subject"]
    problems = kinds["zhoujie@jy.gov.cn"]
    body = problems.get_body(("plain",)).get_content()
    assert "2025年主导产业营业收入不能大于营业收入" in body and "三、发展情况 C4" in body
    (att,) = list(problems.iter_attachments())
    wb = openpyxl.load_workbook(io.BytesIO(att.get_content()))
    c = wb["三、发展情况"]["C4"]
    assert "主导产业营业收入不能大于营业收入" in c.comment.text and c.fill.start_color.rgb.endswith("FFC7CE")
    # the annotated copy is still a return the checker recognises
    (tmp_path / "copy.xlsx").write_bytes(att.get_content())
    raw = read_return(Source("copy.xlsx", None, tmp_path / "copy.xlsx"), forms)
    assert raw.category == "open_cooperation" and raw.park_id == "JS009"
    # the same returns again: nothing is sent twice
    code, out = run(args, capsys)
    assert code == 0 and len(server.messages) == 14


def test_implicit_ssl(tmp_path, capsys, monkeypatch, small_roster):
    cert, context = server_certificate(tmp_path)
    handler = Recorder()
    controller = Controller(handler, hostname="localhost", port=free_port(), ssl_context=context)
    controller.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    try:
        code, out = run(["distribute", "--roster", str(small_roster), "--out", str(tmp_path / "o"), "--from", SENDER,
                         "--smtp", f"localhost:{controller.port}", "--security", "ssl", "--pause", "0",
                         "--office-name", OFFICE], capsys)
    finally:
        controller.stop()
    assert code == 0, out
    assert len(handler.messages) == 3
