import email
from email import policy

import pytest

from consolidator.mail.compose import (
    DEFAULT_TEMPLATES,
    MailTemplateError,
    Outgoing,
    build_message,
    message_bytes,
    one_line,
    render,
    safe_filename,
)
from consolidator.read.roster import Park


def park(**kw):
    base = dict(park_id="P1", name="苏州工业园区", city="江苏省苏州市", county="工业园区", category="green_safety",
                contact="王伟", email="wang@sipac.gov.cn", row=2)
    return Park(**{**base, **kw})


def parse(msg):
    return email.message_from_bytes(message_bytes(msg), policy=policy.default)


def test_line_breaks_cannot_inject_headers():
    evil = park(name="苏州\r\nBcc: spy@evil.example", contact="王伟\nX-Injected: 1")
    out = Outgoing("k", "distribute", evil, "主题\r\nBcc: spy2@evil.example", "正文", [("苏州\n工业园区.xlsx", b"x")])
    m = parse(build_message(out, "office@gov.cn", "省工信厅\r\nBcc: spy3@evil.example"))
    assert m["Bcc"] is None and m["X-Injected"] is None
    assert m["Subject"] == "主题 Bcc: spy2@evil.example"
    assert [a for a in m.iter_attachments()][0].get_filename() == "苏州 工业园区.xlsx"
    raw = message_bytes(build_message(out, "office@gov.cn"))
    assert b"\nBcc:" not in raw and b"\nX-Injected" not in raw


def test_chinese_attachment_name_is_encoded_for_common_clients():
    out = Outgoing("k", "distribute", park(), "主题", "正文", [("苏州工业园区_填报表.xlsx", b"PK\x03\x04data")])
    msg = build_message(out, "office@gov.cn", "江苏省工业和信息化厅")
    raw = message_bytes(msg)
    assert b"filename*=utf-8''%E8%8B%8F%E5%B7%9E" in raw  # RFC 2231
    assert b'name="=?utf-8?b?' in raw  # RFC 2047, for clients that read only Content-Type
    part = next(parse(msg).iter_attachments())
    assert part.get_filename() == "苏州工业园区_填报表.xlsx"
    assert part.get_content_type() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert part.get_param("name", header="content-type") == "苏州工业园区_填报表.xlsx"  # RFC 2047 decodes too
    assert part.get_content() == b"PK\x03\x04data"
    assert parse(msg)["To"] == "王伟 <wang@sipac.gov.cn>"


@pytest.mark.parametrize("body", ["正文", "第一行\r\n第二行\n第三行\r", "", "x" * 5000 + "\n\n"])
@pytest.mark.parametrize("sizes", [(), (0,), (1, 57, 58), (100_000,), (3, 300_001)])
def test_a_message_is_the_bytes_the_standard_library_makes(body, sizes):
    """message_bytes writes a part's lines in one piece; what it writes is BytesGenerator's, byte for byte."""
    import random

    from consolidator.mail.compose import WIRE

    rnd = random.Random(len(body) * 7 + sum(sizes))
    files = [(f"附件{k}.xlsx", bytes(rnd.randrange(256) for _ in range(n))) for k, n in enumerate(sizes)]
    msg = build_message(Outgoing("k", "feedback", park(), "关于报送问题的反馈", body, files), "office@gov.cn", "省工信厅")
    assert message_bytes(msg) == msg.as_bytes(policy=WIRE)


def test_bad_addresses_are_refused():
    with pytest.raises(ValueError, match="电子邮箱"):
        build_message(Outgoing("k", "distribute", park(email="wang#sipac"), "s", "b"), "office@gov.cn")
    with pytest.raises(ValueError, match="发件人"):
        build_message(Outgoing("k", "distribute", park(), "s", "b"), "office")


def test_templates_render_subject_and_body():
    subject, body = render(DEFAULT_TEMPLATES, "distribute", park=park(), title="2026年工业园区高质量发展创新实践",
                           category="推动绿色安全发展类", deadline="2026年12月15日", office="省工信厅")
    assert subject == "2026年工业园区高质量发展创新实践经验总结材料填报（苏州工业园区）"
    assert body.startswith("王伟：") and "于2026年12月15日前" in body and body.rstrip().endswith("省工信厅")


@pytest.mark.parametrize("errors, warnings", [(2, 1), (1, 0), (0, 3)])
def test_a_return_with_only_warnings_is_asked_to_verify_not_to_correct(errors, warnings):
    """Errors: correct and send again. Warnings alone: nothing is wrong yet, the park verifies (corrects or explains)."""
    problems = [{"severity": "错误", "place": "三、发展情况 C5", "label": "营业收入", "message": "应大于0"}] * errors + [
        {"severity": "需要核实", "place": "三、发展情况 C9", "label": "利润总额", "message": "请核实"}] * warnings
    subject, body = render(DEFAULT_TEMPLATES, "feedback_problems", park=park(), title="2026年工业园区高质量发展创新实践",
                           file="苏州.xlsx", problems=problems, errors=errors, warnings=warnings, annotated="",
                           deadline="2026年12月15日", office="省工信厅", previous=None)
    assert body.count("【错误】") == errors and body.count("【需要核实】") == warnings
    if errors:
        assert subject.startswith("请修改后重新报送") and f"有 {errors} 处错误" in body and "“错误”必须修改" in body
        assert ("处需要核实" in body) == bool(warnings)
    else:
        assert subject.startswith("请核实数据") and f"没有错误，有 {warnings} 处数据需要核实" in body
        assert "错误”必须修改" not in body and "0 处错误" not in body and "于2026年12月15日前重新发送" in body


def test_a_list_row_is_placed_once_in_the_mail():
    """企业清单 C17, not 企业清单 C17（企业清单第17行）; a field keeps its label beside its cell."""
    from consolidator.findings import Finding
    from consolidator.mail.plan import _problem_rows

    rows = _problem_rows([Finding("list_duplicate", "warning", "重复", sheet="企业清单", cell="C17", label="企业清单第17行"),
                          Finding("range", "error", "应大于0", sheet="三、发展情况", cell="C5", label="营业收入（亿元）")])
    assert [(r["place"], r["label"]) for r in rows] == [("三、发展情况 C5", "营业收入（亿元）"), ("企业清单 C17", "")]
    _, body = render(DEFAULT_TEMPLATES, "feedback_problems", park=park(), title="t", file="f.xlsx", problems=rows,
                     errors=1, warnings=1, annotated="", office="省工信厅", previous=None, deadline="")
    assert "企业清单 C17：重复" in body and "企业清单第17行" not in body


def test_template_mistakes_are_reported_in_chinese(tmp_path):
    (tmp_path / "distribute.txt.j2").write_text("Subject: x\n正文", encoding="utf-8")
    with pytest.raises(MailTemplateError, match="第一行应以“主题：”开头"):
        render(tmp_path, "distribute", park=park())
    (tmp_path / "distribute.txt.j2").write_text("主题：{{ nope }}\n正文", encoding="utf-8")
    with pytest.raises(MailTemplateError, match="有误"):
        render(tmp_path, "distribute", park=park())
    with pytest.raises(MailTemplateError, match="找不到邮件模板"):
        render(tmp_path, "feedback_accepted", park=park())


@pytest.mark.parametrize("text, name", [
    ("../../etc/passwd", "etc_passwd"), ("苏州:园区*?", "苏州_园区"), ("CON", "_CON"), ("  . ", "未命名"),
    ("a\r\nb", "a b"), ("园区" * 100, "园区" * 40),
])
def test_safe_filename(text, name):
    assert safe_filename(text) == name


def test_one_line():
    assert one_line("a\r\n\tb\u2028c") == "a b c"


def test_feedback_never_names_another_park(forms):
    """A park that lists an enterprise other parks list too is told how many, never which."""
    from consolidator.check.batch import check_batch
    from consolidator.mail.plan import plan_feedback

    from .conftest import raw_return, sample

    form = forms["green_safety"]
    roster = [Park(f"P{i}", name, "江苏省苏州市", "工业园区", "green_safety", "联系人", f"p{i}@x.cn", i + 1)
              for i, name in enumerate(["甲园区", "乙园区", "丙园区"])]
    samples = [sample(form, 40 + i, park_name=p.name) for i, p in enumerate(roster)]
    shared = dict(next(e for e in samples[0].enterprises if e["category"] == "国家高新技术企业"))
    for s in samples[1:]:
        s.enterprises.append(shared)
        s.values["hitech_count"] += 1
    raws = [raw_return(form, s.values, s.enterprises, file=f"{p.name}.xlsx", park_id=p.park_id)
            for s, p in zip(samples, roster)]
    for raw in raws:
        raw.source.data = b""  # plan_feedback reads the file for the annotated copy; none here
    result = check_batch(raws, forms, roster)
    outgoing, _ = plan_feedback(result, forms, DEFAULT_TEMPLATES, {"office": "省工信厅"})
    assert len(outgoing) == 3
    for out in outgoing:
        others = [p.name for p in roster if p.name != out.park.name]
        text = out.subject + out.body
        assert "另有 2 个园区也填报了该企业" in text
        assert not any(name in text for name in others)


def _drafts(folder):
    """Each .eml file's bytes without its Date, Message-ID and part boundary (made anew for every message), by name."""
    import re

    out = {}
    for path in sorted(folder.rglob("*.eml")):
        data = path.read_bytes()
        boundary = re.search(rb'boundary="([^"]+)"', data).group(1)
        lines = data.replace(boundary, b"BOUNDARY").split(b"\r\n")
        out[path.name] = b"\r\n".join(line for line in lines if not line.startswith((b"Date:", b"Message-ID:")))
    return out


def test_eml_files_composed_on_all_cores_are_those_composed_here(tmp_path, monkeypatch):
    """From EML_PER_WORKER messages a worker, the .eml files are composed on all cores and written here in order:
    the same files as composed one by one in this process, each with the Message-ID the ledger records."""
    import multiprocessing

    import consolidator.mail.send as send
    from consolidator.ledger import Ledger

    outgoing = [Outgoing(f"k{i}", "feedback", park(park_id=f"P{i}", name=f"园区{i:03d}", email=f"p{i}@park.gov.cn"),
                         f"关于园区{i:03d}报送的反馈", f"正文{i}\n第二行", [(f"园区{i:03d}_问题标注.xlsx", bytes([i % 256]) * (i * 300))])
                for i in range(2 * send.EML_PER_WORKER + 5)]
    made = {}
    for how, per_worker in (("cores", send.EML_PER_WORKER), ("here", 10**6)):
        monkeypatch.setattr(send, "EML_PER_WORKER", per_worker)
        with Ledger.open(tmp_path / f"{how}.sqlite") as book:
            results = send.deliver(outgoing, tmp_path / how, "office@gov.cn", book, sender_name="省工信厅")
            ids = [r["message_id"] for r in book.sent_rows()]
        assert [r.park for r in results] == [o.park.name for o in outgoing]
        made[how] = _drafts(tmp_path / how)
        headers = [email.message_from_bytes(open(r.detail, "rb").read())["Message-ID"] for r in results]
        assert headers == ids and len(set(ids)) == len(outgoing)
        assert not multiprocessing.active_children()  # the workers ended with the batch
    assert made["cores"] == made["here"] and len(made["here"]) == len(outgoing)


def test_a_bad_address_is_refused_before_any_eml_file_is_written(tmp_path):
    import consolidator.mail.send as send
    from consolidator.ledger import Ledger

    outgoing = [Outgoing(f"k{i}", "feedback", park(park_id=f"P{i}", name=f"园区{i}", email=f"p{i}@park.gov.cn"), "主题",
                         "正文") for i in range(2 * send.EML_PER_WORKER)]
    outgoing[-1] = Outgoing("bad", "feedback", park(email="p#park.gov.cn"), "主题", "正文")
    with Ledger.open(tmp_path / "l.sqlite") as book, pytest.raises(ValueError, match="电子邮箱"):
        send.deliver(outgoing, tmp_path / "out", "office@gov.cn", book)
    assert not list((tmp_path / "out").rglob("*.eml"))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 56, 57, 58, 114, 1000, 100_001])
def test_attachments_are_encoded_as_the_standard_library_encodes_them(n):
    """build_message encodes an attachment in one pass (compose.base64_lines) and names the boundary itself; the
    part is what email.encoders.encode_base64 makes of it, headers in the same order."""
    import base64
    import random
    from email import encoders
    from email.mime.base import MIMEBase

    data = random.Random(n).randbytes(n)
    msg = build_message(Outgoing("k", "feedback", park(), "主题", "正文", [("附件.xlsx", data)]), "office@gov.cn")
    part = msg.get_payload()[1]
    theirs = MIMEBase("application", "octet-stream")
    theirs.set_payload(data)
    encoders.encode_base64(theirs)
    assert part.get_payload() == theirs.get_payload() == base64.encodebytes(data).decode("ascii")
    assert [k for k, _ in part.items()] == ["Content-Type", "MIME-Version", "Content-Transfer-Encoding",
                                            "Content-Disposition"]
    assert part.get_payload(decode=True) == data
    boundary = msg.get_boundary()
    assert boundary and boundary.startswith("=" * 15) and f"--{boundary}" not in part.get_payload()
