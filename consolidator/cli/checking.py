"""The commands that read the returns and write what the office reads: template, check, summarize, word,
status, docs."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from ..write.files import OutputSet
from . import (
    HELP,
    _checked_batch,
    _help_option,
    _ledger,
    _load,
    _none_found,
    _prepare,
    cli,
    ledger_option,
    printable,
    returns_argument,
    roster_option,
    rules_option,
    say,
)


@cli.command(**HELP)
@_help_option
@rules_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("workbook_templates"), help="模板输出目录，默认为 workbook_templates。")
@click.option("--category", "categories", multiple=True, help="只生成指定类别（可重复），默认全部。")
def template(rules_dir: Path, out_dir: Path, categories: tuple[str, ...]):
    """按 rules/ 生成每个类别的填报模板（.xlsx）。

    \b
    示例：
        consolidator template --out workbook_templates
    """
    from ..write.template import write_templates

    forms = _load(rules_dir)
    unknown = [c for c in categories if c not in forms]
    if unknown:
        raise click.BadParameter(f"没有类别：{'、'.join(unknown)}；可用类别：{'、'.join(forms)}",
                                 param_hint="--category")
    chosen = [f for cid, f in forms.items() if not categories or cid in categories]
    for path in write_templates(chosen, out_dir):
        say(f"已生成模板：{path}")


def _large_blocks_given_back() -> None:
    """glibc's malloc gives a block of 128 KB or more its own mapping, returned to the system when freed, but
    raises that threshold each time such a block is freed, so that the check's working arrays, once freed, come
    back from the heap, where what is freed stays the process's: held at 128 KB, the check of 10,000 returns
    peaks some 20 MB lower. For the check alone: summarize, which makes large blocks by the thousand, is slower
    for it (~5 % at 1,000). (Nothing to do where the C library is another.)"""
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


@cli.command(**HELP)
@_help_option
@returns_argument
@roster_option("园区名单（.csv 或 .xlsx）：用于核对未报送的园区和园区名称。")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="结果输出目录，默认为报送文件夹旁边的“<文件夹名>_检查结果”。")
@click.option("-v", "--verbose", is_flag=True, help="逐个文件显示读取情况。")
@rules_option
@ledger_option
def check(returns_dir: Path, roster: Path | None, out_dir: Path | None, verbose: bool, rules_dir: Path,
          ledger: Path | None):
    """批量检查报送文件夹中的全部表格，生成问题报告。

    输出 report.html（问题报告）、findings.csv（可用 Excel 打开）和 findings.json。
    报送文件不会被修改。有错误时退出码为 1，没有错误为 0。

    \b
    示例：
        consolidator check 报送文件 --roster 园区名单.csv
    """
    _large_blocks_given_back()
    forms, out_dir, parks = _prepare(returns_dir, roster, out_dir, rules_dir)
    with OutputSet(out_dir) as out, _ledger(ledger) as book:  # claimed before the returns are read
        result = _checked_batch(returns_dir, forms, parks, verbose, preload=("consolidator.write.report",),
                                ledger=book)
        from ..write.report import outputs

        for name, data in outputs(result, source=str(returns_dir)):
            out.add(name, data)
        paths = out.commit()
    counts = result.status_counts()
    say(f"共读取 {len(result.returns)} 个文件，跳过 {len(result.skipped)} 个；"
               + "，".join(f"{k} {v}" for k, v in counts.items()) + "。")
    _say_histories(result)
    say(f"问题报告：{paths[0]}")
    say(f"问题清单：{paths[1]}")
    _none_found(result, returns_dir)
    raise SystemExit(result.exit_code)


def _say_histories(result, limit: int = 20) -> None:
    """A line for each park that sent a corrected return: what changed and which problems it fixed."""
    from ..check.history import histories

    found = list(histories(result).values())
    for h in found[:limit]:
        last = len(h.changes[-1]) if h.changes else 0
        say(f"{printable(h.park)}：收到 {len(h.versions)} 版，最近一版改动 {last} 处；"
            f"已改正 {len(h.fixed)} 项，仍有 {len(h.still)} 项，新出现 {len(h.new)} 项。")
    if len(found) > limit:
        say(f"另有 {len(found) - limit} 个园区重新报送过，见问题报告中各园区的“版本记录”。")


# Long because it is the command's whole story: where the key goes, the two workbooks, what was left out.
@cli.command(**HELP)
@_help_option
@returns_argument
@roster_option("园区名单（.csv 或 .xlsx）。")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="输出目录，默认为报送文件夹旁边的“<文件夹名>_检查结果”。")
@click.option("--include-errors", is_flag=True, help="有错误的报送也计入合计（在表中标明）。")
@click.option("--include-unlisted", is_flag=True,
              help="不在园区名单中的园区的报送也计入合计并列入评审表（默认不计入，在汇总表“报送情况”中列明）。")
@click.option("--blind", is_flag=True, help="评审表隐去园区名称、填写单位、联系人和所在地区，按编号排列；编号对照表另存。")
@click.option("--show-region", is_flag=True,
              help="与 --blind 一起用：评审表仍显示所在地区（默认不显示：一个城市只有一个园区时，地区就能认出园区）。")
@click.option("--key-out", type=click.Path(file_okay=False, path_type=Path),
              help="与 --blind 一起用：评审编号对照表所在的文件夹，默认为输出目录旁边的“<输出目录名>_评审编号对照表”"
                   "（不能在输出目录中：评审表要交给专家）。")
@click.option("--word", "with_word", is_flag=True,
              help="同时为专家生成每份计入报送的 Word 表单（“专家评审材料”文件夹；与 --blind 一起用时同样隐去并按编号命名）。")
@rules_option
@ledger_option
def summarize(returns_dir: Path, roster: Path | None, out_dir: Path | None, include_errors: bool,
              include_unlisted: bool, blind: bool, show_region: bool, key_out: Path | None, with_word: bool,
              rules_dir: Path, ledger: Path | None):
    """检查全部报送表格并生成全省汇总表（summary.xlsx）和专家评审表（evaluation.xlsx）。

    默认只把名单中园区没有错误的报送计入合计和评审表，有错误的、名单外的报送列出状态但不计入；
    --include-errors、--include-unlisted 则一并计入并标明。--blind 的编号对照表不放在输出目录中。

    \b
    示例：
        consolidator summarize 报送文件 --roster 园区名单.csv
        consolidator summarize 报送文件 --roster 园区名单.csv --blind
        consolidator summarize 报送文件 --roster 园区名单.csv --blind --key-out 保密文件夹
    """
    from ..pipeline import is_inside

    forms, out_dir, parks = _prepare(returns_dir, roster, out_dir, rules_dir)
    if key_out is not None and not blind:
        raise click.UsageError("--key-out 只与 --blind 一起使用（不隐去园区名称时没有编号对照表）")
    key_dir = None
    if blind:  # the key never goes where the experts' workbook is
        here = out_dir.resolve()
        key_dir = key_out or here.parent / f"{here.name}_评审编号对照表"
        if is_inside(key_dir, out_dir) or is_inside(key_dir, returns_dir):
            raise click.UsageError(f"评审编号对照表的文件夹 {key_dir} 不能在输出目录 {out_dir}（评审表所在的文件夹，"
                                   "要交给专家）或报送文件夹中，请用 --key-out 指定别的文件夹")
    keys_out = OutputSet(key_dir) if key_dir is not None else contextlib.nullcontext()
    with OutputSet(out_dir) as out, keys_out as keys, _ledger(ledger) as book:  # claimed before the returns are read
        result = _checked_batch(returns_dir, forms, parks, False, release=True, ledger=book,
                                preload=("consolidator.write.evaluation", "consolidator.write.summary"))
        from ..write.evaluation import Panel
        from ..write.summary import build_summary, counted_returns, included, unlisted
        from ..write.xlsx import TextGuard, workbook_to_bytes

        guard = TextGuard()
        rets = counted_returns(result, include_errors, include_unlisted)
        panel = Panel(rets, forms, blind=blind, show_region=show_region, guard=guard)  # its park sheets under way
        summary, _ = build_summary(result, forms, include_errors=include_errors, include_unlisted=include_unlisted,
                                   more_findings=panel.findings)  # in the 问题清单
        evaluation, key = panel.finish()
        result.findings.extend(guard.findings)
        out.add("summary.xlsx", workbook_to_bytes(summary))
        out.add("evaluation.xlsx", evaluation)
        if key is not None:
            keys.add("评审编号对照表.xlsx", workbook_to_bytes(key))
        if with_word:
            written_docs = _expert_documents(result, rets, blind, show_region, out_dir)
        written = out.commit()
        key_written = keys.commit() if key is not None else []
    counts = result.status_counts()
    say(f"共读取 {len(result.returns)} 个文件；计入合计的园区 {len(rets)} 个；"
               + "，".join(f"{k} {v}" for k, v in counts.items()) + "。")
    outside = [r for r in included(result, include_errors) if unlisted(r)]
    if outside:
        names = "、".join(printable(r.park_name or r.file) for r in outside)
        say(f"不在园区名单中的园区 {len(outside)} 个（{names}）" + ("已按要求计入合计和评审表。" if include_unlisted else
            "未计入合计、未列入评审表，见 summary.xlsx 的“报送情况”；确属应报园区的请补入名单，或加 --include-unlisted。"))
    for path in written:
        say(f"已生成：{printable(path)}")
    if blind:
        say("评审表已隐去园区名称、填写单位和联系人" + ("，仍显示所在地区。" if show_region else "，也未显示所在地区（--show-region 可显示）。"))
    for path in key_written:
        say(f"评审编号对照表（保密，请另行保管，不要交给专家）：{printable(path)}")
    if with_word:
        say(f"专家评审材料（Word 表单）{len(written_docs)} 份：{printable(out_dir / '专家评审材料')}")
    _none_found(result, returns_dir)


def _expert_documents(result, rets, blind: bool, show_region: bool, out_dir: Path) -> list[Path]:
    """The panel's Word documents, numbered as in evaluation.xlsx (and redacted when blind, as it is)."""
    from ..pipeline import word_documents
    from ..write.evaluation import panel_order

    numbers = {id(r): n for r, n in panel_order(rets)}
    with OutputSet(out_dir / "专家评审材料") as docs_out:
        for name, data in word_documents(result, rets, blind=blind, numbers=numbers, show_region=show_region):
            docs_out.add(name, data)
        return docs_out.commit()


@cli.command(**HELP)
@_help_option
@returns_argument
@roster_option("园区名单（.csv 或 .xlsx）。")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="输出目录，默认为报送文件夹旁边的“<文件夹名>_检查结果”（工作区中为“检查结果”）；文件写在其中的“Word表单”文件夹。")
@click.option("--blind", is_flag=True, help="专家评审用：隐去园区名称、填写单位、联系人和所在地区，企业清单只列各类企业数量，"
                                            "按评审编号（与评审表相同）命名。")
@click.option("--show-region", is_flag=True,
              help="与 --blind 一起用：仍显示所在地区（默认不显示：一个城市只有一个园区时，地区就能认出园区）。")
@click.option("--pdf/--no-pdf", default=True, help="同时用 LibreOffice 转成 PDF（默认：装有 LibreOffice 时转换）。")
@click.option("--include-unlisted", is_flag=True, help="名单外园区的报送也生成（默认只生成名单中的园区）。")
@rules_option
@ledger_option
def word(returns_dir: Path, roster: Path | None, out_dir: Path | None, blind: bool, show_region: bool, pdf: bool,
         include_unlisted: bool, rules_dir: Path, ledger: Path | None):
    """为每份通过检查的报送生成官方 Word 表单（.docx，可另附 PDF），供园区打印盖章、专家评审。

    版式按官方表单：封面、填写说明、承诺声明（留出盖章位置）、各部分表格和脚注，报告按格式要求排版
    （固定行距22磅、小四号、各级标题字体）。有错误的报送不生成。

    \b
    示例：
        consolidator word 报送文件 --roster 园区名单.csv
        consolidator word 报送文件 --roster 园区名单.csv --blind
    """
    from ..pipeline import to_pdf, word_documents
    from ..workspace import find_libreoffice
    from ..write.evaluation import panel_order
    from ..write.summary import counted_returns

    forms, out_dir, parks = _prepare(returns_dir, roster, out_dir, rules_dir)
    folder = "专家评审材料" if blind else "Word表单"
    with OutputSet(out_dir / folder) as out, _ledger(ledger) as book:
        result = _checked_batch(returns_dir, forms, parks, False, ledger=book)
        rets = counted_returns(result, include_unlisted=include_unlisted)  # those evaluation.xlsx numbers
        numbers = {id(r): n for r, n in panel_order(rets)} if blind else None
        docs = word_documents(result, rets, blind=blind, numbers=numbers, show_region=show_region)
        for name, data in docs:
            out.add(name, data)
        office = find_libreoffice() if pdf else None
        if office and docs:
            for name, data in to_pdf(docs, office):
                out.add(name, data)
        written = out.commit()
    say(f"已生成 {len(docs)} 份 Word 表单" + (f"和 {len(written) - len(docs)} 份 PDF" if office else "")
        + f"，在 {printable(out_dir / folder)}。" + ("" if office or not pdf else "（未找到 LibreOffice，未转换 PDF。）"))
    if blind:
        say("表单已隐去园区名称、填写单位、联系人" + ("，仍显示所在地区" if show_region else "和所在地区（--show-region 可显示）")
            + "；企业清单只列各类企业数量，不列企业名称和统一社会信用代码。")
    _none_found(result, returns_dir)


@cli.command(**HELP)
@_help_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="进度表（进度表.csv、进度表.xlsx）的输出目录，工作区中默认为“检查结果”文件夹。")
@ledger_option
@click.pass_obj
def status(space, out_dir: Path | None, ledger: Path | None):
    """本轮进度：每个园区的分发、报送、检查状态、最近反馈和距今天数，需要办公室处理的排在前面。

    数据取自台账（distribute、check、feedback、collect 会记录）；同一张表另存为 进度表.csv 和 进度表.xlsx。
    """
    import datetime as dt

    from ..rules.layout import text_width
    from ..write.status import COLUMNS, status_csv, status_rows, status_xlsx

    if ledger is None:
        raise click.UsageError("没有台账：请在工作区中运行，或用 --ledger 指定台账文件。")
    if not Path(ledger).exists():
        raise click.ClickException(f"找不到台账 {printable(ledger)}：请先运行 distribute 或 check。")
    with _ledger(ledger) as book:
        parks = book.park_rows()
        rows = status_rows(parks, book.sent_rows(), book.received_rows(), dt.date.today())
    widths = [max([text_width(str(c)) for c in col] + [text_width(h)]) for h, col in
              zip(COLUMNS, zip(*[r.cells() for r in rows])) ] if rows else [text_width(h) for h in COLUMNS]
    for line in [list(COLUMNS)] + [r.cells() for r in rows]:
        say("  ".join(printable(c) + " " * (w - text_width(printable(c))) for c, w in zip(line, widths)).rstrip())
    out_dir = out_dir or (space.path("output") if space else Path(ledger).parent)
    title = f"报送进度（{dt.date.today():%Y-%m-%d}）"
    with OutputSet(out_dir) as out:
        out.add("进度表.csv", status_csv(rows))
        out.add("进度表.xlsx", status_xlsx(rows, title))
        written = out.commit()
    waiting = sum(r.action != "无需处理" for r in rows)
    say(f"共 {len(rows)} 个园区，需要处理 {waiting} 个。进度表：{written[1]}")


@cli.command(**HELP)
@_help_option
@rules_option
@click.option("--readme", type=click.Path(dir_okay=False, path_type=Path),
              default=Path(__file__).resolve().parent.parent.parent / "README.md", help="要更新的 README，默认为项目的 README.md。")
def docs(rules_dir: Path, readme: Path):
    """（开发用）按 rules/ 和问题编号目录重新生成源码中 README 的字段与规则目录、问题编号目录。"""
    from ..write.catalogue import update_readme

    changed = update_readme(readme, _load(rules_dir))
    say(f"已更新字段与规则目录和问题编号目录：{readme}" if changed else f"README 中的目录已是最新：{readme}")
