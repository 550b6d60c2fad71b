import hashlib
import json
import shutil

import pytest

from consolidator.cli import main

from .conftest import ROOT

SAMPLES = ROOT / "sample_data"


def tree_digest(folder):
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def returns(tmp_path):
    dst = tmp_path / "报送文件"
    shutil.copytree(SAMPLES / "returns", dst)
    for src, d in zip(sorted((SAMPLES / "returns").rglob("*")), sorted(dst.rglob("*"))):
        shutil.copystat(src, d)
    return dst


def run(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_check_writes_beside_the_returns_and_changes_nothing(returns, capsys):
    before = tree_digest(returns)
    code, out, err = run(["check", str(returns), "--roster", str(SAMPLES / "roster.csv")], capsys)
    assert code == 1  # the sample data has returns with errors
    out_dir = returns.parent / "报送文件_检查结果"
    assert sorted(p.name for p in out_dir.iterdir()) == [".consolidator-输出目录", "findings.csv", "findings.json", "report.html"]
    assert tree_digest(returns) == before
    assert "有错误" in out and str(out_dir / "report.html") in out
    assert not list(out_dir.glob(".~tmp-*"))


def test_exit_code_0_when_no_return_has_errors(returns, tmp_path, capsys):
    clean = tmp_path / "clean"
    clean.mkdir()
    for name in ("昆山开发区_提高开放合作水平类.xlsx", "南通经开区(修改版).xlsx"):
        shutil.copy2(returns / name, clean / name)
    code, out, _ = run(["check", str(clean), "--out", str(tmp_path / "结果")], capsys)
    assert code == 0, out
    assert "通过 2" in out


def test_verbose_prints_a_line_per_file(returns, tmp_path, capsys):
    code, _, err = run(["check", str(returns), "-v", "--out", str(tmp_path / "o")], capsys)
    lines = [line for line in err.splitlines() if line.startswith("[")]
    # every file read (the stamped scan too: without a roster its park is found only after reading)
    assert len(lines) == 17 and "无法读取" in err


def test_out_inside_the_returns_folder_is_a_usage_error(returns, capsys):
    before = tree_digest(returns)
    code, _, err = run(["check", str(returns), "--out", str(returns / "结果")], capsys)
    assert code == 2 and "不能在报送文件夹" in err
    assert tree_digest(returns) == before


def test_missing_folder_and_bad_roster_are_usage_errors(returns, tmp_path, capsys):
    code, _, err = run(["check", str(tmp_path / "nope")], capsys)
    assert code == 2 and err.startswith("用法错误")
    bad = tmp_path / "名单.csv"
    bad.write_text("园区名称,所在城市\n苏州工业园区,苏州\n", encoding="utf-8")
    code, _, err = run(["check", str(returns), "--roster", str(bad), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "缺少列" in err and "名单.csv" in err


def test_findings_json_matches_the_report_counts(returns, tmp_path, capsys):
    run(["check", str(returns), "--roster", str(SAMPLES / "roster.csv"), "--out", str(tmp_path / "o")], capsys)
    data = json.loads((tmp_path / "o" / "findings.json").read_text(encoding="utf-8"))
    assert data["statuses"]["未提交"] == 1 and data["statuses"]["已被替代"] == 1
