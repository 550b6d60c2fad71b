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
@click.argument("returns_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="园区名单（.csv 或 .xlsx）：用于核对未报送的园区和园区名称。")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="结果输出目录，默认为报送文件夹旁边的“<文件夹名>_检查结果”。")
@click.option("-v", "--verbose", is_flag=True, help="逐个文件显示读取情况。")
@rules_option
def check(returns_dir: Path, roster: Path | None, out_dir: Path | None, verbose: bool, rules_dir: Path):
    """批量检查报送文件夹中的全部表格，生成问题报告。

    输出 report.html（问题报告）、findings.csv（可用 Excel 打开）和 findings.json。
    报送文件不会被修改。有错误时退出码为 1，没有错误为 0。

    \b
    示例：
        consolidator check 报送文件 --roster 园区名单.csv
    """
    from .batch import default_out_dir, is_inside, run_check
    from .report import write_outputs
    from .roster import RosterError, read_roster

    forms = _load(rules_dir)
    out_dir = out_dir or default_out_dir(returns_dir)
    if is_inside(out_dir, returns_dir):
        raise click.UsageError(f"输出目录 {out_dir} 不能在报送文件夹 {returns_dir} 里面（报送文件夹保持不变）")
    parks = None
    if roster is not None:
        try:
            parks = read_roster(roster, forms)
        except RosterError as exc:
            err = click.ClickException(str(exc))
            err.exit_code = 2
            raise err from None
    bar = None

    def progress(n: int, total: int, raw) -> None:
        nonlocal bar
        if verbose:
            state = "已读取" if raw.readable else "无法读取"
            click.echo(f"[{n}/{total}] {raw.source.display}：{state}", err=True)
        elif total > 1:
            if bar is None:
                bar = click.progressbar(length=total, label="正在读取报送文件", file=click.get_text_stream("stderr"))
                bar.__enter__()
            bar.update(1)

    try:
        result = run_check(returns_dir, forms, parks, progress=progress)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    paths = write_outputs(result, out_dir, source=str(returns_dir))
    counts = result.status_counts()
    click.echo(f"共读取 {len(result.returns)} 个文件，跳过 {len(result.skipped)} 个；"
               + "，".join(f"{k} {v}" for k, v in counts.items()) + "。")
    click.echo(f"问题报告：{paths[0]}")
    click.echo(f"问题清单：{paths[1]}")
    raise SystemExit(result.exit_code)


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
        code = cli.main(args=argv, prog_name="consolidator", standalone_mode=False)
        sys.exit(code or 0)
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
    except Exception:  # a bug: say so in Chinese, keep the details for the developers
        import os
        import tempfile
        import traceback

        if os.environ.get("CONSOLIDATOR_DEBUG"):
            raise
        fd, log = tempfile.mkstemp(prefix="consolidator-error-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            traceback.print_exc(file=fh)
        click.echo(f"程序内部错误，处理未完成。详细信息已保存到 {log}，请将该文件发给技术支持人员。", err=True)
        sys.exit(3)


if __name__ == "__main__":
    main()
