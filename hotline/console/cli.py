"""``xueji user``: console accounts from the command line (the first administrator starts here).

Each command is one transaction: a refusal (unknown unit or role, weak
password, user name taken, no such account) is one Chinese line, exit
status 1, and nothing changed. Changes are audited like the administrator
page's, with no actor (the command line) and ``cli`` as the address.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from hotline import db
from hotline.console import accounts
from hotline.console.models import ROLE_TEXT, ROLES, User
from hotline.tickets.clocks import SHANGHAI
from lookup.models import Unit


def _run(operation: Callable[[], Any]) -> Any:
    session = db.session()
    try:
        result = operation()
        session.commit()
    except accounts.AccountError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    return result


def _account(username: str) -> User:
    user = accounts.find_user(db.session(), username)
    if user is None:
        raise click.ClickException(f"没有这个用户名：{accounts.printable(username)[:32]}")
    return user


def _new_password(password: str | None) -> str:
    if password is not None:
        return password
    # Typed twice, hidden; a mismatch stops here rather than looping on a
    # terminal that may not be there.
    first = click.prompt("密码", hide_input=True)
    if click.prompt("再次输入密码", hide_input=True) != first:
        raise click.ClickException("两次输入的密码不一致，账号未作任何修改")
    return first


@click.group("user")
def user_group() -> None:
    """Console accounts: create, disable, enable, unlock, set a password, list."""


@user_group.command("create")
@click.argument("username")
@click.option("--unit", "unit_code", required=True, help="The account's unit code (e.g. 130102).")
@click.option("--role", required=True, help="One of: " + ", ".join(ROLES) + ".")
@click.option("--name", default=None, help="The person's name as shown in the console.")
@click.option("--password", default=None, help="Initial password (prompted, hidden, when omitted).")
@with_appcontext
def create(username: str, unit_code: str, role: str, name: str | None, password: str | None) -> None:
    """Create an active account."""
    session = db.session()
    # Refuse a taken name, an unknown unit or role before asking for a password.
    _run(lambda: accounts.validate_new(session, username=username, unit_code=unit_code, role=role))
    secret = _new_password(password)
    user = _run(lambda: accounts.create_user(session, username=username, unit_code=unit_code, role=role,
                                             password=secret, name=name))
    unit = session.get(Unit, user.unit_code)
    click.echo(f"已创建账号 {user.username}（{unit.name} {unit.code}，{ROLE_TEXT[user.role]}）。")


@user_group.command("disable")
@click.argument("username")
@with_appcontext
def disable(username: str) -> None:
    """Disable an account; its sessions end at their next request."""
    user = _account(username)
    if _run(lambda: accounts.disable_user(db.session(), user)):
        click.echo(f"已停用账号 {user.username}，其所有登录已立即失效。")
    else:
        click.echo(f"账号 {user.username} 已是停用状态。")


@user_group.command("enable")
@click.argument("username")
@with_appcontext
def enable(username: str) -> None:
    """Enable a disabled account."""
    user = _account(username)
    changed = _run(lambda: accounts.enable_user(db.session(), user))
    click.echo(f"已启用账号 {user.username}。" if changed else f"账号 {user.username} 本来就是启用状态。")


@user_group.command("unlock")
@click.argument("username")
@with_appcontext
def unlock(username: str) -> None:
    """Lift a lockout after failed logins before its time."""
    user = _account(username)
    changed = _run(lambda: accounts.unlock_user(db.session(), user))
    click.echo(f"已解除账号 {user.username} 的锁定。" if changed else f"账号 {user.username} 没有被锁定。")


@user_group.command("password")
@click.argument("username")
@click.option("--password", default=None, help="New password (prompted, hidden, when omitted).")
@with_appcontext
def set_password(username: str, password: str | None) -> None:
    """Set a new password (ends the account's sessions and any lockout)."""
    user = _account(username)
    secret = _new_password(password)
    _run(lambda: accounts.reset_password(db.session(), user, secret))
    click.echo(f"已设置账号 {user.username} 的新密码，其所有登录已失效。")


@user_group.command("list")
@click.option("--unit", "unit_code", default=None, help="Only this unit and the units below it.")
@with_appcontext
def list_command(unit_code: str | None) -> None:
    """Accounts, one per line: user name, unit, role, state, last login."""
    session = db.session()
    if unit_code is not None and (not accounts.UNIT_CODE.fullmatch(unit_code.strip())
                                  or session.get(Unit, unit_code.strip()) is None):
        raise click.ClickException(f"未知的单位代码：{accounts.printable(unit_code)[:12]}")
    users = accounts.list_users(session, unit_code.strip() if unit_code else None)
    codes = sorted({u.unit_code for u in users})
    names = {code: name for code, name in session.execute(
        select(Unit.code, Unit.name).where(Unit.code.in_(codes)))}
    now = accounts.now()
    for user in users:
        state = ("已停用" if not user.active
                 else "锁定中" if user.locked_until and user.locked_until > now else "正常")
        last = (f"{user.last_login_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}" if user.last_login_at
                else "从未登录")
        click.echo("\t".join((user.username, user.name or "-", user.unit_code, names.get(user.unit_code, ""),
                              user.role, state, last)))
    click.echo(f"共 {len(users)} 个账号。", err=True)
