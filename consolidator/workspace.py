"""The office's workspace for one collection round: a folder with consolidator.toml (the settings every
command takes its defaults from), an editable copy of the rules and the mail templates, the roster and
the folders the round uses.

    consolidator init 2026园区收集      # makes it
    cd 2026园区收集 && consolidator check   # settings from consolidator.toml; options still override

Passwords are never kept here: they come from the environment only.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import os_error_zh

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SETTINGS_NAME = "consolidator.toml"

# every setting: (table, key) -> (type, what it is, in Chinese)
SETTINGS: dict[tuple[str, str], tuple[type, str]] = {
    ("round", "name"): (str, "本轮收集的名称，写入邮件，也用作发送轮次"),
    ("round", "office_name"): (str, "发件单位名称：邮件落款和发件人名称"),
    ("round", "deadline"): (str, "报送截止时间，如“2026年12月31日”"),
    ("paths", "roster"): (str, "园区名单"),
    ("paths", "returns"): (str, "报送文件夹：园区报回的表格放在这里"),
    ("paths", "output"): (str, "检查结果、汇总表和评审表的输出目录"),
    ("paths", "outbox"): (str, "发件箱：个人填报表、问题标注表和邮件"),
    ("paths", "rules"): (str, "规则目录（可修改）"),
    ("paths", "mail_templates"): (str, "邮件模板目录（可修改）"),
    ("paths", "templates"): (str, "空白填报模板的输出目录"),
    ("paths", "ledger"): (str, "台账（记录本轮的发送、收件和检查结果）"),
    ("mail", "from"): (str, "发件人地址"),
    ("mail", "smtp_host"): (str, "发信服务器（SMTP）地址"),
    ("mail", "smtp_port"): (int, "发信服务器端口"),
    ("mail", "smtp_security"): (str, "发信加密方式：ssl、starttls 或 none"),
    ("mail", "imap_host"): (str, "收信服务器（IMAP）地址"),
    ("mail", "imap_port"): (int, "收信服务器端口"),
    ("mail", "imap_security"): (str, "收信加密方式：ssl、starttls 或 none"),
    ("mail", "pause"): (float, "每封邮件之间暂停的秒数"),
    ("reminders", "after_days"): (int, "分发后多少天仍未报送的园区发提醒"),
    ("reminders", "every_days"): (int, "同一园区两次提醒至少间隔多少天"),
}
SECURITY = ("ssl", "starttls", "none")
SECRET_WORDS = ("password", "passwd", "secret", "密码", "口令")
FOLDERS = {"returns": "报送文件", "output": "检查结果", "outbox": "发件箱", "rules": "规则",
           "mail_templates": "邮件模板", "templates": "空白模板"}
ROSTER_NAME = "园区名单.xlsx"
LEDGER_NAME = "台账.sqlite"
GUIDE_NAME = "使用说明.md"


class WorkspaceError(ValueError):
    """consolidator.toml cannot be used; the message (Chinese) names the file and the setting."""


@dataclass(frozen=True)
class Workspace:
    root: Path
    settings: dict[tuple[str, str], Any]

    @property
    def file(self) -> Path:
        return self.root / SETTINGS_NAME

    def get(self, table: str, key: str, default: Any = None) -> Any:
        value = self.settings.get((table, key))
        return default if value in (None, "") else value

    def path(self, key: str) -> Path | None:
        value = self.get("paths", key)
        return None if value is None else (self.root / value).resolve()

    def smtp(self) -> str | None:
        host = self.get("mail", "smtp_host")
        return None if not host else f"{host}:{self.get('mail', 'smtp_port', 465)}"

    def imap(self) -> str | None:
        host = self.get("mail", "imap_host")
        return None if not host else f"{host}:{self.get('mail', 'imap_port', 993)}"

    def command_defaults(self) -> dict[str, dict[str, Any]]:
        """click's default_map: what each command takes from the settings (an option given wins)."""
        rules = {"rules_dir": self.path("rules")}
        ledger = {"ledger": self.path("ledger") or self.root / LEDGER_NAME}
        returns = {"returns_dir": self.path("returns"), "roster": self.path("roster"), "out_dir": self.path("output"),
                   **ledger}
        mail = {"roster": self.path("roster"), "out_dir": self.path("outbox"), "sender": self.get("mail", "from"),
                "office_name": self.get("round", "office_name"), "deadline": self.get("round", "deadline"),
                "templates_dir": self.path("mail_templates"), "smtp": self.smtp(),
                "security": self.get("mail", "smtp_security"), "pause": self.get("mail", "pause"), **ledger}
        table = {
            "template": {**rules, "out_dir": self.path("templates")},
            "check": {**rules, **returns},
            "summarize": {**rules, **returns},
            "word": {**rules, **returns},
            "distribute": {**rules, **mail, "round_": self.get("round", "name")},
            "feedback": {**rules, **mail, "returns_dir": self.path("returns"),
                         "remind_after": self.get("reminders", "after_days"),
                         "remind_every": self.get("reminders", "every_days")},
            "docs": dict(rules),
            "status": {**ledger, "out_dir": self.path("output")},
            "collect": {**rules, **ledger, "imap": self.imap(), "security": self.get("mail", "imap_security"),
                        "roster": self.path("roster"), "returns_dir": self.path("returns")},
            "doctor": {**rules, "templates_dir": self.path("mail_templates")},
        }
        return {cmd: {k: (str(v) if isinstance(v, Path) else v) for k, v in opts.items() if v is not None}
                for cmd, opts in table.items()}


def settable() -> dict[str, set[str]]:
    """command -> the parameters a workspace can set for it."""
    every = {key: ({int: 1, float: 1.0}.get(kind, "x")) for key, (kind, _) in SETTINGS.items()}
    return {cmd: set(opts) for cmd, opts in Workspace(Path("."), every).command_defaults().items()}


def find(start: Path | None = None) -> Path | None:
    """The workspace folder holding `start` (the current folder by default), if any."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / SETTINGS_NAME).is_file():
            return folder
    return None


def load(root: Path) -> Workspace:
    """Read and validate root/consolidator.toml."""
    file = Path(root) / SETTINGS_NAME
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkspaceError(f"{file}：找不到设置文件。请先运行 consolidator init 创建工作区。") from None
    except UnicodeDecodeError:
        raise WorkspaceError(f"{file}：文件不是 UTF-8 编码，请用记事本“另存为”UTF-8 后重试。") from None
    except tomllib.TOMLDecodeError as exc:
        raise WorkspaceError(f"{file}：格式错误（{_toml_where(exc)}）。文字请用英文双引号括起来，如 name = \"某某\"。") from None
    return Workspace(Path(root).resolve(), _validated(raw, file))


def _toml_where(exc: Exception) -> str:
    import re

    m = re.search(r"line (\d+), column (\d+)", str(exc))
    return f"第{m.group(1)}行第{m.group(2)}列" if m else str(exc)


def _validated(raw: dict, file: Path) -> dict[tuple[str, str], Any]:
    settings: dict[tuple[str, str], Any] = {}
    for table, values in raw.items():
        if not isinstance(values, dict):
            raise WorkspaceError(f"{file}：“{table}”应是一节设置，如 [{table}]")
        for key, value in values.items():
            where = f"{file}：[{table}] {key}"
            if any(w in key.lower() for w in SECRET_WORDS):
                raise WorkspaceError(f"{where}：密码不能写在设置文件中，请删除这一行，"
                                     "改用环境变量（CONSOLIDATOR_SMTP_PASSWORD、CONSOLIDATOR_IMAP_PASSWORD）。")
            if (table, key) not in SETTINGS:
                known = "、".join(k for t, k in SETTINGS if t == table) or "、".join(sorted({t for t, _ in SETTINGS}))
                raise WorkspaceError(f"{where}：没有这项设置（可用：{known}）")
            kind, _ = SETTINGS[(table, key)]
            settings[(table, key)] = _typed(value, kind, where)
    for key in ("smtp_security", "imap_security"):
        value = settings.get(("mail", key))
        if value and value not in SECURITY:
            raise WorkspaceError(f"{file}：[mail] {key}：应为 {'、'.join(SECURITY)} 之一，而不是“{value}”")
    return settings


def _typed(value: Any, kind: type, where: str) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        wanted = {str: "文字（用英文双引号括起来）", int: "整数", float: "数字"}[kind]
        raise WorkspaceError(f"{where}：应为{wanted}，而不是 {value!r}")
    if kind is int and value < 0:
        raise WorkspaceError(f"{where}：不能是负数")
    return value


# ---- making a workspace ---------------------------------------------------------------------------
def settings_text(*, round_name: str, office_name: str, sender: str, deadline: str) -> str:
    """consolidator.toml as init writes it: every setting, each with its explanation."""
    q = _quoted
    return f"""# consolidator 工作区设置：本轮数据收集的全部设置都在这里。
# 用记事本修改后保存即可（保持 UTF-8 编码）；命令行上给出的选项优先于这里的设置。
# 用户名和密码不写在这里：请设置环境变量
#   CONSOLIDATOR_SMTP_USER、CONSOLIDATOR_SMTP_PASSWORD（发信）
#   CONSOLIDATOR_IMAP_USER、CONSOLIDATOR_IMAP_PASSWORD（收信）

[round]
name = {q(round_name)}          # {SETTINGS[("round", "name")][1]}
office_name = {q(office_name)}  # {SETTINGS[("round", "office_name")][1]}
deadline = {q(deadline)}        # {SETTINGS[("round", "deadline")][1]}

[paths]  # 相对于本文件所在文件夹
roster = {q(ROSTER_NAME)}
returns = {q(FOLDERS["returns"])}
output = {q(FOLDERS["output"])}
outbox = {q(FOLDERS["outbox"])}
rules = {q(FOLDERS["rules"])}
mail_templates = {q(FOLDERS["mail_templates"])}
templates = {q(FOLDERS["templates"])}
ledger = {q(LEDGER_NAME)}  # 台账：记录本轮的发送、收件和检查结果，请勿删除

[mail]
from = {q(sender)}    # {SETTINGS[("mail", "from")][1]}
smtp_host = ""        # {SETTINGS[("mail", "smtp_host")][1]}，如 smtp.example.gov.cn；留空则只写出 .eml 邮件
smtp_port = 465
smtp_security = "ssl" # ssl（端口465）、starttls（端口587）或 none（仅限本机服务器）
imap_host = ""        # {SETTINGS[("mail", "imap_host")][1]}，如 imap.example.gov.cn
imap_port = 993
imap_security = "ssl"
pause = 2.0           # {SETTINGS[("mail", "pause")][1]}

[reminders]
after_days = 7        # {SETTINGS[("reminders", "after_days")][1]}
every_days = 3        # {SETTINGS[("reminders", "every_days")][1]}
"""


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def create(root: Path, *, rules_dir: Path, mail_templates: Path, round_name: str, office_name: str = "",
           sender: str = "", deadline: str = "") -> list[Path]:
    """Make the workspace in `root` (which may exist, but not as a workspace); returns what was made.
    Nothing that exists is overwritten. The blank templates and the roster are written by the caller,
    which knows the rules (see cli.init)."""
    root = Path(root)
    if (root / SETTINGS_NAME).exists():
        raise WorkspaceError(f"{root} 已经是工作区（有 {SETTINGS_NAME}），没有改动任何文件。")
    root.mkdir(parents=True, exist_ok=True)
    made = []
    for key, name in FOLDERS.items():
        folder = root / name
        if key in ("rules", "mail_templates") and not folder.exists():
            shutil.copytree(rules_dir if key == "rules" else mail_templates, folder,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "_*"))
            made.append(folder)
        elif not folder.exists():
            folder.mkdir()
            made.append(folder)
    guide = root / GUIDE_NAME
    if not guide.exists():
        guide.write_text(guide_text(round_name), encoding="utf-8")
        made.append(guide)
    settings = root / SETTINGS_NAME
    settings.write_text(settings_text(round_name=round_name, office_name=office_name, sender=sender,
                                      deadline=deadline), encoding="utf-8")
    made.insert(0, settings)
    return made


def guide_text(round_name: str) -> str:
    f = FOLDERS
    return f"""# {round_name} 数据收集：使用说明

本文件夹是本轮收集的工作区。在本文件夹中打开命令行窗口（Windows：在文件夹空白处按住 Shift 点右键，
选“在此处打开 PowerShell 窗口”），运行下面的命令；设置取自 `{SETTINGS_NAME}`，不必每次输入。

## 一、准备（只做一次）
1. 用记事本打开 `{SETTINGS_NAME}`，填写发件单位名称（office_name）、发件人地址（from）、截止时间（deadline），
   需要直接发信时再填写邮件服务器。用户名和密码请设置为环境变量，不要写进文件。
2. 打开 `{ROSTER_NAME}`，按表头逐行填写园区名称、所在城市、所在区县、类别、联系人、电子邮箱（第二张表有说明）。
3. 运行 `consolidator doctor`，按提示补齐缺少的设置。

## 二、分发填报表
- `consolidator distribute`：为每个园区生成个人填报表（`{f["outbox"]}/填报表/`）和待发送的邮件（`{f["outbox"]}/邮件/`，
  双击用 Outlook 或 Foxmail 打开后点“发送”）。设置了邮件服务器时可加 `--smtp` 直接发送；先加 `--dry-run` 试运行。
- 空白模板：`consolidator template`（输出到 `{f["templates"]}/`）。

## 三、收集和检查
1. 设置了收信服务器（[mail] imap_host）时，运行 `consolidator collect` 从邮箱取回报送邮件：表格保存到
   `{f["returns"]}/`，盖章扫描件等保存到 `{f["returns"]}/附件/园区名称/`，重复运行不会重复保存，也不会删除邮件。
   也可以手工把园区报回的文件（表格、压缩包均可）放入 `{f["returns"]}/`，子文件夹也可以。
2. `consolidator check`：生成问题报告 `{f["output"]}/report.html`（用浏览器打开）和问题清单 `findings.csv`（用 Excel 打开）。
3. `consolidator feedback`：给每个园区写出反馈邮件，有问题的附上标注了问题的表格副本，通过的附上正式 Word 表单
   （请园区打印盖章后扫描发回）；未报送的园区在分发满 7 天后才提醒（[reminders] 中可改）。
4. `consolidator status`：列出每个园区的分发、报送、检查状态和距今天数，需要处理的排在前面（另存为 进度表.xlsx）。
   台账 `{LEDGER_NAME}` 记录本轮的全部往来，请勿删除；再次检查时只读取有变化的文件。

## 四、汇总
`consolidator summarize`：生成全省汇总表 `{f["output"]}/summary.xlsx` 和专家评审表 `evaluation.xlsx`
（`--blind` 隐去园区名称，编号对照表另存在评审材料以外的文件夹；加 `--word` 同时生成专家用的 Word 表单）。
`consolidator word`：为每份通过检查的报送生成正式 Word 表单（装有 LibreOffice 时另附 PDF），供盖章存档。

## 修改规则和邮件文字
`{f["rules"]}/` 中是本轮的检查规则和表格结构，`{f["mail_templates"]}/` 中是邮件文字，都可以用记事本修改；
每次运行都会先检查规则文件，有错误时会指出文件、位置和原因。修改规则后请重新运行 `consolidator template`。

报送文件夹中的文件不会被修改。遇到问题时运行 `consolidator doctor`，或把屏幕上的提示发给技术支持人员。
"""


# ---- what is set up -------------------------------------------------------------------------------
@dataclass(frozen=True)
class SetupItem:
    """One line of `consolidator doctor`: state "ok", "missing" (a command will not work) or "optional"."""

    state: str
    what: str
    detail: str
    todo: str = ""


LIBREOFFICE_PLACES = (r"C:\Program Files\LibreOffice\program\soffice.exe",
                      r"C:\Program Files (x86)\LibreOffice\program\soffice.exe",
                      "/Applications/LibreOffice.app/Contents/MacOS/soffice")


def find_libreoffice() -> str | None:
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return next((p for p in LIBREOFFICE_PLACES if Path(p).is_file()), None)


def diagnose(space: Workspace | None, *, rules_dir: Path, templates_dir: Path, environ: dict[str, str]) -> list[SetupItem]:
    """What is set up for the round, what is missing and what to do, in Chinese."""
    found = [_workspace_state(space)]
    forms, rules_state = _rules_state(rules_dir)
    found.append(rules_state)
    found.append(_roster_state(space, forms))
    found.append(_returns_state(space))
    found.extend(_mail_states(space, templates_dir, environ))
    office = find_libreoffice()
    found.append(SetupItem("ok", "LibreOffice", office) if office else SetupItem(
        "optional", "LibreOffice", "未找到（检查、汇总和分发不需要它）",
        "需要把 Word 表格转成 PDF 时，请安装 LibreOffice（https://zh-cn.libreoffice.org）"))
    return found


def _workspace_state(space: Workspace | None) -> SetupItem:
    if space is None:
        return SetupItem("optional", "工作区", "当前文件夹不是工作区：每次运行都要在命令行上给出名单、发件人等",
                       "运行 consolidator init 文件夹名 创建本轮的工作区，再进入该文件夹运行命令")
    return SetupItem("ok", "工作区", str(space.root))


def _rules_state(rules_dir: Path):
    from .rules import RuleFileError, load_forms

    try:
        forms = load_forms(rules_dir)
    except RuleFileError as exc:
        return None, SetupItem("missing", "规则", str(exc), "按提示改正规则文件后重新运行")
    names = "、".join(f.category_name for f in forms.values())
    return forms, SetupItem("ok", "规则", f"{rules_dir}：{len(forms)} 个类别（{names}）")


def _roster_state(space: Workspace | None, forms) -> SetupItem:
    from .read.roster import RosterError, read_roster

    path = space.path("roster") if space else None
    if path is None:
        return SetupItem("optional", "园区名单", "未设置", "在 consolidator.toml 的 [paths] roster 中写名单文件名")
    if not path.is_file():
        return SetupItem("missing", "园区名单", f"找不到 {path}", "把园区名单放到这里，或改正 consolidator.toml 中的文件名")
    if forms is None:
        return SetupItem("missing", "园区名单", "规则有误，无法核对名单", "先改正规则文件")
    try:
        parks = read_roster(path, forms, mail=True)
    except RosterError as exc:
        return SetupItem("missing", "园区名单", str(exc), "按提示改正名单中的这些行")
    except OSError as exc:
        return SetupItem("missing", "园区名单", f"无法打开：{os_error_zh(exc)}", "关闭正在打开它的程序后重试")
    if not parks:
        return SetupItem("missing", "园区名单", f"{path.name} 中还没有园区", "打开名单，每行填写一个园区")
    per = {}
    for park in parks:
        per[forms[park.category].category_name] = per.get(forms[park.category].category_name, 0) + 1
    return SetupItem("ok", "园区名单", f"{path.name}：{len(parks)} 个园区（" + "，".join(f"{k} {v}" for k, v in per.items()) + "）")


def _returns_state(space: Workspace | None) -> SetupItem:
    path = space.path("returns") if space else None
    if path is None:
        return SetupItem("optional", "报送文件夹", "未设置", "在 consolidator.toml 的 [paths] returns 中写文件夹名")
    if not path.is_dir():
        return SetupItem("missing", "报送文件夹", f"找不到 {path}", "创建该文件夹，把园区报回的文件放进去")
    count = sum(1 for p in path.rglob("*") if p.is_file())
    return SetupItem("ok", "报送文件夹", f"{path}：{count} 个文件" + ("（还没有报送文件）" if not count else ""))


def _mail_states(space: Workspace | None, templates_dir: Path, environ: dict[str, str]) -> list[SetupItem]:
    from .mail.compose import template_problems
    from .rules.formats import email_ok

    get = (lambda t, k: space.get(t, k)) if space else (lambda t, k: None)
    found = []
    sender, office = get("mail", "from"), get("round", "office_name")
    found.append(SetupItem("ok", "发件人", f"{office or ''} <{sender}>") if sender and email_ok(sender) and office else
                 SetupItem("missing", "发件人", "发件人地址" + ("格式不对" if sender else "未设置")
                         + ("" if office else "，发件单位名称未设置"),
                         "在 consolidator.toml 中填写 [mail] from 和 [round] office_name（分发和反馈需要）"))
    problems = template_problems(templates_dir)
    found.append(SetupItem("missing", "邮件模板", "；".join(problems), "按提示改正邮件模板") if problems
                 else SetupItem("ok", "邮件模板", str(templates_dir)))
    for label, host_key, prefix, use in (("发信服务器", "smtp_host", "CONSOLIDATOR_SMTP", "直接发送邮件"),
                                         ("收信服务器", "imap_host", "CONSOLIDATOR_IMAP", "自动收取报送邮件")):
        host = get("mail", host_key)
        if not host:
            found.append(SetupItem("optional", label, f"未设置（{use}时需要）",
                                 f"在 consolidator.toml 的 [mail] {host_key} 中填写服务器地址"))
            continue
        missing = [n for n in (f"{prefix}_USER", f"{prefix}_PASSWORD") if not environ.get(n)]
        found.append(SetupItem("missing", label, f"{host}：未设置环境变量 {'、'.join(missing)}",
                             f"在运行前设置这些环境变量（PowerShell：$env:{missing[0]}=\"…\"）") if missing
                     else SetupItem("ok", label, f"{host}（用户名和密码取自环境变量）"))
    return found
