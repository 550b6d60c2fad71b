"""The command line: a thin layer that parses options, calls the library and reports in Chinese."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from . import __version__
from .form import DEFAULT_RULES_DIR, RuleFileError, load_forms


def rules_option(fn):
    @click.option("--rules", "rules_dir", type=click.Path(file_okay=False, path_type=Path),
                  default=DEFAULT_RULES_DIR, show_default="项目的 rules/ 目录",
                  help="规则文件目录（common.yaml 和各类别的 .yaml）。")
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


def _load(rules_dir: Path):
    try:
        return load_forms(rules_dir)
    except RuleFileError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="consolidator", message="%(prog)s %(version)s")
def cli():
    """consolidator：2026年工业园区高质量发展创新实践 数据收集工具。

    生成填报模板、批量检查园区报送的表格、汇总全省数据。
    """


@cli.command()
@rules_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("workbook_templates"), show_default=True, help="模板输出目录。")
@click.option("--category", "categories", multiple=True, help="只生成指定类别（可重复），默认全部。")
def template(rules_dir: Path, out_dir: Path, categories: tuple[str, ...]):
    """按 rules/ 生成每个类别的填报模板（.xlsx）。

    \b
    示例：
        consolidator template --out workbook_templates
    """
    from .template import write_templates

    forms = _load(rules_dir)
    unknown = [c for c in categories if c not in forms]
    if unknown:
        raise click.BadParameter(f"没有类别：{'、'.join(unknown)}；可用类别：{'、'.join(forms)}",
                                 param_hint="--category")
    chosen = [f for cid, f in forms.items() if not categories or cid in categories]
    for path in write_templates(chosen, out_dir):
        click.echo(f"已生成模板：{path}")


@cli.command()
@rules_option
@click.option("--readme", type=click.Path(dir_okay=False, path_type=Path),
              default=Path(__file__).resolve().parent.parent / "README.md", show_default="项目的 README.md")
def docs(rules_dir: Path, readme: Path):
    """按 rules/ 重新生成 README 中的字段与规则目录。"""
    from .catalogue import update_readme

    changed = update_readme(readme, _load(rules_dir))
    click.echo(f"已更新字段与规则目录：{readme}" if changed else f"字段与规则目录已是最新：{readme}")


_CLICK_ZH = [
    ("No such option:", "没有这个选项："),
    ("No such option", "没有这个选项"),
    ("Did you mean", "是否想输入"),
    ("No such command", "没有这个命令"),
    ("Missing argument", "缺少参数"),
    ("Missing option", "缺少选项"),
    ("Invalid value for", "参数值无效："),
    ("does not exist", "不存在"),
    ("Got unexpected extra argument", "多余的参数"),
    ("requires an argument", "需要一个值"),
]


def main(argv: list[str] | None = None) -> None:
    """Entry point: click's errors reported in Chinese; usage errors exit with 2, others with 1."""
    import sys

    try:
        cli.main(args=argv, prog_name="consolidator", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("已取消。", err=True)
        sys.exit(1)
    except click.UsageError as exc:
        message = exc.format_message()
        for en, zh in _CLICK_ZH:
            message = message.replace(en, zh)
        click.echo(f"用法错误：{message}\n运行 consolidator --help 查看说明。", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"错误：{exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except OSError as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
