"""The office's workspace: `init` makes it, every command takes its settings from consolidator.toml (options
still win), `doctor` says what is missing; and click speaks Chinese throughout."""

import email
import shutil
from email.header import decode_header, make_header
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from consolidator.cli import cli, main
from consolidator.workspace import SETTINGS_NAME, WorkspaceError, load

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"
OFFICE = "江苏省工业和信息化厅"


def run(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


@pytest.fixture
def workspace(tmp_path, capsys, monkeypatch):
    """A workspace made by init, with the sample returns and roster put in as the office would."""
    monkeypatch.delenv("CONSOLIDATOR_WORKSPACE", raising=False)
    root = tmp_path / "2026园区收集"
    code, out, err = run(["init", str(root), "--office-name", OFFICE, "--from", "gyc@example.gov.cn",
                          "--deadline", "2026年12月31日"], capsys)
    assert code == 0, err
    shutil.copytree(SAMPLES / "returns", root / "报送文件", dirs_exist_ok=True)
    shutil.copy(SAMPLES / "roster.csv", root / "园区名单.csv")
    settings = root / SETTINGS_NAME
    settings.write_text(settings.read_text(encoding="utf-8").replace('roster = "园区名单.xlsx"', 'roster = "园区名单.csv"'),
                        encoding="utf-8")
    return root


def test_init_makes_everything_the_round_uses(tmp_path, capsys, forms):
    root = tmp_path / "ws"
    code, out, _ = run(["init", str(root)], capsys)
    assert code == 0
    for name in ("consolidator.toml", "使用说明.md", "园区名单.xlsx", "规则/common.yaml", "规则/reference/gbt4754_2017.yaml",
                 "邮件模板/distribute.txt.j2", "报送文件", "检查结果", "发件箱"):
        assert (root / name).exists(), name
    assert len(list((root / "空白模板").glob("*.xlsx"))) == len(forms)
    assert "下一步" in out
    space = load(root)
    assert space.get("round", "name") == next(iter(forms.values())).title
    assert space.path("rules") == (root / "规则").resolve()
    wb = openpyxl.load_workbook(root / "园区名单.xlsx")
    header = [c.value for c in wb.worksheets[0][1]]
    assert header[:6] == ["园区名称", "所在城市", "所在区县", "类别", "联系人", "电子邮箱"]
    assert "填写说明" in wb.sheetnames
    choices = wb.worksheets[0].data_validations.dataValidation[0].formula1
    assert all(f.category_name in choices for f in forms.values())
    guide = (root / "使用说明.md").read_text(encoding="utf-8")
    assert "consolidator check" in guide and "consolidator doctor" in guide


def test_init_never_overwrites_a_workspace(workspace, capsys):
    before = (workspace / SETTINGS_NAME).read_bytes()
    code, _, err = run(["init", str(workspace)], capsys)
    assert code == 2 and "已经是工作区" in err
    assert (workspace / SETTINGS_NAME).read_bytes() == before


def test_check_inside_the_workspace_needs_no_option(workspace, capsys, monkeypatch):
    monkeypatch.chdir(workspace / "报送文件")  # a subfolder of the workspace counts too
    code, out, err = run(["check"], capsys)
    assert code == 1, err
    assert (workspace / "检查结果" / "report.html").is_file()
    assert "工作区" in err
    assert "未提交 1" in out  # the roster was taken from the settings


def test_workspace_option_from_elsewhere_and_options_still_win(workspace, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["--workspace", str(workspace), "check", "--out", str(tmp_path / "mine")], capsys)
    assert code == 1, err
    assert (tmp_path / "mine" / "findings.csv").is_file()
    assert not (workspace / "检查结果" / "findings.csv").exists()


def test_edited_rules_are_validated_at_each_run(workspace, capsys, monkeypatch):
    monkeypatch.chdir(workspace)
    rules = workspace / "规则" / "common.yaml"
    rules.write_text(rules.read_text(encoding="utf-8") + "\n  bad: [\n", encoding="utf-8")
    code, _, err = run(["check"], capsys)
    assert code == 2
    assert "规则文件错误" in err and "规则" in err and "common.yaml" in err


@pytest.mark.parametrize("line, words", [
    ('[mail]\npassword = "123"\n', "密码不能写在设置文件中"),
    ('[mail]\nsmtp_hots = "x"\n', "没有这项设置"),
    ('[mail]\nsmtp_port = "465"\n', "应为整数"),
    ('[mail]\nsmtp_security = "tls"\n', "ssl、starttls、none"),
    ('[round]\nname = 本轮\n', "第2行"),
])
def test_a_wrong_setting_is_named_in_chinese(tmp_path, capsys, line, words, monkeypatch):
    (tmp_path / SETTINGS_NAME).write_text(line, encoding="utf-8")
    with pytest.raises(WorkspaceError, match=words):
        load(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["check"], capsys)
    assert code == 2 and words in err and SETTINGS_NAME in err


def test_distribute_signs_with_the_office_of_the_settings(workspace, capsys, monkeypatch):
    monkeypatch.chdir(workspace)
    code, out, err = run(["distribute"], capsys)
    assert code == 0, err
    emls = sorted((workspace / "发件箱" / "邮件").glob("*_填报通知.eml"))
    assert len(emls) == 14
    msg = email.message_from_bytes(emls[0].read_bytes())
    assert OFFICE in str(make_header(decode_header(msg["From"])))
    assert "2026年12月31日" in msg.get_payload(0).get_payload(decode=True).decode("utf-8")
    assert "双击 .eml 文件" in out and str(workspace / "发件箱" / "邮件") in out
    code, out, err = run(["distribute"], capsys)  # a rerun keeps the earlier mails and says so
    assert code == 0
    assert "替换了上次写出的同名邮件" in err
    assert len(list((workspace / "发件箱" / "邮件" / "旧邮件").glob("*.eml"))) == 14


def test_mail_without_an_office_name_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["distribute", "--roster", str(SAMPLES / "roster.csv"), "--out", str(tmp_path / "o"),
                        "--from", "gyc@example.gov.cn"], capsys)
    assert code == 2
    assert "缺少选项 '--office-name'" in err and "consolidator.toml" in err
    assert not (tmp_path / "o").exists()


def test_doctor_says_what_is_missing_and_what_to_do(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CONSOLIDATOR_SMTP_PASSWORD", raising=False)
    monkeypatch.delenv("CONSOLIDATOR_SMTP_USER", raising=False)
    run(["init", str(tmp_path / "ws")], capsys)
    monkeypatch.chdir(tmp_path / "ws")
    code, out, _ = run(["doctor"], capsys)
    assert code == 2
    assert "✗ 园区名单：园区名单.xlsx 中还没有园区" in out
    assert "✗ 发件人" in out and "[mail] from" in out
    assert "✓ 规则" in out and "✓ 邮件模板" in out


def test_doctor_on_a_complete_workspace(workspace, capsys, monkeypatch):
    monkeypatch.chdir(workspace)
    settings = workspace / SETTINGS_NAME
    settings.write_text(settings.read_text(encoding="utf-8").replace('smtp_host = ""', 'smtp_host = "smtp.example.gov.cn"'),
                        encoding="utf-8")
    monkeypatch.delenv("CONSOLIDATOR_SMTP_PASSWORD", raising=False)
    code, out, _ = run(["doctor"], capsys)
    assert code == 2 and "CONSOLIDATOR_SMTP_PASSWORD" in out
    monkeypatch.setenv("CONSOLIDATOR_SMTP_USER", "gyc")
    monkeypatch.setenv("CONSOLIDATOR_SMTP_PASSWORD", "x")
    code, out, _ = run(["doctor"], capsys)
    assert code == 0, out
    assert "14 个园区" in out and "设置齐全" in out


ENGLISH = ("TEXT", "FILE", "DIRECTORY", "FLOAT", "INTEGER", "[required]", "<=x", "Usage", "Options:", "Show this",
           "RETURNS_DIR", "FOLDER")


def test_every_help_is_chinese_to_the_last_placeholder():
    for args in ([], *([name] for name in cli.commands)):
        out = CliRunner().invoke(cli, [*args, "--help"], prog_name="consolidator").output
        assert out.startswith("用法：consolidator"), args
        for english in ENGLISH:
            assert english not in out, (args, english)
    assert "[必填]" in CliRunner().invoke(cli, ["distribute", "--help"]).output
    assert "[0～600]" in CliRunner().invoke(cli, ["distribute", "--help"]).output


@pytest.mark.parametrize("args, words", [
    (["check", "/no/such/folder"], "文件夹“/no/such/folder”不存在"),
    (["check", str(SAMPLES / "roster.csv")], "是文件，这里需要文件夹"),
    (["chek"], "没有命令“chek”。是否想输入 'check'？"),
    (["check", "--rosterr", "x"], "没有选项“--rosterr”"),
    (["distribute", "--pause", "900"], "不在允许的范围 0～600 内"),
    (["distribute", "--pause", "abc"], "“abc”不是有效的数字"),
    (["distribute", "--security", "tls"], "“tls”不可用"),
    (["check", "--out"], "选项 --out 后面需要一个值"),
])
def test_usage_errors_are_chinese(args, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(args, capsys)
    assert code == 2
    assert words in err, err
    for english in ("Directory", "does not exist", "is a file", "Did you mean", "Invalid value", "No such",
                    "requires an argument", "is not"):
        assert english not in err, err


def test_the_bare_command_shows_its_help(capsys):
    code, out, _ = run([], capsys)
    assert code == 0 and out.startswith("用法：consolidator") and "consolidator init" in out


def test_an_os_error_is_one_chinese_sentence_with_what_to_do():
    import errno

    from consolidator.errors import os_error_zh

    said = os_error_zh(OSError(errno.ENOSPC, "No space left on device", "D:/检查结果/report.html"))
    assert said == "D:/检查结果/report.html：磁盘空间已满。请清理磁盘或换一个输出目录后重试。"
    assert "没有权限" in os_error_zh(PermissionError(errno.EACCES, "Permission denied", "a.xlsx"))
    assert "Permission" not in os_error_zh(PermissionError(errno.EACCES, "Permission denied", "a.xlsx"))
