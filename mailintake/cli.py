"""``xueji mail …``: the mail worker's commands (registered through an entry point)."""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from imapclient.exceptions import IMAPClientError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hotline import db, logs
from hotline.config import ConfigError
from hotline.tickets.contacts import mask_email
from hotline.tickets.inbox import OUTCOME_TEXT
from hotline.tickets.intake import now
from lookup.models import Unit
from mailintake.config import MailConfig, store_path
from mailintake.imap import ImapSettings, Mailbox, MailboxError
from mailintake.imap_poll import poll
from mailintake.intake import Outcome
from mailintake.relay import Relay
from mailintake.requeue import KIND_TEXT, RequeueError, requeue
from mailintake.sender import run as run_sender
from mailintake.smtp import TlsSetupError, make_controller, server_context
from mailintake.spool import Spool
from mailintake.worker import INGEST_BATCH, INGEST_BATCH_BYTES, ingest_many, work


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


def _summary(counts: Mapping[str, int]) -> str:
    """Outcomes counted, in words (``already``: recorded by an earlier attempt)."""
    return "，".join(f"{OUTCOME_TEXT.get(k, '此前已处理')} {v} 封" for k, v in sorted(counts.items())) \
        or "没有待处理的邮件"


def _start_service() -> threading.Event:
    """What every long-running mail command does first: log as the web site does
    (JSON in production, personal data masked), and stop cleanly on SIGINT or SIGTERM."""
    # As logging.basicConfig does: a program that set up logging already (a
    # test runner, an embedding service) keeps its own handlers.
    if not logging.getLogger().handlers:
        logs.configure(current_app.config["XUEJI"])
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def _report(counts: Mapping[str, int], sent: dict[str, int] | None) -> None:
    """What a --once run did: the outcomes, and the mail it sent."""
    click.echo(f"处理完毕：{_summary(counts)}")
    if sent is not None:
        click.echo(f"发信：{_sent_summary(sent)}")


@contextmanager
def _sending(app: Flask, relay: Relay | None, stop: threading.Event, once: bool) -> Iterator[None]:
    """The sender in a thread beside a long-running worker (when a relay is configured and the
    run is not --once); however the worker ends, ``stop`` is set and the sender joined."""
    sender = None
    if relay is not None and not once:
        sender = threading.Thread(target=run_sender, args=(app,), kwargs={"stop": stop}, name="mail-send")
        sender.start()
    try:
        yield
    finally:
        stop.set()
        if sender is not None:
            sender.join()


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
    tls = None
    if settings.smtp_tls_cert:
        try:
            tls = server_context(settings.smtp_tls_cert, settings.smtp_tls_key)
        except TlsSetupError as exc:
            raise click.ClickException(str(exc)) from None
    controller = make_controller(spool, settings.mail_addresses, host, port,
                                 settings.mail_max_bytes, tls, settings.smtp_require_tls)
    stop = _start_service()
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
    starttls = ("，须先 STARTTLS" if settings.smtp_require_tls else "，支持 STARTTLS") if tls else ""
    click.echo(f"邮件接收已启动：smtp://{host}:{port}{starttls}，收件地址 "
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
    stop = _start_service()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with _sending(app, relay, stop, once):
        try:
            counts = work(app, stop=stop, interval=interval, once=once)
            # With --once, the acknowledgements just queued go out before the command ends.
            sent = run_sender(app, stop=stop, once=True) if relay is not None and once else None
        except OperationalError:
            raise click.ClickException("数据库无法使用，已处理的邮件已保存，其余邮件仍在等待处理") from None
    if once:
        _report(counts, sent)


@mail.command("imap")
@click.option("--once", is_flag=True, help="Stop when no message of the folder is left to take.")
@click.option("--send/--no-send", default=None,
              help="Also send queued mail, as `xueji mail send` "
                   "[default: when XUEJI_OUTBOUND_SMTP_HOST is set].")
@with_appcontext
def imap_command(once: bool, send: bool | None) -> None:
    """Take mail from an existing mailbox over IMAP, flagging each message once it is recorded."""
    config = _config()
    try:
        imap = ImapSettings.from_settings(current_app.config["XUEJI"])
    except MailboxError as exc:
        raise click.ClickException(str(exc)) from None
    relay = _relay(send)
    stop = _start_service()
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def ready(mailbox: Mailbox) -> None:
        # Said once the folder is open, so that a wrong setting gets one line, not two.
        if not once:
            waiting = "以 IDLE 等待新邮件" if mailbox.can_idle else f"每 {imap.poll_seconds} 秒查看一次"
            click.echo(f"IMAP 收信已启动：{imap.address}（{waiting}），"
                       f"原始邮件保存在 {config.store / 'imap'}")

    with _sending(app, relay, stop, once):
        try:
            counts = poll(app, imap, stop=stop, once=once, ready=ready)
            sent = run_sender(app, stop=stop, once=True) if relay is not None and once else None
        except MailboxError as exc:
            raise click.ClickException(str(exc)) from None
        except OperationalError:
            raise click.ClickException("数据库无法使用，未处理的邮件仍在邮箱中（未加标记），"
                                       "稍后再运行即可") from None
        except (IMAPClientError, OSError) as exc:
            raise click.ClickException(f"无法连接 IMAP 服务器 {imap.host}:{imap.port}"
                                       f"（{type(exc).__name__}），未处理的邮件仍在邮箱中") from None
    if once:
        _report(counts, sent)


@mail.command("send")
@click.option("--once", is_flag=True, help="Send what is due now, then stop.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between looks at the queue.")
@with_appcontext
def send_command(once: bool, interval: float) -> None:
    """Send queued acknowledgements and replies through the relay (several senders may run at once)."""
    _config()
    _relay(True)
    stop = _start_service()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        counts = run_sender(app, stop=stop, interval=interval, once=once)
    except OperationalError:
        raise click.ClickException("数据库无法使用，未发出的邮件仍在发件队列中") from None
    if once:
        click.echo(f"发信完毕：{_sent_summary(counts)}")


@mail.command("requeue")
@click.option("--id", "ids", type=int, multiple=True, help="An outgoing mail's number (repeatable).")
@click.option("--all-failed", is_flag=True, help="Every failed outgoing mail.")
@click.option("--dry-run", is_flag=True, help="List what would be requeued; change nothing.")
@with_appcontext
def requeue_command(ids: tuple[int, ...], all_failed: bool, dry_run: bool) -> None:
    """Put failed outgoing mail back in the queue (after the relay or the cause was fixed)."""
    if bool(ids) == all_failed:
        raise click.UsageError("请指定 --id N（可重复）或 --all-failed，二者选一")
    try:
        done = requeue(db.session(), list(ids) if ids else None, at=now(), dry_run=dry_run)
    except RequeueError as exc:
        raise click.ClickException(str(exc)) from None
    except OperationalError:
        raise click.ClickException("数据库无法使用或尚未初始化，请先运行 xueji init") from None
    for item in done:
        click.echo(f"发件 {item.id}：工单 {item.ticket}，{KIND_TEXT.get(item.kind, item.kind)}，"
                   f"收件人 {mask_email(item.to_addr)}，已尝试 {item.attempts} 次，"
                   + ("将重新排队" if dry_run else "已重新排队"))
    if not done:
        click.echo("没有发送失败的邮件")
    elif dry_run:
        click.echo(f"试运行：将重新排队 {len(done)} 封，未作任何改动")
    else:
        click.echo(f"已重新排队 {len(done)} 封，将由 xueji mail send 发送")


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
    batch: list[tuple[Path, bytes]] = []
    for path in files:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            click.echo(f"{path}: 无法读取（{exc.strerror or type(exc).__name__}）", err=True)
            failed = True
            continue
        batch.append((path, raw))
        if len(batch) >= INGEST_BATCH or sum(len(r) for _, r in batch) >= INGEST_BATCH_BYTES:
            _ingest_batch(session, spool, config, batch, as_json)
            batch = []
    _ingest_batch(session, spool, config, batch, as_json)
    if failed:
        raise SystemExit(1)


def _ingest_batch(session: Session, spool: Spool, config: MailConfig, batch: list[tuple[Path, bytes]],
                  as_json: bool) -> None:
    """Store the batch, then print each file's outcome as soon as it is committed."""
    outcomes = ingest_many(session, spool, [raw for _, raw in batch], config)
    for index, (path, _) in enumerate(batch):
        try:
            outcome = next(outcomes)
        except OperationalError:
            rest = f"及其后的 {len(batch) - index - 1} 封邮件" if index + 1 < len(batch) else ""
            raise click.ClickException(f"{path}: 数据库无法使用，该邮件{rest}已保存在 {spool.root / 'new'}，"
                                       "将由 xueji mail work 处理") from None
        if as_json:
            click.echo(json.dumps({"file": str(path), "outcome": outcome.outcome, "ticket": outcome.ticket,
                                   "unit": outcome.unit}, ensure_ascii=False))
        else:
            click.echo(_line(str(path), outcome))
