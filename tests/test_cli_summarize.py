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
    assert "计入合计的园区 8 个" in out
    wb = openpyxl.load_workbook(out_dir / "summary.xlsx", read_only=True)
    status = {r[0]: r[4] for r in wb["报送情况"].iter_rows(min_row=2, values_only=True)}
    assert status["扬州经济技术开发区"] == "未提交" and status["淮安经济技术开发区"] == "无法读取"
    ev = openpyxl.load_workbook(out_dir / "evaluation.xlsx", read_only=True)
    assert len(ev.sheetnames) == 1 + 8


def test_blind_and_include_errors(returns, tmp_path, capsys):  # noqa: F811
    out_dir = tmp_path / "结果"
    code, out, _ = run(["summarize", str(returns), "--roster", str(SAMPLES / "roster.csv"), "--out", str(out_dir),
                        "--blind", "--include-errors"], capsys)
    assert code == 0
    assert (out_dir / "评审编号对照表.xlsx").exists()
    assert "计入合计的园区 13 个" in out
    ev = openpyxl.load_workbook(out_dir / "evaluation.xlsx", read_only=True)
    assert ev.sheetnames[1:4] == ["E01", "E02", "E03"]


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
