"""``xueji mail …``: the mail worker's commands (registered through an entry point)."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import OperationalError

from hotline import db
from hotline.config import ConfigError
from hotline.tickets.inbox import OUTCOME_TEXT
from lookup.models import Unit
from mailintake.config import MailConfig, store_path
from mailintake.intake import Outcome
from mailintake.sender import Relay
from mailintake.sender import run as run_sender
from mailintake.smtp import make_controller
from mailintake.spool import Spool
from mailintake.worker import ingest, work


def spool_path() -> Path:
    return store_path(current_app)


def _config() -> MailConfig:
    """The worker's settings, or one line saying what is wrong (exit status 1)."""
    try:
        config = MailConfig.from_app(current_app)
    except ConfigError as exc:
        raise click.ClickException(f"配置错误：{exc}") from None
    try:
        unit = db.session().get(Unit, config.receiving_unit)
    except OperationalError:
        raise click.ClickException("数据库无法使用或尚未初始化，请先运行 xueji init") from None
    if unit is None:
        raise click.ClickException(f"收件单位 {config.receiving_unit} 不存在（XUEJI_MAIL_RECEIVING_UNIT）")
    return config


def _relay(wanted: bool | None) -> Relay | None:
    """The relay if the sender is to run: when asked for (then it must be configured), or when configured."""
    relay = Relay.from_app(current_app)
    if wanted and relay is None:
        raise click.ClickException("未配置发信服务器（XUEJI_OUTBOUND_SMTP_HOST），无法发送邮件")
    return relay if wanted is not False else None


SENT_TEXT = {"sent": "已发送", "retry": "稍后重试", "failed": "发送失败", "lost": "已由其他发信进程接手"}


def _sent_summary(counts: dict[str, int]) -> str:
    return "，".join(f"{SENT_TEXT[k]} {v} 封" for k, v in sorted(counts.items()) if v) or "没有待发送的邮件"


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


@click.group("mail")
def mail() -> None:
    """The service mailbox's worker."""


@mail.command("smtp")
@click.option("--host", default=None, help="Address to listen on [XUEJI_SMTP_HOST].")
@click.option("--port", default=None, type=int, help="Port to listen on [XUEJI_SMTP_PORT].")
@click.option("--work/--no-work", "drain", default=False,
              help="Also turn stored mail into tickets, and send queued mail, in this process "
                   "(as `xueji mail work`).")
@with_appcontext
def smtp(host: str | None, port: int | None, drain: bool) -> None:
    """Receive mail for the service mailbox over SMTP and store it durably."""
    settings = current_app.config["XUEJI"]
    host, port = host or settings.smtp_host, port or settings.smtp_port
    relay = None
    if drain:
        _config()
        relay = _relay(None)
    spool = Spool(spool_path())
    controller = make_controller(spool, settings.mail_addresses, host, port,
                                 settings.mail_max_bytes)
    stop = _stop_on_signals()
    worker = None
    if drain:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        worker = threading.Thread(target=work, args=(app,), kwargs={"stop": stop}, name="mail-work")
    sender = None
    if relay is not None:
        sender = threading.Thread(target=run_sender, args=(app,), kwargs={"stop": stop}, name="mail-send")
    controller.start()
    for thread in (worker, sender):
        if thread is not None:
            thread.start()
    click.echo(f"邮件接收已启动：smtp://{host}:{port}，收件地址 "
               f"{', '.join(settings.mail_addresses)}，原始邮件保存在 {spool.root}"
               + ("，并在本进程中处理" if worker else ""))
    try:
        stop.wait()
    finally:
        controller.stop()
        for thread in (worker, sender):
            if thread is not None:
                thread.join()


@mail.command("work")
@click.option("--once", is_flag=True, help="Stop when no stored message is waiting.")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between looks at the store.")
@click.option("--send/--no-send", default=None,
              help="Also send queued mail, as `xueji mail send` "
                   "[default: when XUEJI_OUTBOUND_SMTP_HOST is set].")
@with_appcontext
def work_command(once: bool, interval: float, send: bool | None) -> None:
    """Turn stored mail into tickets and send queued mail (several workers may run at once)."""
    _config()
    relay = _relay(send)
    stop = _stop_on_signals()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    sender = None
    if relay is not None and not once:
        sender = threading.Thread(target=run_sender, args=(app,), kwargs={"stop": stop}, name="mail-send")
        sender.start()
    try:
        counts = work(app, stop=stop, interval=interval, once=once)
        # With --once, the acknowledgements just queued go out before the command ends.
        sent = run_sender(app, stop=stop, once=True) if relay is not None and once else None
    except OperationalError:
        raise click.ClickException("数据库无法使用，已处理的邮件已保存，其余邮件仍在等待处理") from None
    finally:
        stop.set()
        if sender is not None:
            sender.join()
    if once:
        summary = "，".join(f"{OUTCOME_TEXT.get(k, '此前已处理')} {v} 封" for k, v in sorted(counts.items()))
        click.echo(f"处理完毕：{summary or '没有待处理的邮件'}")
        if sent is not None:
            click.echo(f"发信：{_sent_summary(sent)}")


@mail.command("send")
@click.option("--once", is_flag=True, help="Send what is due now, then stop.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between looks at the queue.")
@with_appcontext
def send_command(once: bool, interval: float) -> None:
    """Send queued acknowledgements and replies through the relay (several senders may run at once)."""
    _config()
    _relay(True)
    stop = _stop_on_signals()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        counts = run_sender(app, stop=stop, interval=interval, once=once)
    except OperationalError:
        raise click.ClickException("数据库无法使用，未发出的邮件仍在发件队列中") from None
    if once:
        click.echo(f"发信完毕：{_sent_summary(counts)}")


def _line(path: str, outcome: Outcome) -> str:
    text = OUTCOME_TEXT[outcome.outcome]
    if outcome.ticket:
        text += f"，工单 {outcome.ticket}"
    if outcome.unit:
        text += f"，负责单位 {outcome.unit}"
    if outcome.outcome == "quarantine" and outcome.reason:
        text += f"（{outcome.reason}）"
    return f"{path}: {text}"


@mail.command("ingest")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help='One JSON object per file: {"file", "outcome", "ticket", "unit"}.')
@with_appcontext
def ingest_command(files: tuple[Path, ...], as_json: bool) -> None:
    """Take .eml files through the mail pipeline (replays quarantined mail after a fix)."""
    config = _config()
    spool = Spool(config.store)
    session = db.session()
    failed = False
    for path in files:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            click.echo(f"{path}: 无法读取（{exc.strerror or type(exc).__name__}）", err=True)
            failed = True
            continue
        try:
            outcome = ingest(session, spool, raw, config)
        except OperationalError:
            raise click.ClickException(f"{path}: 数据库无法使用，该邮件已保存在 {spool.root / 'new'}，"
                                       "将由 xueji mail work 处理") from None
        if as_json:
            click.echo(json.dumps({"file": str(path), "outcome": outcome.outcome, "ticket": outcome.ticket,
                                   "unit": outcome.unit}, ensure_ascii=False))
        else:
            click.echo(_line(str(path), outcome))
    if failed:
        raise SystemExit(1)
