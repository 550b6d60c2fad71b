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
@click.version_option(__version__, prog_name="consolidator")
def main():
    """consolidator：2026年工业园区高质量发展创新实践 数据收集工具。

    生成填报模板、批量检查园区报送的表格、汇总全省数据。
    """


@main.command()
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


@main.command()
@rules_option
@click.option("--readme", type=click.Path(dir_okay=False, path_type=Path),
              default=Path(__file__).resolve().parent.parent / "README.md", show_default="项目的 README.md")
def docs(rules_dir: Path, readme: Path):
    """按 rules/ 重新生成 README 中的字段与规则目录。"""
    from .catalogue import update_readme

    changed = update_readme(readme, _load(rules_dir))
    click.echo(f"已更新字段与规则目录：{readme}" if changed else f"字段与规则目录已是最新：{readme}")


if __name__ == "__main__":
    main()
