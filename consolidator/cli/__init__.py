"""The command line: a thin layer that parses options, calls the library and reports in Chinese.

The group, the shared options and helpers, the exit codes and `main` live here; the commands are in
checking.py (template, check, summarize, word, status, docs), mailing.py (distribute, feedback, collect) and
round.py (init, doctor), which register themselves on the group when imported below."""

from __future__ import annotations

import contextlib
import functools
import gc
import re
from pathlib import Path

import click

from .. import __version__, clitext
from ..rules import DEFAULT_RULES_DIR, RuleFileError, load_forms
from ..write.files import terminate_gracefully

clitext.install()  # before any option is declared: click names its types when they are made


A_FOLDER = click.Path(exists=True, file_okay=False, path_type=Path)  # one that is there
A_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
returns_argument = click.argument("returns_dir", type=A_FOLDER, metavar="报送文件夹")


def roster_option(help_text: str, *, required: bool = False):
    return click.option("--roster", type=A_FILE, required=required, help=help_text)


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
    from ..ledger import Ledger, LedgerError

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
    from .. import workspace as ws_mod

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


def _none_found(result, returns_dir: Path) -> None:
    """A folder without a single return is said so, with its own exit code (not "all passed")."""
    if not result.returns:
        say(f"报送文件夹 {printable(returns_dir)} 中没有任何报送文件（跳过 {len(result.skipped)} 个），请检查文件夹是否选对。",
            err=True)
        raise SystemExit(EXIT_NO_RETURNS)


def _prepare(returns_dir: Path, roster: Path | None, out_dir: Path | None, rules_dir: Path):
    """What check and summarize need before any work: the rules, the output folder (never inside the
    returns), the roster."""
    from ..pipeline import default_out_dir, is_inside

    forms = _load(rules_dir)
    out_dir = out_dir or default_out_dir(returns_dir)
    if is_inside(out_dir, returns_dir):
        raise click.UsageError(f"输出目录 {out_dir} 不能在报送文件夹 {returns_dir} 里面（报送文件夹保持不变）")
    return forms, out_dir, _roster(roster, forms, mail=False)  # check and summarize send nothing


def _checked_batch(returns_dir: Path, forms, parks, verbose: bool, preload: tuple[str, ...] = (),
                   release: bool = False, ledger=None):
    """The batch read and checked, with a progress display."""
    from .. import pipeline

    if ledger is not None and parks is not None:
        ledger.sync_parks(parks)
    with _progress(verbose) as progress:
        result = pipeline.run_check(returns_dir, forms, parks, progress=progress, preload=preload, release=release,
                                    ledger=ledger)
    # the batch lives until the command ends: keep the garbage collector from walking it again and again
    gc.freeze()
    if _INSTALLED:  # never freed (main)
        _KEPT.append(result)
    return result


def _roster(roster: Path | None, forms, *, mail: bool = True):
    from ..read.roster import RosterError, read_roster

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




# exit codes, as --help and the README state them
EXIT_PASSED, EXIT_RETURN_ERRORS, EXIT_USAGE, EXIT_INTERNAL, EXIT_UNFINISHED, EXIT_NO_RETURNS = 0, 1, 2, 3, 4, 5


class Unfinished(click.ClickException):
    """The work could not be finished (nothing wrong with the returns): exit code 4."""

    exit_code = EXIT_UNFINISHED


def os_error_zh(exc: OSError) -> str:
    """An OS error in Chinese, naming the file or folder and what to do."""
    from ..errors import os_error_zh as zh

    return zh(exc, shown=printable)


def _usage_message(exc: click.UsageError) -> str:
    """click's message (in Chinese, see clitext); a missing option also says what it is and where it may be set."""
    message = exc.format_message().rstrip(".").replace("。 ", "。")
    if isinstance(exc, click.MissingParameter) and exc.param is not None:
        what = (exc.param.help or "").rstrip("。")
        from ..workspace import settable

        settable = exc.ctx is not None and exc.param.name in settable().get(exc.ctx.info_name, ())
        where = "，或在工作区的 consolidator.toml 中设置" if settable else ""
        message = f"{message}" + (f"（{what}）" if what else "") + f"。请在命令行上给出{where}。"
    return message


_INSTALLED = False  # run as the installed command (main), which ends without the interpreter's teardown
_KEPT: list = []  # what it keeps to its end, never freed: the batch


def main(argv: list[str] | None = None) -> None:
    """Entry point: click's errors reported in Chinese; the exit codes of the group's --help (cli's docstring).

    The installed command ends as soon as its work is done: what it wrote is closed and its output flushed, and
    the process then exits without freeing its objects one by one (the batch of a national round is millions
    of them: from the last line printed to the exit 0.13 s -> 0.03 s at 1,000 returns, 0.53 s -> 0.16 s at
    10,000, for memory the system takes back at once)."""
    import sys

    global _INSTALLED
    if argv is not None:  # a test calling in
        _main(argv)
        return
    terminate_gracefully()  # SIGTERM as Ctrl-C: temporaries and the output folder's claim removed
    # pandera loads its data-synthesis strategies when hypothesis is installed (a test tool):
    # 0.3-0.5 s of every run, for nothing the command uses
    sys.modules.setdefault("hypothesis", None)
    _INSTALLED = True  # from now on _checked_batch keeps its batch in _KEPT
    try:
        _main(None)
        code = 0
    except SystemExit as done:  # (its traceback, which holds the command's frames, is never freed either)
        code = done.code
    _leave(code)


def _leave(code) -> None:
    """sys.exit(code) without the interpreter's teardown: the standard streams flushed, then os._exit. Every
    file, database and worker of the command is closed or ended by then (by their with blocks)."""
    import os
    import sys

    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("message"): said on stderr, exit code 1
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    os._exit(code)


def _main(argv: list[str] | None) -> None:
    import sys

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



from . import checking, mailing, round  # noqa: F401 (each registers its commands on the group)

for _command in [cli, *cli.commands.values()]:
    _command.context_class = _ChineseContext
clitext.localise(cli)
