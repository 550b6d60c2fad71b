"""Exit codes, and what the command line prints of names from outside."""


import pytest

from consolidator.cli import main, printable
from consolidator.mail.compose import DEFAULT_TEMPLATES, render
from consolidator.read.roster import Park


def run(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_exit_codes_are_documented_in_help(capsys):
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    for text in ("0 全部通过", "1 有报送文件存在错误", "2 用法或设置有误", "3 程序内部错误", "4 未能完成"):
        assert text in out


def test_usage_error_is_2(tmp_path, capsys):
    code, _, err = run(["check", str(tmp_path / "没有这个文件夹")], capsys)
    assert code == 2 and "用法错误" in err


def test_a_bad_rule_file_is_2(tmp_path, capsys):
    (tmp_path / "common.yaml").write_text("form: [", encoding="utf-8")
    returns = tmp_path / "报送"
    returns.mkdir()
    code, _, err = run(["check", str(returns), "--rules", str(tmp_path)], capsys)
    assert code == 2 and "规则文件错误" in err


def test_cancelled_is_4(monkeypatch, tmp_path, capsys):
    import consolidator.pipeline as pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_check", interrupted)
    returns = tmp_path / "报送"
    returns.mkdir()
    code, _, err = run(["check", str(returns), "--out", str(tmp_path / "o")], capsys)
    assert code == 4 and "已取消" in err


@pytest.mark.parametrize("raw, shown", [
    ("园区\x1b]0;owned\x07.xlsx", "园区 ]0;owned .xlsx"),  # an OSC title sequence loses its escape and bell
    ("第一行\r\n伪造的一行", "第一行 伪造的一行"),
    ("\udcc4\udce3.xlsx", "\ufffd\ufffd.xlsx"),  # GBK bytes of a file name that is not UTF-8
])
def test_names_are_printed_without_control_characters(raw, shown):
    assert printable(raw) == shown


def test_a_line_break_in_a_park_name_cannot_end_the_subject():
    park = Park("P1", "苏州工业园区\n附言：请回复", "苏州市", "工业园区", "green_safety", "王\n经理", "a@b.cn", 2)
    subject, body = render(DEFAULT_TEMPLATES, "distribute", park=park, title="2026年", category="推动绿色安全发展类",
                           deadline="", office="")
    assert "\n" not in subject and "附言：请回复" in subject and subject.endswith("）")


def test_an_empty_folder_says_so_with_its_own_code(tmp_path, capsys):
    returns = tmp_path / "报送"
    returns.mkdir()
    code, _, err = run(["check", str(returns), "--out", str(tmp_path / "o")], capsys)
    assert code == 5 and "没有任何报送文件" in err


def test_check_pointed_at_its_own_output_skips_it(tmp_path, capsys):
    from .conftest import ROOT

    returns = tmp_path / "报送"
    returns.mkdir()
    (returns / "园区.xlsx").write_bytes((ROOT / "sample_data" / "returns" / "南通经开区.xlsx").read_bytes())
    out = returns.parent / "结果"
    code, _, _ = run(["check", str(returns), "--out", str(out)], capsys)
    assert code in (0, 1)
    inner = returns / "旧结果"  # an output folder copied into the returns
    inner.mkdir()
    for p in out.iterdir():
        (inner / p.name).write_bytes(p.read_bytes())
    again = tmp_path / "结果2"
    code, _, _ = run(["check", str(returns), "--out", str(again)], capsys)
    import json

    found = json.loads((again / "findings.json").read_text(encoding="utf-8"))
    assert [r["file"] for r in found["returns"]] == ["园区.xlsx"]  # not findings.csv/.json of the copied results
    assert any(f["file"] == "旧结果" and "输出目录" in f["message"] for f in found["findings"])
    code, _, err = run(["check", str(out)], capsys)  # the output folder itself
    assert code == 5 and "没有任何报送文件" in err


def test_check_runs_with_a_roster_row_without_an_address(tmp_path, capsys):
    from .conftest import ROOT

    lines = (ROOT / "sample_data" / "roster.csv").read_text(encoding="utf-8-sig").splitlines()
    header, first = lines[0].split(","), lines[1].split(",")
    first[header.index("电子邮箱")] = ""
    roster = tmp_path / "名单.csv"
    roster.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n", encoding="utf-8")
    code, out, err = run(["check", str(ROOT / "sample_data" / "returns"), "--roster", str(roster),
                          "--out", str(tmp_path / "o")], capsys)
    assert code == 1 and "名单" not in err  # the returns' own errors, not a refused roster


# ---- the installed command ends without the interpreter's teardown (cli._leave) ------------------------------
def _installed(args, cwd):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "consolidator.cli", *args], capture_output=True, cwd=cwd,
                          timeout=300)


def test_the_installed_command_says_everything_and_closes_its_outputs(tmp_path):
    """Ended by os._exit: what it printed still arrives whole through a pipe, its outputs are in place and the
    output folder's claim is gone (every with block closed before the exit)."""
    from pathlib import Path

    sample = Path(__file__).resolve().parent.parent / "sample_data"
    out = tmp_path / "结果"
    done = _installed(["summarize", str(sample / "returns"), "--roster", str(sample / "roster.csv"),
                       "--out", str(out)], tmp_path)
    text = done.stdout.decode("utf-8")
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert text.rstrip().splitlines()[-1].startswith("已生成：") and "evaluation.xlsx" in text.rstrip().splitlines()[-1]
    assert (out / "summary.xlsx").stat().st_size > 0 and (out / "evaluation.xlsx").stat().st_size > 0
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".") and "输出目录" not in p.name) == []

    checked = _installed(["check", str(sample / "returns"), "--roster", str(sample / "roster.csv"),
                          "--out", str(tmp_path / "检查")], tmp_path)
    assert checked.returncode == 1  # the sample has errors: check's own exit code, through SystemExit
    assert "问题清单：" in checked.stdout.decode("utf-8").rstrip().splitlines()[-1]


def test_the_installed_command_keeps_its_exit_codes(tmp_path):
    done = _installed(["check", str(tmp_path / "没有这个文件夹")], tmp_path)
    assert done.returncode == 2 and "用法错误" in done.stderr.decode("utf-8")


def test_leave_says_a_message_and_exits_1(monkeypatch, capsys):
    from consolidator import cli

    codes = []
    monkeypatch.setattr("os._exit", codes.append)
    cli._leave("无法继续")
    cli._leave(None)
    cli._leave(4)
    assert codes == [1, 0, 4] and "无法继续" in capsys.readouterr().err
