"""click's own texts in Chinese: its messages, the [必填] and range marks of --help, the placeholders.

click looks every message up through `gettext` (imported into each of its modules as `_` and
`ngettext`); `install()` points those names at the catalogue below, so that click formats the Chinese
text itself with its own values. Placeholders ({name}, {filename!r}, ...) stay as click gives them.
"""

from __future__ import annotations

import click
import click.core
import click.decorators
import click.exceptions
import click.formatting
import click.parser
import click.termui
import click.types

ZH = {
    # help
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本号并退出。",
    "required": "必填",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "(dynamic)": "（视情况而定）",
    "deprecated": "已停用",
    # usage errors
    "Missing command.": "缺少命令。",
    "No such command {name!r}.": "没有命令“{name}”。",
    "No such option {name!r}.": "没有选项“{name}”。",
    "Did you mean {possibility}?": "是否想输入 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（是否想输入其中之一：{possibilities}？）",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Invalid value: {message}": "值无效：{message}",
    "Got unexpected extra argument ({args})": "多余的参数（{args}）",
    "Got unexpected extra arguments ({args})": "多余的参数（{args}）",
    "Option {name!r} requires an argument.": "选项 {name} 后面需要一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name} 后面需要 {nargs} 个值。",
    "Option {name!r} does not take a value.": "选项 {name} 后面不能带值。",
    "Argument {name!r} takes {nargs} values.": "参数 {name} 需要 {nargs} 个值。",
    "Takes {nargs} values but 1 was given.": "需要 {nargs} 个值，只给了 1 个。",
    "Takes {nargs} values but {len} were given.": "需要 {nargs} 个值，给了 {len} 个。",
    "Invalid start character for option ({option})": "选项的开头字符无效（{option}）",
    "Error: {message}": "错误：{message}",
    "unknown error": "未知错误",
    "Aborted!": "已取消。",
    "Could not open file {filename!r}: {message}": "无法打开文件“{filename}”：{message}",
    # values
    "file": "文件",
    "directory": "文件夹",
    "path": "路径",
    "{name} {filename!r} does not exist.": "{name}“{filename}”不存在。",
    "{name} {filename!r} is a file.": "“{filename}”是文件，这里需要文件夹。",
    "{name} {filename!r} is a directory.": "“{filename}”是文件夹，这里需要文件。",
    "{name} {filename!r} is not readable.": "没有权限读取{name}“{filename}”。",
    "{name} {filename!r} is not writable.": "没有权限写入{name}“{filename}”。",
    "{name} {filename!r} is not executable.": "{name}“{filename}”不能执行。",
    "{value!r} is not {choice}.": "“{value}”不可用，只能是 {choice}。",
    "{value!r} is not one of {choices}.": "“{value}”不可用，只能是 {choices} 之一。",
    "Choose from:\n\t{choices}": "可选：{choices}",
    "{value} is not in the range {range}.": "{value} 不在允许的范围 {range} 内。",
    "{value!r} is not a valid {number_type}.": "“{value}”不是有效的数字。",
    "{value!r} is not a valid boolean. Recognized values: {states}": "“{value}”不是“是/否”值，可用：{states}",
    "{value!r} is not a valid UUID.": "“{value}”不是有效的 UUID。",
    "{value!r} does not match the format {format}.": "“{value}”不符合格式 {format}。",
    "{value!r} does not match the formats {formats}.": "“{value}”不符合格式 {formats}。",
    # prompts
    "Do you want to continue?": "是否继续？",
    "Repeat for confirmation": "请再输入一次以确认",
    "Error: The two entered values do not match.": "错误：两次输入不一致。",
    "Error: invalid input": "错误：输入无效",
    "Press any key to continue...": "按任意键继续……",
}
# the placeholders of --help by the value's type (click writes TEXT, FILE, DIRECTORY, FLOAT RANGE, ...)
METAVARS = {"directory": "文件夹", "file": "文件", "path": "路径", "text": "文字", "integer": "整数",
            "float": "数字", "integer range": "整数", "float range": "数字"}
PARAM_TYPES = {"option": "选项", "argument": "参数", "parameter": "参数"}
_MODULES = (click.core, click.decorators, click.exceptions, click.formatting, click.parser, click.termui,
            click.types)


def gettext(message: str) -> str:
    return ZH.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return ZH.get(singular if n == 1 else plural, singular if n == 1 else plural)


def _describe_range(self) -> str:
    """A number range as people write it: 0～600, ≥0, >0."""
    if self.min is not None and self.max is not None and not self.min_open and not self.max_open:
        return f"{self.min}～{self.max}"
    parts = []
    if self.min is not None:
        parts.append(f"{'>' if self.min_open else '≥'}{self.min}")
    if self.max is not None:
        parts.append(f"{'<' if self.max_open else '≤'}{self.max}")
    return "，".join(parts)


def _display_width(text: str) -> int:
    from click._compat import strip_ansi

    from .rules.layout import text_width

    return text_width(strip_ansi(text))


def install() -> None:
    """Make click speak Chinese (for the whole process: the program is a Chinese command line)."""
    for module in _MODULES:
        if hasattr(module, "_"):
            module._ = gettext
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext
    click.types._NumberRangeBase._describe_range = _describe_range  # "0<=x<=600" is no way to say it
    click.formatting.term_len = _display_width  # help columns aligned by display width (a CJK character is two)


def localise(command: click.Command) -> None:
    """Chinese placeholders and parameter kinds for every parameter of `command` and its subcommands."""
    for param in command.params:
        param.param_type_name = PARAM_TYPES.get(param.param_type_name, param.param_type_name)
        if param.metavar is None and not isinstance(param.type, click.Choice) and not getattr(param, "is_flag", False):
            kind = param.type.name if not isinstance(param.type, click.Path) else (
                "directory" if not param.type.file_okay else "file" if not param.type.dir_okay else "path")
            if kind in METAVARS:
                param.metavar = METAVARS[kind]
    for sub in getattr(command, "commands", {}).values():
        localise(sub)
