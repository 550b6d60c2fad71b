"""The commands that set up the round: init (the workspace) and doctor (what is set up)."""

from __future__ import annotations

from pathlib import Path

import click

from . import (
    EXIT_USAGE,
    HELP,
    _help_option,
    _load,
    cli,
    printable,
    rules_option,
    say,
)
from .mailing import _default_templates


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
    from .. import workspace as ws_mod
    from ..write.roster import roster_workbook
    from ..write.template import write_templates

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
    from ..ledger import Ledger

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

    from ..workspace import diagnose

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
