"""Account operations: create, change, disable, reset; each one audited.

Operations flush; the caller (a view or the ``xueji user`` command) commits.
Every refusal is an :class:`AccountError` with a Chinese message and nothing
changed. ``actor`` is the administrator acting, or None for the command line
(run by whoever holds the server). An administrator manages only the
accounts of their unit and the units below it, and can neither disable nor
change their own account (another administrator must).
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hotline.console import passwords
from hotline.console.models import ROLE_TEXT, ROLES, AccessAudit, AccountAudit, LoginAudit, User
from hotline.console.scope import scope_codes
from lookup.models import Unit

if TYPE_CHECKING:
    from hotline.console.access import Principal

__all__ = [
    "AccessAudit", "AccountAudit", "AccountError", "LoginAudit", "User", "change_own_password",
    "create_user", "disable_user", "enable_user", "find_user", "list_users", "normalize_username",
    "reset_password", "unlock_user", "update_user", "validate_new",
]

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,31}")
UNIT_CODE = re.compile(r"[0-9A-Za-z]{1,12}")
NAME_MAX = 64


class AccountError(ValueError):
    """The request cannot be carried out; the message is Chinese and names the problem."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def printable(text: str) -> str:
    """``text`` without control characters (PostgreSQL refuses NUL; terminals obey escapes).

    >>> printable("13\\x0001\\x1b[2J02")
    '1301[2J02'
    """
    return "".join(c for c in text if not unicodedata.category(c).startswith("C"))


def normalize_username(typed: str) -> str:
    """User names are compared as NFKC lower case: ``ＺhangSan`` is ``zhangsan``.

    >>> normalize_username(" ＺhangSan ")
    'zhangsan'
    """
    return unicodedata.normalize("NFKC", typed).strip().lower()


def find_user(session: Session, typed: str) -> User | None:
    """The account a typed user name names, if any."""
    name = normalize_username(typed)
    if not USERNAME.fullmatch(name):
        return None
    return session.scalar(select(User).where(User.username == name))


def _record(session: Session, action: str, target: User, actor: Principal | None, client: str,
            detail: str | None = None) -> None:
    session.add(AccountAudit(at=now(), actor_id=actor.user_id if actor else None, target_id=target.id,
                             action=action, detail=detail, client=client[:45]))


def _unit(session: Session, code: str, actor: Principal | None) -> Unit:
    code = (code or "").strip()
    unit = session.get(Unit, code) if UNIT_CODE.fullmatch(code) else None
    # An administrator is told the same for a unit that does not exist and one
    # outside their jurisdiction: neither is theirs to use.
    if unit is None or (actor is not None and code not in scope_codes(session, actor.unit_code)):
        where = "或不在您的管辖范围内" if actor is not None else ""
        raise AccountError(f"未知的单位代码{where}：{printable(code)[:12]}", "unit_code")
    if not unit.active:
        raise AccountError(f"单位 {unit.name}（{code}）已撤销，不能使用", "unit_code")
    return unit


def _role(role: str) -> str:
    if role not in ROLES:
        choices = "、".join(f"{r}（{ROLE_TEXT[r]}）" for r in ROLES)
        raise AccountError(f"未知的角色：{printable(role)[:16]}；可选：{choices}", "role")
    return role


def _name(name: str | None) -> str | None:
    name = (name or "").strip()
    if len(name) > NAME_MAX:
        raise AccountError(f"姓名不能超过 {NAME_MAX} 个字", "name")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise AccountError("姓名不能包含控制字符", "name")
    return name or None


def _password(password: str, username: str) -> str:
    try:
        passwords.check(password, username)
    except passwords.PasswordError as exc:
        raise AccountError(str(exc), "password") from None
    return passwords.hash_password(password)


def managed(session: Session, actor: Principal | None, user_id: int) -> User | None:
    """The account if ``actor`` may manage it (the command line may manage every account)."""
    user = session.get(User, user_id)
    if user is None or actor is None:
        return user
    return user if user.unit_code in scope_codes(session, actor.unit_code) else None


def _not_self(actor: Principal | None, user: User, what: str) -> None:
    if actor is not None and actor.user_id == user.id:
        raise AccountError(f"不能{what}自己的账号，请由其他管理员操作")


def validate_new(session: Session, *, username: str, unit_code: str, role: str,
                 actor: Principal | None = None) -> tuple[str, Unit]:
    """The normalised user name and the unit of a new account, or the reason it cannot be."""
    username = normalize_username(username)
    if not USERNAME.fullmatch(username):
        raise AccountError("用户名须为 3 至 32 个字符，由小写字母、数字和 . _ - 组成，"
                           "并以字母或数字开头", "username")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"用户名 {username} 已被使用", "username")
    unit = _unit(session, unit_code, actor)
    _role(role)
    return username, unit


def create_user(session: Session, *, username: str, unit_code: str, role: str, password: str,
                name: str | None = None, actor: Principal | None = None, client: str = "cli") -> User:
    """A new active account; the password must meet the policy."""
    username, unit = validate_new(session, username=username, unit_code=unit_code, role=role, actor=actor)
    at = now()
    user = User(username=username, name=_name(name), unit_code=unit.code, role=role,
                password_hash=_password(password, username), active=True, session_version=1,
                failed_count=0, created_at=at, password_changed_at=at)
    session.add(user)
    session.flush()
    _record(session, "create", user, actor, client, f"{unit.code} {role}")
    session.flush()
    return user


def update_user(session: Session, user: User, *, name: str | None, unit_code: str, role: str,
                actor: Principal | None = None, client: str = "cli") -> list[str]:
    """Change an account's name, unit and role; returns what changed (audited one by one).

    No session needs ending: the console reads the role and unit from the
    database on every request, so a change applies to the next one.
    """
    name, role = _name(name), _role(role)
    unit = _unit(session, unit_code, actor)
    changes = []
    if (role != user.role or unit.code != user.unit_code) and actor is not None:
        _not_self(actor, user, "更改")
    if name != user.name:
        user.name = name
        changes.append("rename")
        _record(session, "rename", user, actor, client)
    if unit.code != user.unit_code:
        _record(session, "change_unit", user, actor, client, f"{user.unit_code} → {unit.code}")
        user.unit_code = unit.code
        changes.append("change_unit")
    if role != user.role:
        _record(session, "change_role", user, actor, client, f"{user.role} → {role}")
        user.role = role
        changes.append("change_role")
    session.flush()
    return changes


def end_sessions(user: User) -> None:
    """Every signed session cookie of the account stops being accepted at its next request."""
    user.session_version += 1


def disable_user(session: Session, user: User, *, actor: Principal | None = None,
                 client: str = "cli") -> bool:
    """Disable the account and end its sessions at once; False if it was already disabled."""
    _not_self(actor, user, "停用")
    if not user.active:
        return False
    user.active = False
    end_sessions(user)
    _record(session, "disable", user, actor, client)
    session.flush()
    return True


def enable_user(session: Session, user: User, *, actor: Principal | None = None,
                client: str = "cli") -> bool:
    """Enable a disabled account (with a clean failure count); False if it was active."""
    if user.active:
        return False
    user.active, user.failed_count, user.locked_until = True, 0, None
    _record(session, "enable", user, actor, client)
    session.flush()
    return True


def unlock_user(session: Session, user: User, *, actor: Principal | None = None,
                client: str = "cli") -> bool:
    """End a lockout before its time; False if the account was not locked."""
    if user.locked_until is None and user.failed_count == 0:
        return False
    user.failed_count, user.locked_until = 0, None
    _record(session, "unlock", user, actor, client)
    session.flush()
    return True


def reset_password(session: Session, user: User, password: str, *, actor: Principal | None = None,
                   client: str = "cli") -> None:
    """An administrator sets a new password: sessions end and any lockout is lifted."""
    user.password_hash = _password(password, user.username)
    user.password_changed_at = now()
    user.failed_count, user.locked_until = 0, None
    end_sessions(user)
    _record(session, "reset_password", user, actor, client)
    session.flush()


def change_own_password(session: Session, user: User, current: str, new: str, *, client: str) -> None:
    """The user changes their password; the current one must be right. Other sessions end."""
    if not passwords.verify(user.password_hash, current):
        raise AccountError("当前密码不正确", "current")
    if new == current:
        raise AccountError("新密码不能与当前密码相同", "password")
    user.password_hash = _password(new, user.username)
    user.password_changed_at = now()
    end_sessions(user)
    session.add(AccountAudit(at=now(), actor_id=user.id, target_id=user.id, action="change_password",
                             client=client[:45]))
    session.flush()


def list_users(session: Session, unit_code: str | None = None, *, search: str = "",
               limit: int | None = None) -> list[User]:
    """Accounts by unit and user name: all of them, or those of a unit and the units below it,
    optionally only those whose user name or name contains ``search``."""
    query = select(User).order_by(User.unit_code, User.username)
    if unit_code is not None:
        query = query.where(User.unit_code.in_(sorted(scope_codes(session, unit_code))))
    search = printable(search)
    if search:
        query = query.where(or_(User.username.contains(search.lower(), autoescape=True),
                                User.name.contains(search, autoescape=True)))
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))
