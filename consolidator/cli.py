"""The command line: a thin layer that parses options, calls the library and reports in Chinese."""

from __future__ import annotations

import contextlib
import functools
import gc
import re
from pathlib import Path

import click

from . import __version__, clitext
from .rules import DEFAULT_RULES_DIR, RuleFileError, load_forms
from .write.files import OutputSet, terminate_gracefully

clitext.install()  # before any option is declared: click names its types when they are made


def rules_option(fn):
    @click.option("--rules", "rules_dir", type=click.Path(file_okay=False, path_type=Path),
                  default=DEFAULT_RULES_DIR,
                  help="规则文件目录（common.yaml 和各类别的 .yaml）。默认为工作区的“规则”文件夹，不在工作区时为程序自带的规则。")
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


def ledger_option(fn):
    @click.option("--ledger", type=click.Path(dir_okay=False, path_type=Path),
                  help="台账文件（.sqlite）：记录每个收到的文件、检查结果和发出的邮件；再次检查时只读取有变化的文件。"
                       "在工作区中默认为工作区的 台账.sqlite，不在工作区时不用台账。")
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


@contextlib.contextmanager
def _ledger(path: Path | None):
    """The ledger at `path` (none: no ledger), closed however the command ends."""
    if path is None:
        yield None
        return
    from .ledger import Ledger, LedgerError

    try:
        ledger = Ledger.open(path)
    except LedgerError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        yield ledger
    except LedgerError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        ledger.close()


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def printable(text) -> str:
    """A name from outside (a file, a park) as it may be printed: no control characters (a terminal would
    obey an escape sequence; a line break would forge a line), and a file name that is not valid UTF-8
    shown with replacement characters."""
    return _CONTROL.sub(" ", _no_surrogates(str(text))).strip()


def _no_surrogates(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if not text.isascii() else text


def say(message: str, *, err: bool = False) -> None:
    """Print one of our messages (its inserted names made printable by the caller)."""
    click.echo(_no_surrogates(message), err=err)


def _load(rules_dir: Path):
    try:
        return load_forms(rules_dir)
    except RuleFileError as exc:
        raise click.ClickException(str(exc)) from None


class _ChineseHelp(click.HelpFormatter):
    """click's help layout with Chinese headings."""

    HEADINGS = {"Options": "选项", "Commands": "命令", "Arguments": "参数"}

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, prefix="用法：")

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{self.HEADINGS.get(heading, heading)}：\n")


class _ChineseContext(click.Context):
    formatter_class = _ChineseHelp


HELP = dict(context_settings={"help_option_names": ["-h", "--help"]}, add_help_option=False, options_metavar="[选项]")


def _help_option(fn):
    return click.help_option("-h", "--help", help="显示本帮助并退出。")(fn)


@click.group(**HELP, subcommand_metavar="命令 [参数]...")
@_help_option
@click.version_option(__version__, "--version", prog_name="consolidator", message="%(prog)s %(version)s",
                      help="显示版本号并退出。")
@click.option("-w", "--workspace", type=click.Path(file_okay=False, path_type=Path), envvar="CONSOLIDATOR_WORKSPACE",
              help="工作区文件夹（含 consolidator.toml，由 consolidator init 创建）。默认为当前文件夹或其上级中的工作区；"
                   "各命令的设置取自其中，命令行选项优先。")
@click.pass_context
def cli(ctx: click.Context, workspace: Path | None):
    """consolidator：2026年工业园区高质量发展创新实践 数据收集工具。

    生成填报模板、批量检查园区报送的表格、汇总全省数据。

    \b
    第一次使用：
      consolidator init 2026园区收集     创建本轮的工作区
      cd 2026园区收集
      consolidator doctor                检查设置是否齐全

    \b
    退出码：
      0 全部通过
      1 有报送文件存在错误（或无法读取）
      2 用法或设置有误（选项、规则文件、名单、邮件模板）
      3 程序内部错误
      4 未能完成（已取消、无法写入输出、磁盘已满、邮件未能全部发出）
      5 报送文件夹中没有任何报送文件
    """
    from . import workspace as ws_mod

    if ctx.resilient_parsing or ctx.invoked_subcommand == "init":
        return
    if workspace is not None and not (workspace / ws_mod.SETTINGS_NAME).is_file():
        raise click.BadParameter(f"“{printable(workspace)}”不是工作区（其中没有 {ws_mod.SETTINGS_NAME}）；"
                                 "可用 consolidator init 创建。", param_hint="--workspace")
    root = workspace or ws_mod.find()
    if root is None:
        return
    try:
        space = ws_mod.load(root)
    except ws_mod.WorkspaceError as exc:
        raise click.ClickException(str(exc)) from None
    ctx.obj = space
    ctx.default_map = space.command_defaults()
    say(f"工作区：{printable(space.root)}", err=True)


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
    from .write.template import write_templates

    forms = _load(rules_dir)
    unknown = [c for c in categories if c not in forms]
    if unknown:
        raise click.BadParameter(f"没有类别：{'、'.join(unknown)}；可用类别：{'、'.join(forms)}",
                                 param_hint="--category")
    chosen = [f for cid, f in forms.items() if not categories or cid in categories]
    for path in write_templates(chosen, out_dir):
        say(f"已生成模板：{path}")


@cli.command(**HELP)
@_help_option
@click.argument("returns_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="报送文件夹")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="园区名单（.csv 或 .xlsx）：用于核对未报送的园区和园区名称。")
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
    forms, out_dir, parks = _prepare(returns_dir, roster, out_dir, rules_dir)
    with OutputSet(out_dir) as out, _ledger(ledger) as book:  # claimed before the returns are read
        result = _checked_batch(returns_dir, forms, parks, verbose, preload=("consolidator.write.report",),
                                ledger=book)
        from .write.report import outputs

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
    from .check.history import histories

    found = list(histories(result).values())
    for h in found[:limit]:
        last = len(h.changes[-1]) if h.changes else 0
        say(f"{printable(h.park)}：收到 {len(h.versions)} 版，最近一版改动 {last} 处；"
            f"已改正 {len(h.fixed)} 项，仍有 {len(h.still)} 项，新出现 {len(h.new)} 项。")
    if len(found) > limit:
        say(f"另有 {len(found) - limit} 个园区重新报送过，见问题报告中各园区的“版本记录”。")


def _none_found(result, returns_dir: Path) -> None:
    """A folder without a single return is said so, with its own exit code (not "all passed")."""
    if not result.returns:
        say(f"报送文件夹 {printable(returns_dir)} 中没有任何报送文件（跳过 {len(result.skipped)} 个），请检查文件夹是否选对。",
            err=True)
        raise SystemExit(EXIT_NO_RETURNS)


# Long because it is the command's whole story: where the key goes, the two workbooks, what was left out.
@cli.command(**HELP)
@_help_option
@click.argument("returns_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="报送文件夹")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="园区名单（.csv 或 .xlsx）。")
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
    from .pipeline import is_inside

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
        from .write.evaluation import build_evaluation
        from .write.summary import build_summary, counted_returns, included, unlisted
        from .write.xlsx import TextGuard, workbook_to_bytes

        guard = TextGuard()
        rets = counted_returns(result, include_errors, include_unlisted)
        evaluation, key = build_evaluation(rets, forms, blind=blind, show_region=show_region, guard=guard)
        result.findings.extend(guard.findings)  # reported in the summary's 问题清单
        summary, _ = build_summary(result, forms, include_errors=include_errors, include_unlisted=include_unlisted)
        out.add("summary.xlsx", workbook_to_bytes(summary))
        out.add("evaluation.xlsx", workbook_to_bytes(evaluation))
        if key is not None:
            keys.add("评审编号对照表.xlsx", workbook_to_bytes(key))
        if with_word:
            written_docs = _expert_documents(result, rets, blind, out_dir)
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


def _expert_documents(result, rets, blind: bool, out_dir: Path) -> list[Path]:
    """The panel's Word documents, numbered as in evaluation.xlsx (and redacted when blind)."""
    from .pipeline import word_documents
    from .write.evaluation import panel_order

    numbers = {id(r): n for r, n in panel_order(rets)}
    with OutputSet(out_dir / "专家评审材料") as docs_out:
        for name, data in word_documents(result, rets, blind=blind, numbers=numbers):
            docs_out.add(name, data)
        return docs_out.commit()


def _prepare(returns_dir: Path, roster: Path | None, out_dir: Path | None, rules_dir: Path):
    """What check and summarize need before any work: the rules, the output folder (never inside the
    returns), the roster."""
    from .pipeline import default_out_dir, is_inside

    forms = _load(rules_dir)
    out_dir = out_dir or default_out_dir(returns_dir)
    if is_inside(out_dir, returns_dir):
        raise click.UsageError(f"输出目录 {out_dir} 不能在报送文件夹 {returns_dir} 里面（报送文件夹保持不变）")
    return forms, out_dir, _roster(roster, forms, mail=False)  # check and summarize send nothing


def _checked_batch(returns_dir: Path, forms, parks, verbose: bool, preload: tuple[str, ...] = (),
                   release: bool = False, ledger=None):
    """The batch read and checked, with a progress display."""
    from . import pipeline

    if ledger is not None and parks is not None:
        ledger.sync_parks(parks)
    with _progress(verbose) as progress:
        result = pipeline.run_check(returns_dir, forms, parks, progress=progress, preload=preload, release=release,
                                    ledger=ledger)
    # the batch lives until the command ends: keep the garbage collector from walking it again and again
    gc.freeze()
    return result


def _roster(roster: Path | None, forms, *, mail: bool = True):
    from .read.roster import RosterError, read_roster

    if roster is None:
        return None
    try:
        return read_roster(roster, forms, mail=mail)
    except RosterError as exc:
        err = click.ClickException(str(exc))
        err.exit_code = 2
        raise err from None


class _progress:
    """A progress bar on stderr while files are read (a line per file with verbose)."""

    def __init__(self, verbose: bool):
        self.verbose, self.bar = verbose, None

    def __enter__(self):
        return self.update

    def update(self, n: int, total: int, raw) -> None:
        if self.verbose:
            state = "已读取" if raw.readable else "无法读取"
            say(f"[{n}/{total}] {printable(raw.source.display)}：{state}", err=True)
        elif total > 1:
            if self.bar is None:
                self.bar = click.progressbar(length=total, label="正在读取报送文件", file=click.get_text_stream("stderr"))
                self.bar.__enter__()
            self.bar.update(1)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def mail_options(fn):
    options = [
        click.option("--from", "sender", envvar="CONSOLIDATOR_MAIL_FROM", required=True,
                     help="发件人地址（也可用环境变量 CONSOLIDATOR_MAIL_FROM）。"),
        click.option("--office-name", required=True,
                     help="发件单位名称：邮件的落款和发件人名称（工作区中取自 consolidator.toml 的 office_name）。"),
        click.option("--deadline", default="", help="报送截止时间，如“2026年12月15日”，写入邮件。"),
        click.option("--templates", "templates_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
                     default=lambda: str(_default_templates()),
                     help="邮件模板目录（可修改）。默认为工作区的“邮件模板”文件夹，不在工作区时为程序自带的模板。"),
        click.option("--smtp", help="直接发送：邮件服务器 主机:端口，如 smtp.example.gov.cn:465。用户名和密码取自环境变量"
                                    " CONSOLIDATOR_SMTP_USER、CONSOLIDATOR_SMTP_PASSWORD。不加此项则只写出 .eml 文件。"),
        click.option("--security", type=click.Choice(["starttls", "ssl", "none"]),
                     help="连接加密方式，默认端口465用 ssl，其他用 starttls；none 只能用于本机服务器。"),
        click.option("--dry-run", is_flag=True, help="试运行：列出将要发送的邮件，不实际发送。"),
        click.option("--pause", type=click.FloatRange(0, 600), default=2.0, help="每封邮件之间暂停的秒数，默认 2 秒。"),
        click.option("--round", "round_", default="", help="发送轮次名称；同一轮次已发送过的园区，再次运行时跳过。"),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _default_templates() -> Path:
    from .mail.compose import (
        DEFAULT_TEMPLATES,  # jinja2: only for the commands that write mail
    )

    return DEFAULT_TEMPLATES


def _smtp_settings(smtp, security, dry_run):
    """Parse --smtp and, unless it is a dry run, log in once before any work is done."""
    from .mail.send import SmtpSettings, check_connection

    if not smtp:
        return None
    try:
        settings = SmtpSettings.parse(smtp, security)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--smtp") from None
    if not dry_run:
        try:
            check_connection(settings)
        except ConnectionError as exc:
            raise Unfinished(str(exc)) from None
    return settings


def _mail_ledger(ledger: Path | None, out_dir: Path) -> Path:
    """The ledger the mail commands record in: the workspace's, or else one in the outbox."""
    from .ledger import LEDGER_NAME

    if ledger is None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    return ledger or Path(out_dir) / LEDGER_NAME


def _deliver(outgoing, out_dir: Path, sender, office_name, settings, dry_run, pause, book) -> int:
    from .mail.send import deliver, export_log

    def show(d):
        say(f"{printable(d.park)}（{printable(d.to)}）：{d.action}"
            + (f"：{printable(d.detail)}" if d.detail and d.action == "发送失败" else ""))

    try:
        results = deliver(outgoing, out_dir, sender, book, sender_name=office_name, smtp=settings, dry_run=dry_run,
                          pause=pause, progress=show)
        export_log(book, out_dir)
    except ValueError as exc:  # an address that is no address
        raise click.UsageError(str(exc)) from None
    except ConnectionError as exc:
        raise Unfinished(str(exc)) from None
    failed = sum(d.action == "发送失败" for d in results)
    if failed:
        say(f"有 {failed} 封邮件发送失败，重新运行同一命令会只补发这些邮件。", err=True)
    if settings is None and results:
        _say_where_mails_are(results, out_dir)
    return EXIT_UNFINISHED if failed else EXIT_PASSED


def _say_where_mails_are(results, out_dir: Path) -> None:
    from .mail.send import EARLIER, REPLACED

    replaced = sum(d.action == REPLACED for d in results)
    say(f"已写出 {len(results)} 封邮件，在 {printable(out_dir / '邮件')}：双击 .eml 文件，会在 Outlook 或 Foxmail 中"
        "作为草稿打开，核对收件人和附件后点“发送”。也可以设置邮件服务器后加 --smtp 直接发送。")
    if replaced:
        say(f"注意：其中 {replaced} 封替换了上次写出的同名邮件，上次的移到了 {printable(out_dir / '邮件' / EARLIER)}；"
            "如果上次的已经发出，请勿重复发送。", err=True)


@cli.command(**HELP)
@_help_option
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="园区名单（.csv 或 .xlsx）。")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="发件箱目录：个人填报表和 .eml 邮件写在这里。")
@mail_options
@rules_option
@ledger_option
def distribute(roster, out_dir, sender, office_name, deadline, templates_dir, smtp, security, dry_run, pause, round_,
               rules_dir, ledger):
    """给名单中的每个园区生成个人填报表，并写出待发送的邮件（或直接发送）。

    个人填报表已填好园区名称、所在省市和区县并锁定，内含园区编号，报送后可自动识别。

    \b
    示例：
        consolidator distribute --roster 园区名单.csv --out 发件箱 --from gyc@example.gov.cn --deadline 2026年12月15日
        consolidator distribute --roster 园区名单.csv --out 发件箱 --from gyc@example.gov.cn --smtp smtp.example.gov.cn:465
    """
    from .mail.compose import MailTemplateError
    from .mail.plan import plan_distribute
    from .mail.send import write_attachments

    forms = _load(rules_dir)
    parks = _roster(roster, forms)
    settings = _smtp_settings(smtp, security, dry_run)
    options = {"deadline": deadline, "office": office_name, "round": f"distribute:{round_}" if round_ else "distribute"}
    with _ledger(_mail_ledger(ledger, out_dir)) as book:
        book.sync_parks(parks)
        already = book.sent_keys() if settings else set()
        try:
            outgoing = plan_distribute(parks, forms, templates_dir, options, already)
        except MailTemplateError as exc:
            raise click.ClickException(str(exc)) from None
        write_attachments(out_dir, outgoing, "填报表")
        code = _deliver(outgoing, out_dir, sender, office_name, settings, dry_run, pause, book)
    say(f"共 {len(outgoing)} 个园区；个人填报表在 {out_dir / '填报表'}")
    raise SystemExit(code)


@cli.command(**HELP)
@_help_option
@click.argument("returns_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="报送文件夹")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="园区名单（.csv 或 .xlsx），提供收件地址。")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="发件箱目录：问题标注表和 .eml 邮件写在这里。")
@mail_options
@click.option("--remind-after", type=click.IntRange(0, 365), default=7,
              help="分发后满多少天仍未报送的园区才发提醒，默认 7 天（工作区中取自 [reminders] after_days）。")
@click.option("--remind-every", type=click.IntRange(1, 365), default=3,
              help="同一园区两次提醒至少间隔多少天，默认 3 天（工作区中取自 [reminders] every_days）。")
@rules_option
@ledger_option
def feedback(returns_dir, roster, out_dir, sender, office_name, deadline, templates_dir, smtp, security, dry_run, pause,
             round_, remind_after, remind_every, rules_dir, ledger):
    """检查报送表格，给每个园区写出反馈邮件（或直接发送）。

    有问题的园区：附上标出问题单元格并加了批注的副本（原文件不变），邮件逐条列出问题；
    通过的园区：简短的回执；未报送的园区：提醒，并再次附上个人填报表。

    \b
    示例：
        consolidator feedback 报送文件 --roster 园区名单.csv --out 发件箱 --from gyc@example.gov.cn
    """
    from .mail.compose import MailTemplateError
    from .mail.plan import plan_feedback
    from .mail.send import write_attachments
    from .pipeline import is_inside, run_check

    forms = _load(rules_dir)
    if is_inside(out_dir, returns_dir):
        raise click.UsageError(f"发件箱 {out_dir} 不能在报送文件夹 {returns_dir} 里面（报送文件夹保持不变）")
    parks = _roster(roster, forms)
    settings = _smtp_settings(smtp, security, dry_run)
    with _ledger(_mail_ledger(ledger, out_dir)) as book:
        book.sync_parks(parks)
        with _progress(False) as progress:
            result = run_check(returns_dir, forms, parks, progress=progress, ledger=book)
        options = {"deadline": deadline, "office": office_name, "round": round_, "last_sent": book.last_sent(),
                   "remind_after": remind_after, "remind_every": remind_every}
        try:
            outgoing, skipped = plan_feedback(result, forms, templates_dir, options)
        except MailTemplateError as exc:
            raise click.ClickException(str(exc)) from None
        write_attachments(out_dir, [o for o in outgoing if o.kind == "problems"], "问题标注")
        write_attachments(out_dir, [o for o in outgoing if o.kind == "accepted"], "Word表单")
        for name, reason in skipped:
            say(f"{printable(name)}：不发送（{reason}）")
        code = _deliver(outgoing, out_dir, sender, office_name, settings, dry_run, pause, book)
    raise SystemExit(code)


@cli.command(**HELP)
@_help_option
@click.argument("returns_dir", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="报送文件夹")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="园区名单（.csv 或 .xlsx）。")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="输出目录，默认为报送文件夹旁边的“<文件夹名>_检查结果”（工作区中为“检查结果”）；文件写在其中的“Word表单”文件夹。")
@click.option("--blind", is_flag=True, help="专家评审用：隐去园区名称、填写单位和联系人，按评审编号（与评审表相同）命名。")
@click.option("--pdf/--no-pdf", default=True, help="同时用 LibreOffice 转成 PDF（默认：装有 LibreOffice 时转换）。")
@click.option("--include-unlisted", is_flag=True, help="名单外园区的报送也生成（默认只生成名单中的园区）。")
@rules_option
@ledger_option
def word(returns_dir: Path, roster: Path | None, out_dir: Path | None, blind: bool, pdf: bool, include_unlisted: bool,
         rules_dir: Path, ledger: Path | None):
    """为每份通过检查的报送生成官方 Word 表单（.docx，可另附 PDF），供园区打印盖章、专家评审。

    版式按官方表单：封面、填写说明、承诺声明（留出盖章位置）、各部分表格和脚注，报告按格式要求排版
    （固定行距22磅、小四号、各级标题字体）。有错误的报送不生成。

    \b
    示例：
        consolidator word 报送文件 --roster 园区名单.csv
        consolidator word 报送文件 --roster 园区名单.csv --blind
    """
    from .pipeline import to_pdf, word_documents
    from .workspace import find_libreoffice
    from .write.evaluation import panel_order
    from .write.summary import counted_returns

    forms, out_dir, parks = _prepare(returns_dir, roster, out_dir, rules_dir)
    folder = "专家评审材料" if blind else "Word表单"
    with OutputSet(out_dir / folder) as out, _ledger(ledger) as book:
        result = _checked_batch(returns_dir, forms, parks, False, ledger=book)
        rets = counted_returns(result, include_unlisted=include_unlisted)  # those evaluation.xlsx numbers
        numbers = {id(r): n for r, n in panel_order(rets)} if blind else None
        docs = word_documents(result, rets, blind=blind, numbers=numbers)
        for name, data in docs:
            out.add(name, data)
        office = find_libreoffice() if pdf else None
        if office and docs:
            for name, data in to_pdf(docs, office):
                out.add(name, data)
        written = out.commit()
    say(f"已生成 {len(docs)} 份 Word 表单" + (f"和 {len(written) - len(docs)} 份 PDF" if office else "")
        + f"，在 {printable(out_dir / folder)}。" + ("" if office or not pdf else "（未找到 LibreOffice，未转换 PDF。）"))
    _none_found(result, returns_dir)


@cli.command(**HELP)
@_help_option
@click.option("--imap", help="收信服务器 主机:端口，如 imap.example.gov.cn:993。用户名和密码取自环境变量"
                             " CONSOLIDATOR_IMAP_USER、CONSOLIDATOR_IMAP_PASSWORD。", required=True)
@click.option("--security", type=click.Choice(["ssl", "starttls", "none"]),
              help="连接加密方式，默认端口993用 ssl，其他用 starttls；none 只能用于本机服务器。")
@click.option("--mailbox", default="INBOX", help="邮箱中的文件夹，默认为收件箱 INBOX。")
@click.option("--mark-seen", is_flag=True, help="把取过的邮件标为已读（默认不改动邮箱）。")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="园区名单（.csv 或 .xlsx）：按发件人和园区名称认出报送的园区。")
@click.option("--returns", "returns_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="报送文件夹：收到的表格保存在这里，其他附件保存在其中的“附件”文件夹。")
@rules_option
@ledger_option
def collect(imap, security, mailbox, mark_seen, roster, returns_dir, rules_dir, ledger):
    """从收信邮箱取回园区报送的邮件：保存表格和附件，并记入台账。

    只取台账中还没有的邮件（重复运行不会重复保存）；不删除、不移动邮件。表格保存为
    “园区名称_收件时间_原文件名”；压缩包中的表格也取出保存；盖章扫描件等其他文件保存为该园区的附件。
    没有附件、发件人不在名单中、附件无法读取的邮件会列出，请办公室处理。

    \b
    示例：
        consolidator collect --imap imap.example.gov.cn:993 --roster 园区名单.csv --returns 报送文件 --ledger 台账.sqlite
    """
    from .mail.collect import ImapSettings, check_login, collect as collect_mail, identify

    if ledger is None:
        raise click.UsageError("收取邮件需要台账（记住取过哪些邮件）：请在工作区中运行，或用 --ledger 指定台账文件。")
    forms = _load(rules_dir)
    parks = _roster(roster, forms, mail=False)
    try:
        settings = ImapSettings.parse(imap, security, mailbox)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--imap") from None
    try:
        check_login(settings)
    except ConnectionError as exc:
        raise Unfinished(str(exc)) from None
    returns_dir.mkdir(parents=True, exist_ok=True)
    with _ledger(ledger) as book:
        book.sync_parks(parks)
        with _collect_progress() as progress:
            try:
                items = collect_mail(settings, book, parks, returns_dir, mark_seen=mark_seen, progress=progress)
            except ConnectionError as exc:
                raise Unfinished(str(exc)) from None
        identify(items, forms, parks, book, returns_dir)
    _say_collected(items, returns_dir)


class _collect_progress(_progress):
    def __init__(self):
        super().__init__(False)

    def update(self, n: int, total: int, item) -> None:
        if total > 1:
            if self.bar is None:
                self.bar = click.progressbar(length=total, label="正在收取邮件", file=click.get_text_stream("stderr"))
                self.bar.__enter__()
            self.bar.update(1)


def _say_collected(items, returns_dir: Path) -> None:
    saved = sum(len(i.saved) for i in items)
    attached = sum(len(i.attachments) for i in items)
    say(f"新邮件 {len(items)} 封：保存报送表格 {saved} 个，附件 {attached} 个（在 {printable(returns_dir)}）。")
    for outcome in ("发件人不在名单中", "附件无法读取", "没有附件"):
        listed = [i for i in items if i.outcome == outcome]
        if listed:
            say(f"{outcome}（{len(listed)} 封，请办公室处理）：")
            for i in listed:
                say(f"  {printable(i.sender)}：{printable(i.subject)}" + (f"（{printable(i.detail)}）" if i.detail else ""))
    again = sum(i.outcome == "已收过" for i in items)
    if again:
        say(f"另有 {again} 封与已取过的邮件相同（同一 Message-ID），未重复保存。")
    if saved:
        say("下一步：运行 consolidator check 检查收到的表格。")


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

    from .rules.layout import text_width
    from .write.status import COLUMNS, status_csv, status_rows, status_xlsx

    if ledger is None:
        raise click.UsageError("没有台账：请在工作区中运行，或用 --ledger 指定台账文件。")
    if not Path(ledger).exists():
        raise click.ClickException(f"找不到台账 {printable(ledger)}：请先运行 distribute 或 check。")
    with _ledger(ledger) as book:
        parks = _rows_of(book, "SELECT * FROM parks ORDER BY park_id")
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


def _rows_of(book, sql: str) -> list[dict]:
    cur = book.conn.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


@cli.command(**HELP)
@_help_option
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), metavar="文件夹")
@click.option("--office-name", default="", help="发件单位名称（邮件落款和发件人名称），以后可在 consolidator.toml 中修改。")
@click.option("--from", "sender", default="", help="发件人地址。")
@click.option("--deadline", default="", help="报送截止时间，如“2026年12月31日”。")
@click.option("--round-name", default="", help="本轮收集的名称，默认为规则中的标题。")
@rules_option
def init(folder: Path, office_name: str, sender: str, deadline: str, round_name: str, rules_dir: Path):
    """创建本轮数据收集的工作区。

    工作区中有：设置文件 consolidator.toml、可修改的规则（规则/）和邮件模板（邮件模板/）、
    园区名单 园区名单.xlsx（只有表头，请逐行填写）、空白填报模板、报送文件夹、检查结果和发件箱文件夹，
    以及使用说明.md。之后在工作区中运行的命令都从 consolidator.toml 取设置。

    \b
    示例：
        consolidator init 2026园区收集 --office-name 江苏省工业和信息化厅 --from gyc@example.gov.cn
    """
    from . import workspace as ws_mod
    from .write.roster import roster_workbook
    from .write.template import write_templates

    forms = _load(rules_dir)
    title = round_name or next(iter(forms.values())).title
    try:
        made = ws_mod.create(folder, rules_dir=rules_dir, mail_templates=_default_templates(), round_name=title,
                             office_name=office_name, sender=sender, deadline=deadline)
    except ws_mod.WorkspaceError as exc:
        raise click.ClickException(str(exc)) from None
    roster = folder / ws_mod.ROSTER_NAME
    if not roster.exists():
        roster.write_bytes(roster_workbook(forms))
        made.append(roster)
    made.extend(write_templates(list(forms.values()), folder / ws_mod.FOLDERS["templates"]))
    from .ledger import Ledger

    Ledger.open(folder / ws_mod.LEDGER_NAME).close()
    made.append(folder / ws_mod.LEDGER_NAME)
    for path in made:
        say(f"已创建：{printable(path)}")
    say(f"工作区已创建。下一步：用记事本打开 {printable(folder / ws_mod.SETTINGS_NAME)} 填写发件单位和截止时间，"
        f"在 {ws_mod.ROSTER_NAME} 中填写园区，然后进入该文件夹运行 consolidator doctor。")


@cli.command(**HELP)
@_help_option
@rules_option
@click.option("--templates", "templates_dir", type=click.Path(file_okay=False, path_type=Path),
              default=lambda: str(_default_templates()), help="邮件模板目录，默认取工作区的设置。")
@click.pass_obj
def doctor(space, rules_dir: Path, templates_dir: Path):
    """检查本轮的设置：哪些已经齐全，缺少什么，该怎么做。

    检查规则文件、园区名单、报送文件夹、发件人和邮件模板、邮件服务器（用户名和密码只看环境变量
    是否已设置）以及 LibreOffice。有缺少的项目时退出码为 2。
    """
    import os

    from .workspace import diagnose

    marks = {"ok": "✓", "missing": "✗", "optional": "·"}
    found = diagnose(space, rules_dir=rules_dir, templates_dir=templates_dir, environ=dict(os.environ))
    for item in found:
        say(f"{marks[item.state]} {item.what}：{printable(item.detail)}")
        if item.todo and item.state != "ok":
            say(f"    → {item.todo}")
    missing = [item.what for item in found if item.state == "missing"]
    if missing:
        say(f"有 {len(missing)} 项需要处理：{'、'.join(missing)}。")
        raise SystemExit(EXIT_USAGE)
    say("设置齐全，可以开始。")


@cli.command(**HELP)
@_help_option
@rules_option
@click.option("--readme", type=click.Path(dir_okay=False, path_type=Path),
              default=Path(__file__).resolve().parent.parent / "README.md", help="要更新的 README，默认为项目的 README.md。")
def docs(rules_dir: Path, readme: Path):
    """按 rules/ 和问题编号目录重新生成 README 中的字段与规则目录、问题编号目录。"""
    from .write.catalogue import update_readme

    changed = update_readme(readme, _load(rules_dir))
    say(f"已更新字段与规则目录和问题编号目录：{readme}" if changed else f"README 中的目录已是最新：{readme}")


for _command in [cli, *cli.commands.values()]:
    _command.context_class = _ChineseContext
clitext.localise(cli)



# exit codes, as --help and the README state them
EXIT_PASSED, EXIT_RETURN_ERRORS, EXIT_USAGE, EXIT_INTERNAL, EXIT_UNFINISHED, EXIT_NO_RETURNS = 0, 1, 2, 3, 4, 5


class Unfinished(click.ClickException):
    """The work could not be finished (nothing wrong with the returns): exit code 4."""

    exit_code = EXIT_UNFINISHED


def os_error_zh(exc: OSError) -> str:
    """An OS error in Chinese, naming the file or folder and what to do."""
    from .errors import os_error_zh as zh

    return zh(exc, shown=printable)


def _usage_message(exc: click.UsageError) -> str:
    """click's message (in Chinese, see clitext); a missing option also says what it is and where it may be set."""
    message = exc.format_message().rstrip(".").replace("。 ", "。")
    if isinstance(exc, click.MissingParameter) and exc.param is not None:
        what = (exc.param.help or "").rstrip("。")
        from .workspace import settable

        settable = exc.ctx is not None and exc.param.name in settable().get(exc.ctx.info_name, ())
        where = "，或在工作区的 consolidator.toml 中设置" if settable else ""
        message = f"{message}" + (f"（{what}）" if what else "") + f"。请在命令行上给出{where}。"
    return message


def main(argv: list[str] | None = None) -> None:
    """Entry point: click's errors reported in Chinese; the exit codes of the group's --help (cli's docstring)."""
    import sys

    if argv is None:  # the installed command, not a test calling in
        terminate_gracefully()  # SIGTERM as Ctrl-C: temporaries and the output folder's claim removed
        # pandera loads its data-synthesis strategies when hypothesis is installed (a test tool):
        # 0.3-0.5 s of every run, for nothing the command uses
        sys.modules.setdefault("hypothesis", None)
    try:
        code = cli.main(args=argv, prog_name="consolidator", standalone_mode=False)
        sys.exit(code or 0)
    except (click.exceptions.Abort, KeyboardInterrupt):
        say("已取消，处理未完成。", err=True)
        sys.exit(EXIT_UNFINISHED)
    except click.exceptions.NoArgsIsHelpError as exc:  # the bare command: its help, as --help
        say(exc.ctx.get_help() if exc.ctx else exc.format_message())
        sys.exit(EXIT_PASSED)
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "consolidator"
        say(f"用法错误：{_usage_message(exc)}\n运行 {command} --help 查看说明。", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        say(f"错误：{exc.format_message()}", err=True)
        sys.exit(exc.exit_code if exc.exit_code != 1 else EXIT_USAGE)  # click's default 1 is a settings problem here
    except OSError as exc:  # cannot write an output, the disk is full, ...
        say(f"错误：无法完成：{os_error_zh(exc)}", err=True)
        sys.exit(EXIT_UNFINISHED)
    except Exception:  # a bug: say so in Chinese, keep the details for the developers
        import os
        import tempfile
        import traceback

        if os.environ.get("CONSOLIDATOR_DEBUG"):
            raise
        fd, log = tempfile.mkstemp(prefix="consolidator-error-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            traceback.print_exc(file=fh)
        say(f"程序内部错误，处理未完成。详细信息已保存到 {log}，请将该文件发给技术支持人员。", err=True)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
