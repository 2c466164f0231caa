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
              help="Also turn stored mail into tickets in this process (as `xueji mail work`).")
@with_appcontext
def smtp(host: str | None, port: int | None, drain: bool) -> None:
    """Receive mail for the service mailbox over SMTP and store it durably."""
    settings = current_app.config["XUEJI"]
    host, port = host or settings.smtp_host, port or settings.smtp_port
    if drain:
        _config()
    spool = Spool(spool_path())
    controller = make_controller(spool, settings.mail_addresses, host, port,
                                 settings.mail_max_bytes)
    stop = _stop_on_signals()
    worker = None
    if drain:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        worker = threading.Thread(target=work, args=(app,), kwargs={"stop": stop}, name="mail-work")
    controller.start()
    if worker is not None:
        worker.start()
    click.echo(f"邮件接收已启动：smtp://{host}:{port}，收件地址 "
               f"{', '.join(settings.mail_addresses)}，原始邮件保存在 {spool.root}"
               + ("，并在本进程中处理" if worker else ""))
    try:
        stop.wait()
    finally:
        controller.stop()
        if worker is not None:
            worker.join()


@mail.command("work")
@click.option("--once", is_flag=True, help="Stop when no stored message is waiting.")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between looks at the store.")
@with_appcontext
def work_command(once: bool, interval: float) -> None:
    """Turn stored mail into tickets (several workers may run at once)."""
    _config()
    stop = _stop_on_signals()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        counts = work(app, stop=stop, interval=interval, once=once)
    except OperationalError:
        raise click.ClickException("数据库无法使用，已处理的邮件已保存，其余邮件仍在等待处理") from None
    if once:
        summary = "，".join(f"{OUTCOME_TEXT.get(k, '此前已处理')} {v} 封" for k, v in sorted(counts.items()))
        click.echo(f"处理完毕：{summary or '没有待处理的邮件'}")


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
