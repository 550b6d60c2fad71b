import openpyxl
import pytest

from consolidator.cli import main

from .conftest import ROOT
from .test_cli_check import returns, run, tree_digest  # noqa: F401 - the fixture is shared

SAMPLES = ROOT / "sample_data"


def test_summarize_writes_both_workbooks_and_changes_nothing(returns, capsys):  # noqa: F811
    before = tree_digest(returns)
    code, out, _ = run(["summarize", str(returns), "--roster", str(SAMPLES / "roster.csv")], capsys)
    assert code == 0
    out_dir = returns.parent / "报送文件_检查结果"
    assert sorted(p.name for p in out_dir.iterdir()) == [".consolidator-输出目录", "evaluation.xlsx", "summary.xlsx"]
    assert tree_digest(returns) == before
    wb = openpyxl.load_workbook(out_dir / "summary.xlsx", read_only=True)
    rows = list(wb["报送情况"].iter_rows(min_row=2, values_only=True))  # under the note
    head = rows[0]
    parks = {r[0]: dict(zip(head, r)) for r in rows[1:]}
    assert parks["扬州经济技术开发区"]["状态"] == "未提交" and parks["淮安经济技术开发区"]["状态"] == "无法读取"
    assert parks["扬州经济技术开发区"]["未计入原因"] == "未提交"
    # 宿迁 is not in the roster: listed, not counted, and said so (in the sheet and on the screen)
    suqian = parks["宿迁高新技术产业开发区"]
    assert (suqian["计入合计"], suqian["未计入原因"]) == ("否", "不在名单中")
    assert "宿迁高新技术产业开发区" in wb["报送情况"]["A1"].value and "--include-unlisted" in out
    counted = sum(1 for p in parks.values() if p["计入合计"] == "是")
    assert f"计入合计的园区 {counted} 个" in out
    ev = openpyxl.load_workbook(out_dir / "evaluation.xlsx", read_only=True)
    assert len(ev.sheetnames) == 1 + counted


def test_include_unlisted_counts_the_park_outside_the_roster(returns, tmp_path, capsys):  # noqa: F811
    code, out, _ = run(["summarize", str(returns), "--roster", str(SAMPLES / "roster.csv"), "--out",
                        str(tmp_path / "o"), "--include-unlisted"], capsys)
    assert code == 0
    wb = openpyxl.load_workbook(tmp_path / "o" / "summary.xlsx", read_only=True)
    rows = list(wb["报送情况"].iter_rows(min_row=2, values_only=True))
    parks = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert parks["宿迁高新技术产业开发区"]["计入合计"] == "是"
    counted = sum(1 for p in parks.values() if p["计入合计"] == "是")
    ev = openpyxl.load_workbook(tmp_path / "o" / "evaluation.xlsx", read_only=True)
    assert len(ev.sheetnames) == 1 + counted and f"计入合计的园区 {counted} 个" in out


def test_blind_and_include_errors(returns, tmp_path, capsys):  # noqa: F811
    out_dir = tmp_path / "结果"
    code, out, _ = run(["summarize", str(returns), "--roster", str(SAMPLES / "roster.csv"), "--out", str(out_dir),
                        "--blind", "--include-errors"], capsys)
    assert code == 0
    # the key is kept out of the folder with the experts' workbook, and the output says where it is
    key = tmp_path / "结果_评审编号对照表" / "评审编号对照表.xlsx"
    assert key.exists() and not list(out_dir.rglob("评审编号对照表*"))
    assert f"评审编号对照表（保密，请另行保管，不要交给专家）：{key.resolve()}" in out
    assert "也未显示所在地区" in out
    ev = openpyxl.load_workbook(out_dir / "evaluation.xlsx", read_only=True)
    assert ev.sheetnames[1:4] == ["E01", "E02", "E03"]
    assert f"计入合计的园区 {len(ev.sheetnames) - 1} 个" in out


def test_the_key_goes_where_it_is_asked_but_never_beside_the_experts_workbook(returns, tmp_path, capsys):  # noqa: F811
    args = ["summarize", str(returns), "--roster", str(SAMPLES / "roster.csv"), "--out", str(tmp_path / "o"), "--blind"]
    code, out, _ = run(args + ["--key-out", str(tmp_path / "保密")], capsys)
    assert code == 0 and (tmp_path / "保密" / "评审编号对照表.xlsx").exists()
    assert not (tmp_path / "o_评审编号对照表").exists()
    for inside in (tmp_path / "o", tmp_path / "o" / "专家评审材料", returns / "k"):
        code, _, err = run(args + ["--key-out", str(inside)], capsys)
        assert code == 2 and "不能在输出目录" in err
    code, _, err = run(args[:-1] + ["--key-out", str(tmp_path / "保密")], capsys)
    assert code == 2 and "--key-out 只与 --blind 一起使用" in err


def test_summarize_refuses_to_write_into_the_returns(returns, capsys):  # noqa: F811
    code, _, err = run(["summarize", str(returns), "--out", str(returns / "x")], capsys)
    assert code == 2 and "不能在报送文件夹" in err


def test_summarize_when_no_return_can_be_read(tmp_path, capsys):
    """Only an unreadable file: both workbooks are still written (the enterprise list sheet has no form to
    take its columns from)."""
    returns = tmp_path / "报送"
    returns.mkdir()
    (returns / "坏.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(SystemExit) as exc:
        main(["summarize", str(returns), "--out", str(tmp_path / "o")])
    assert exc.value.code == 0
    assert {p.name for p in (tmp_path / "o").iterdir()} >= {"summary.xlsx", "evaluation.xlsx"}
