"""The Word form from the command line: `word` for stamping (with PDFs where LibreOffice is), the accepted
feedback mail carrying it, and `summarize --word` for the experts, numbered and redacted like evaluation.xlsx."""

import email
import zipfile
from pathlib import Path

import pytest

from consolidator.cli import main
from consolidator.workspace import find_libreoffice

from .conftest import IN_CI

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"
ROSTER = str(SAMPLES / "roster.csv")


def run(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return exc.value.code, out.out + out.err


def test_word_writes_a_form_per_accepted_return(tmp_path, capsys):
    code, out = run(["word", str(SAMPLES / "returns"), "--roster", ROSTER, "--out", str(tmp_path), "--no-pdf"], capsys)
    assert code == 0  # returns with errors get no form (check reports them)
    docs = sorted((tmp_path / "Word表单").glob("*.docx"))
    assert len(docs) == 7 and "已生成 7 份 Word 表单" in out  # 宿迁 is not in the roster
    assert any(d.name == "南通经济技术开发区-经验总结材料（推动绿色安全发展类）.docx" for d in docs)
    assert not any("常州武进" in d.name for d in docs)  # errors: not accepted
    body = zipfile.ZipFile(docs[0]).read("word/document.xml").decode("utf-8")
    assert "承诺声明" in body


def test_word_also_writes_pdfs_with_libreoffice(tmp_path, capsys):
    if find_libreoffice() is None:
        if IN_CI:
            pytest.fail("LibreOffice is needed under CI=true")
        pytest.skip("LibreOffice is not installed")
    code, out = run(["word", str(SAMPLES / "returns"), "--roster", ROSTER, "--out", str(tmp_path)], capsys)
    pdfs = list((tmp_path / "Word表单").glob("*.pdf"))
    assert len(pdfs) == 7 and all(p.read_bytes().startswith(b"%PDF") for p in pdfs)


def test_blind_documents_are_numbered_and_name_no_park(tmp_path, capsys):
    code, out = run(["summarize", str(SAMPLES / "returns"), "--roster", ROSTER, "--out", str(tmp_path), "--blind",
                     "--word"], capsys)
    docs = sorted((tmp_path / "专家评审材料").glob("*.docx"))
    assert [d.name[:3] for d in docs] == [f"E{n:02d}" for n in range(1, len(docs) + 1)]
    for d in docs:
        text = zipfile.ZipFile(d).read("word/document.xml").decode("utf-8")
        assert "苏州工业园区" not in text and "南通经济技术开发区" not in text


def _text(doc: Path) -> str:
    return zipfile.ZipFile(doc).read("word/document.xml").decode("utf-8")


def test_blind_documents_hide_the_region_and_count_the_enterprises_unless_the_region_is_asked(tmp_path, capsys):
    """A blind document shows neither the park's region (所在省市, 所在区县) nor an enterprise's name or credit code,
    which tell the park's place: the list counts the enterprises of each category and industry instead (rules:
    evaluation.region, evaluation.list_identifying); --show-region shows the region again."""
    import re

    from consolidator.read.roster import read_roster
    from consolidator.rules import load_forms

    open_out, blind_out, region_out = tmp_path / "open", tmp_path / "blind", tmp_path / "region"
    for out, extra in ((open_out, []), (blind_out, ["--blind"]), (region_out, ["--blind", "--show-region"])):
        code, said = run(["word", str(SAMPLES / "returns"), "--roster", ROSTER, "--out", str(out), "--no-pdf", *extra],
                         capsys)
        assert code == 0, said
    assert "和所在地区（--show-region 可显示）" in run(
        ["word", str(SAMPLES / "returns"), "--roster", ROSTER, "--out", str(tmp_path / "again"), "--no-pdf", "--blind"],
        capsys)[1]
    parks = read_roster(SAMPLES / "roster.csv", load_forms())
    cities = {p.city for p in parks if p.city}
    opened = [_text(d) for d in sorted((open_out / "Word表单").glob("*.docx"))]
    blind = [_text(d) for d in sorted((blind_out / "专家评审材料").glob("*.docx"))]
    region = [_text(d) for d in sorted((region_out / "专家评审材料").glob("*.docx"))]
    assert len(opened) == len(blind) == len(region) == 7
    codes = re.compile(r"9[0-9A-Z]{17}")  # a credit code
    assert all(codes.search(t) for t in opened) and any(any(c in t for c in cities) for t in opened)
    for t in blind:
        assert not codes.search(t) and "有限公司" not in t
        assert not any(c in t for c in cities if len(c) > 3)  # 江苏省苏州市 …: the 所在省市 cell
        assert "评审用材料隐去企业名称、统一社会信用代码" in t and "企业数量" in t
    assert sum(any(c in t for c in cities if len(c) > 3) for t in region) == 7
    assert not any(codes.search(t) for t in region)


def test_the_accepted_mail_carries_the_form_to_stamp(tmp_path, capsys):
    code, out = run(["feedback", str(SAMPLES / "returns"), "--roster", ROSTER, "--out", str(tmp_path / "o"),
                     "--from", "gyc@example.gov.cn", "--office-name", "省工信厅"], capsys)
    assert code == 0, out
    (eml,) = (tmp_path / "o" / "邮件").glob("*昆山*通过回执.eml")
    msg = email.message_from_bytes(eml.read_bytes())
    parts = [p for p in msg.walk() if p.get_content_type().endswith("wordprocessingml.document")]
    assert len(parts) == 1
    text = msg.get_payload(0).get_payload(decode=True).decode("utf-8")
    assert "加盖单位公章" in text and "经验总结材料" in text
    assert list((tmp_path / "o" / "Word表单").glob("昆山*.docx"))
