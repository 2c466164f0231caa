"""``xueji mail …``: the mail worker's commands (registered through an entry point)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from mailintake.smtp import make_controller
from mailintake.spool import Spool


def spool_path() -> Path:
    settings = current_app.config["XUEJI"]
    return Path(settings.mail_spool or Path(current_app.instance_path) / "mail")


@click.group("mail")
def mail() -> None:
    """The service mailbox's worker."""


@mail.command("smtp")
@click.option("--host", default=None, help="Address to listen on [XUEJI_SMTP_HOST].")
@click.option("--port", default=None, type=int, help="Port to listen on [XUEJI_SMTP_PORT].")
@with_appcontext
def smtp(host: str | None, port: int | None) -> None:
    """Receive mail for the service mailbox over SMTP and store it durably."""
    settings = current_app.config["XUEJI"]
    host, port = host or settings.smtp_host, port or settings.smtp_port
    spool = Spool(spool_path())
    controller = make_controller(spool, settings.mail_addresses, host, port,
                                 settings.mail_max_bytes)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    controller.start()
    click.echo(f"邮件接收已启动：smtp://{host}:{port}，收件地址 "
               f"{', '.join(settings.mail_addresses)}，原始邮件保存在 {spool.root}")
    try:
        stop.wait()
    finally:
        controller.stop()
