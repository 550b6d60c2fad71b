"""The commands that send and receive: distribute, feedback, collect."""

from __future__ import annotations

from pathlib import Path

import click

from . import (
    A_FOLDER,
    EXIT_PASSED,
    EXIT_UNFINISHED,
    HELP,
    Unfinished,
    _help_option,
    _ledger,
    _load,
    _progress,
    _roster,
    cli,
    ledger_option,
    printable,
    returns_argument,
    roster_option,
    rules_option,
    say,
)


def mail_options(fn):
    options = [
        click.option("--from", "sender", envvar="CONSOLIDATOR_MAIL_FROM", required=True,
                     help="发件人地址（也可用环境变量 CONSOLIDATOR_MAIL_FROM）。"),
        click.option("--office-name", required=True,
                     help="发件单位名称：邮件的落款和发件人名称（工作区中取自 consolidator.toml 的 office_name）。"),
        click.option("--deadline", default="", help="报送截止时间，如“2026年12月15日”，写入邮件。"),
        click.option("--templates", "templates_dir", type=A_FOLDER,
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
    from ..mail.compose import (
        DEFAULT_TEMPLATES,  # jinja2: only for the commands that write mail
    )

    return DEFAULT_TEMPLATES


def _smtp_settings(smtp, security, dry_run):
    """Parse --smtp and, unless it is a dry run, log in once before any work is done."""
    from ..mail.send import SmtpSettings, check_connection

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
    from ..ledger import LEDGER_NAME

    if ledger is None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    return ledger or Path(out_dir) / LEDGER_NAME


def _deliver(outgoing, out_dir: Path, sender, office_name, settings, dry_run, pause, book) -> int:
    from ..mail.send import deliver, export_log

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
    from ..mail.send import EARLIER, REPLACED

    replaced = sum(d.action == REPLACED for d in results)
    say(f"已写出 {len(results)} 封邮件，在 {printable(out_dir / '邮件')}：双击 .eml 文件，会在 Outlook 或 Foxmail 中"
        "作为草稿打开，核对收件人和附件后点“发送”。也可以设置邮件服务器后加 --smtp 直接发送。")
    if replaced:
        say(f"注意：其中 {replaced} 封替换了上次写出的同名邮件，上次的移到了 {printable(out_dir / '邮件' / EARLIER)}；"
            "如果上次的已经发出，请勿重复发送。", err=True)


@cli.command(**HELP)
@_help_option
@roster_option("园区名单（.csv 或 .xlsx）。", required=True)
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
    from ..mail.compose import MailTemplateError
    from ..mail.plan import plan_distribute
    from ..mail.send import write_attachments

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
@returns_argument
@roster_option("园区名单（.csv 或 .xlsx），提供收件地址。", required=True)
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
    from ..mail.compose import MailTemplateError
    from ..mail.plan import plan_feedback
    from ..mail.send import write_attachments
    from ..pipeline import is_inside, run_check

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
@click.option("--imap", help="收信服务器 主机:端口，如 imap.example.gov.cn:993。用户名和密码取自环境变量"
                             " CONSOLIDATOR_IMAP_USER、CONSOLIDATOR_IMAP_PASSWORD。", required=True)
@click.option("--security", type=click.Choice(["ssl", "starttls", "none"]),
              help="连接加密方式，默认端口993用 ssl，其他用 starttls；none 只能用于本机服务器。")
@click.option("--mailbox", default="INBOX", help="邮箱中的文件夹，默认为收件箱 INBOX。")
@click.option("--mark-seen", is_flag=True, help="把取过的邮件标为已读（默认不改动邮箱）。")
@roster_option("园区名单（.csv 或 .xlsx）：按发件人和园区名称认出报送的园区。", required=True)
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
    from ..mail.collect import ImapSettings, check_login, identify
    from ..mail.collect import collect as collect_mail

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
