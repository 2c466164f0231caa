"""``xueji check``: is this machine's configuration healthy? One line per check, exit 1 if not.

The checks, in order; a check that needs what failed before it is skipped:

- 配置: the settings load, and production has its secrets (hotline.config);
- 数据库 / 数据库结构: the database answers and is migrated to head (the
  probes of /readyz, hotline.health);
- 限流存储: Redis answers PING when it is the storage; memory in
  production is a warning (each gunicorn worker would count alone);
- 节假日安排: this year's official schedule is loaded; from 1 November a
  missing next year is a warning (it is published around November-December,
  so nothing can be done about it before then);
- 邮件设置: the receiving unit exists, the relay resolves and accepts a
  connection when one is configured, the IMAP mailbox has a user and a
  password when it has a host; in production, a missing reply-address key is
  a warning (only the mail worker needs it);
- 原始邮件存储: the raw-mail store is writable by the user running the check
  (run it as the service's user), or can be created.

It is registered on the ``xueji`` group itself, not on the app, so that it
runs, and reports, even when the app cannot be built.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import click
from flask import Flask

from hotline.config import ConfigError, Settings, load_settings, mail_store_path, resolve_secret

MARKS = {"ok": "✓", "warn": "!", "fail": "✗", "skip": "-"}
RELAY_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Check:
    name: str  # config, database, schema, ratelimit_storage, calendar, mail, mail_store
    title: str
    status: str  # ok, warn, fail, skip
    detail: str


TITLES = {"config": "配置", "database": "数据库", "schema": "数据库结构", "ratelimit_storage": "限流存储",
          "calendar": "节假日安排", "mail": "邮件设置", "mail_store": "原始邮件存储"}


def _check(name: str, status: str, detail: str) -> Check:
    return Check(name, TITLES[name], status, detail)


def line(check: Check) -> str:
    """
    >>> line(Check("database", "数据库", "fail", "数据库无法连接"))
    '✗ 数据库：数据库无法连接'
    """
    return f"{MARKS[check.status]} {check.title}：{check.detail}"


def healthy(checks: list[Check]) -> bool:
    """Warnings do not make a machine unhealthy; a failure does.

    >>> healthy([Check("config", "配置", "ok", ""), Check("calendar", "节假日安排", "warn", "")])
    True
    """
    return all(check.status != "fail" for check in checks)


def _storage(app: Flask) -> Check:
    from limits.storage import storage_from_string

    from hotline.health import storage_probe

    settings = app.config["XUEJI"]
    storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"],
                                  **app.config["RATELIMIT_STORAGE_OPTIONS"])
    probe = storage_probe(storage)
    if not probe.ok:
        return _check("ratelimit_storage", "fail", probe.message)
    if settings.env == "production" and settings.ratelimit_storage_uri.startswith("memory"):
        return _check("ratelimit_storage", "warn", "限流计数保存在各进程内存中，多个进程各自计数；"
                      "生产环境请设置 XUEJI_RATELIMIT_STORAGE_URI=redis://…")
    return _check("ratelimit_storage", "ok", probe.message)


def _calendar(today: datetime.date) -> Check:
    from hotline import db
    from hotline.calendar import WorkCalendar

    calendar = WorkCalendar.from_session(db.session())
    warning = calendar.schedule_warning(today)
    if warning is None:
        years = [year for year in (today.year, today.year + 1) if year in calendar.official_years]
        return _check("calendar", "ok", f"已载入 {'、'.join(map(str, years))} 年的正式安排")
    # This year's schedule missing makes every deadline provisional now: a failure.
    return _check("calendar", "fail" if today.year not in calendar.official_years else "warn", warning)


def relay_problem(host: str, port: int, timeout: float = RELAY_TIMEOUT_SECONDS) -> str | None:
    """Why the outgoing relay cannot be used, or None when it accepts a connection.

    >>> relay_problem("relay..example", 25)  # an empty label: refused before any DNS query
    '发信服务器 relay..example 无法解析（XUEJI_OUTBOUND_SMTP_HOST）'
    """
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return f"发信服务器 {host} 无法解析（XUEJI_OUTBOUND_SMTP_HOST）"
    for family, kind, protocol, _name, address in addresses:
        try:
            with socket.socket(family, kind, protocol) as connection:
                connection.settimeout(timeout)
                connection.connect(address)
            return None
        except OSError:
            continue
    return f"发信服务器 {host}:{port} 无法连接"


def _mail(app: Flask) -> Check:
    from hotline import db
    from lookup.models import Unit

    settings: Settings = app.config["XUEJI"]
    problems = []
    if db.session().get(Unit, settings.mail_receiving_unit) is None:
        problems.append(f"收件单位 {settings.mail_receiving_unit} 不存在（XUEJI_MAIL_RECEIVING_UNIT）")
    if settings.outbound_smtp_host:
        problem = relay_problem(settings.outbound_smtp_host, settings.outbound_smtp_port)
        if problem:
            problems.append(problem)
    if settings.imap_host:
        missing = [f"XUEJI_IMAP_{name.upper()}" for name in ("user", "password")
                   if not getattr(settings, f"imap_{name}")]
        if missing:
            problems.append(f"已设置 XUEJI_IMAP_HOST，但缺少 {'、'.join(missing)}")
    if problems:
        return _check("mail", "fail", "；".join(problems))
    if settings.env == "production":
        try:
            resolve_secret(settings, "mail_reply_key", Path(app.instance_path))
        except ConfigError as exc:
            return _check("mail", "warn", f"{exc}（只有收信进程需要）")
    relay = (f"发信服务器 {settings.outbound_smtp_host}:{settings.outbound_smtp_port} 可连接"
             if settings.outbound_smtp_host else "未配置发信服务器，回复与回执只排队不发送")
    imap = f"IMAP 收信 {settings.imap_host}" if settings.imap_host else "未配置 IMAP 收信"
    return _check("mail", "ok", f"收件单位 {settings.mail_receiving_unit} 存在；{relay}；{imap}")


def store_problem(store: Path) -> str | None:
    """Why the raw-mail store cannot be written by this user, or None.

    A store that does not exist yet is fine if its nearest existing parent
    is writable: the mail worker creates it. The check never creates it
    itself, or a check run as root would leave a folder the service's user
    cannot write.
    """
    if store.exists():
        if not store.is_dir():
            return f"{store} 不是目录"
        try:
            with tempfile.NamedTemporaryFile(dir=store, prefix=".xueji-check-"):
                pass
        except OSError as exc:
            return f"{store} 不可写（{exc.strerror}）"
        return None
    parent = store.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{store} 不存在，且无法在 {parent} 下创建"
    return None


def _store(app: Flask) -> Check:
    store = mail_store_path(app.config["XUEJI"], app.instance_path)
    problem = store_problem(store)
    if problem:
        return _check("mail_store", "fail", problem)
    return _check("mail_store", "ok",
                  f"{store} 可写" if store.exists() else f"{store} 尚不存在，收信进程将创建")


def run_checks(today: datetime.date | None = None) -> Iterator[Check]:
    """Every check in order, from the environment's settings."""
    from hotline import db
    from hotline.app import create_app
    from hotline.calendar import today_in_shanghai
    from hotline.health import database_probes

    try:
        settings = load_settings()
        app = create_app(settings)  # resolves the secrets: production must have them
    except ConfigError as exc:
        yield _check("config", "fail", str(exc))
        for name in list(TITLES)[1:]:
            yield _check(name, "skip", "配置有误，未检查")
        return
    yield _check("config", "ok", f"配置有效（XUEJI_ENV={settings.env}）")
    try:
        with app.app_context():
            database, schema = database_probes(db.engine(), db.head_revision())
            yield _check("database", "ok" if database.ok else "fail", database.message)
            yield (_check("schema", "ok" if schema.ok else "fail", schema.message) if database.ok
                   else _check("schema", "skip", "数据库无法连接，未检查"))
            yield _storage(app)
            needs_schema: list[tuple[str, Callable[[], Check]]] = [
                ("calendar", lambda: _calendar(today or today_in_shanghai())), ("mail", lambda: _mail(app))]
            for name, run in needs_schema:
                yield run() if schema.ok else _check(name, "skip", "数据库不可用或尚未初始化，未检查")
            yield _store(app)
    finally:
        app.extensions["xueji.engine"].dispose()


def _parse_day(text: str | None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text) if text else None
    except ValueError:
        raise click.BadParameter(f"日期应为 YYYY-MM-DD，而不是 {text!r}") from None


@click.command("check")
@click.option("--json", "as_json", is_flag=True,
              help="Print {healthy, checks: [{name, title, status, detail}]}.")
@click.option("--today", default=None, hidden=True, help="Pretend today is this date (calendar check).")
def check_command(as_json: bool, today: str | None) -> None:
    """Check the configuration, database, Redis, calendar and mail settings; exit 1 if unhealthy."""
    day = _parse_day(today)
    checks = []
    for check in run_checks(day):
        checks.append(check)
        if not as_json:
            click.echo(line(check))
    ok = healthy(checks)
    if as_json:
        click.echo(json.dumps({"healthy": ok, "checks": [asdict(c) for c in checks]}, ensure_ascii=False))
    else:
        failed = sum(check.status == "fail" for check in checks)
        click.echo("检查通过。" if ok else f"检查未通过：{failed} 项异常。")
    raise SystemExit(0 if ok else 1)
