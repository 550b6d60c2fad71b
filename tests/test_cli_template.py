import pytest
from click.testing import CliRunner

from consolidator.cli import cli, main
from consolidator.write.catalogue import BEGIN, END, render
from consolidator.write.template import template_filename, workbook_bytes

from .conftest import ROOT


def test_template_command_writes_one_workbook_per_category(tmp_path, forms):
    result = CliRunner().invoke(cli, ["template", "--out", str(tmp_path / "模板")])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("已生成模板：") for line in lines)
    for form in forms.values():
        assert (tmp_path / "模板" / template_filename(form)).read_bytes() == workbook_bytes(form)


def test_one_category_only(tmp_path, forms):
    result = CliRunner().invoke(cli, ["template", "--category", "open_cooperation", "--out", str(tmp_path)])
    assert result.exit_code == 0
    assert [p.name for p in tmp_path.iterdir()] == [template_filename(forms["open_cooperation"])]


def test_errors_are_chinese_and_name_the_rule_file(tmp_path, rules_copy, capsys):
    text = (rules_copy / "common.yaml").read_text(encoding="utf-8")
    (rules_copy / "common.yaml").write_text(text.replace("type: integer", "type: intger", 1), encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["template", "--rules", str(rules_copy), "--out", str(tmp_path)])
    assert exc.value.code == 2  # a settings problem (exit codes: cli --help)
    err = capsys.readouterr().err
    assert err.startswith("错误：规则文件错误：") and "common.yaml" in err and "type" in err
    assert list(tmp_path.iterdir()) == [rules_copy]


def test_usage_errors_exit_2_in_chinese(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["template", "--bogus"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("用法错误：没有选项“--bogus”")


def test_unknown_category_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["template", "--category", "nope"])
    assert exc.value.code == 2
    assert "没有类别：nope" in capsys.readouterr().err


def test_readme_catalogue_is_up_to_date(forms):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    current = readme[readme.index(BEGIN):readme.index(END) + len(END)]
    assert current == render(forms), "README catalogue is stale: run `consolidator docs`"


def test_readme_holds_the_two_setup_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install -e . && consolidator check sample_data/returns --roster sample_data/roster.csv" in readme
    assert "pip install -e '.[test]' && python -m pytest" in readme
    assert "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && consolidator check" in readme
    assert readme.index("快速开始") < readme.index("For developers")  # the Chinese quick start first
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && python -m pytest" in ci


def test_help_is_chinese():
    from click.testing import CliRunner as _Runner

    for args in ([], ["check"], ["summarize"], ["distribute"], ["feedback"], ["template"], ["docs"]):
        out = _Runner().invoke(cli, [*args, "--help"], prog_name="consolidator").output
        assert out.startswith("用法：consolidator")
        for english in ("Usage", "Options", "Show this message", "default:", "[OPTIONS]", "Commands"):
            assert english not in out, (args, english)
