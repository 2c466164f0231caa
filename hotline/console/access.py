"""Who is asking, and what they may do: the console's sessions, guards and audit of views.

The session is Flask's signed cookie (HttpOnly, SameSite=Lax, Secure in
production; see hotline/app.py), holding the account's id, its
``session_version``, the time of the last request and the time the password
was last typed. It is checked against the database on every request, so a
disabled account, a reset password or a logout ends every session of the
account at once. A session idle for ``XUEJI_CONSOLE_IDLE_MINUTES`` ends at
its next request (and the cookie itself expires after as long).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from sqlalchemy import select

from hotline import db
from hotline.console.accounts import now
from hotline.console.login import Lockout
from hotline.console.login import audit as audit_login
from hotline.console.models import ROLE_TEXT, ROLES, AccessAudit, User
from hotline.console.scope import can_see_ticket, scope_codes, ticket_or_404, visible_clause
from hotline.tickets.workflow import Actor
from lookup.models import Unit

__all__ = [
    "ROLES", "ROLE_TEXT", "REAUTH_SECONDS", "Principal", "audit_view", "can_see_ticket", "current_user",
    "end_session", "login_required", "reauth_required", "role_required", "safe_next", "scope_codes",
    "start_session", "ticket_or_404", "visible_clause",
]

# Administrator actions need the password typed within the last 5 minutes.
REAUTH_SECONDS = 5 * 60
_UID, _VERSION, _SEEN, _REAUTH = "console_uid", "console_version", "console_seen", "console_reauth"
TIMED_OUT = "由于长时间未操作，您已自动退出登录，请重新登录。"
ENDED = "您的登录已失效（账号被停用、密码被重置或已在别处退出），请重新登录。"

View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    """The logged-in user, as the console's views need them."""

    user_id: int
    username: str
    name: str
    unit_code: str
    role: str
    unit_name: str = ""

    @property
    def actor(self) -> Actor:
        """Who acts, for the ticket workflow's timeline."""
        return Actor(self.name or self.username, self.unit_code)

    @property
    def role_text(self) -> str:
        return ROLE_TEXT[self.role]


def client_address() -> str:
    """The client's address as hotline.web.TrustedProxies leaves it."""
    return (request.remote_addr or "-")[:45]


def lockout_policy() -> Lockout:
    settings = current_app.config["XUEJI"]
    return Lockout(settings.console_lockout_failures, settings.console_lockout_minutes)


def _commit_after_request() -> None:
    # Audit rows written by a GET (a view of personal data, a timeout) are
    # committed by the after-request hook in hotline.console.blueprint.
    g.console_commit = True


def start_session(user: User) -> None:
    """A fresh session for ``user``: nothing from before the login carries over."""
    session.clear()
    session.permanent = True  # the cookie's lifetime is the idle timeout
    stamp = int(time.time())
    session.update({_UID: user.id, _VERSION: user.session_version, _SEEN: stamp, _REAUTH: stamp})
    g.pop("console_principal", None)


def end_session() -> None:
    session.clear()
    g.console_principal = None


def mark_reauthenticated() -> None:
    session[_REAUTH] = int(time.time())


def _load() -> Principal | None:
    uid = session.get(_UID)
    if uid is None:
        return None
    row = db.session().execute(
        select(User, Unit.name).join(Unit, Unit.code == User.unit_code).where(User.id == uid)
    ).first()
    if row is None or not row[0].active or row[0].session_version != session.get(_VERSION):
        end_session()
        flash(ENDED, "warning")
        return None
    user, unit_name = row
    idle = current_app.config["XUEJI"].console_idle_minutes * 60
    stamp = int(time.time())
    if stamp - int(session.get(_SEEN, 0)) > idle:
        end_session()
        audit_login(db.session(), "timeout", client=client_address(), user=user)
        _commit_after_request()
        flash(TIMED_OUT, "warning")
        return None
    session[_SEEN] = stamp
    return Principal(user.id, user.username, user.name or "", user.unit_code, user.role, unit_name)


def current_user() -> Principal | None:
    """The logged-in user of this request, or None; read from the database once per request."""
    if "console_principal" not in g:
        g.console_principal = _load()
    return g.console_principal


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path inside the console of this site, else None (no open redirect).

    >>> safe_next("/console/tickets/2026-000001?tab=forms")
    '/console/tickets/2026-000001?tab=forms'
    >>> [safe_next(t) for t in ("https://evil.example/console/", "//evil.example/console/",
    ...                         "/\\\\evil.example", "/console\\\\..", "javascript:alert(1)", "/status")]
    [None, None, None, None, None, None]
    """
    if not target or len(target) > 512:
        return None
    if any(c == "\\" or ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    if not (parts.path == "/console" or parts.path.startswith("/console/")):
        return None
    return target


def _here() -> str | None:
    # Only a GET can be repeated after the login; a form posted to a session
    # that has ended is lost, and the user starts from the console's home.
    if request.method != "GET":
        return None
    return safe_next(request.full_path.rstrip("?"))


def login_required(view: View) -> View:
    """Not logged in (or timed out): to the login page, which comes back here afterwards."""
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return redirect(url_for("console.login", next=_here()))
        return view(*args, **kwargs)
    return wrapped  # type: ignore[return-value]


def role_required(*roles: str) -> Callable[[View], View]:
    """Logged in with one of ``roles``, else 403."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles: {sorted(unknown)}")

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return redirect(url_for("console.login", next=_here()))
            if user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped  # type: ignore[return-value]
    return decorate


def reauth_required(view: View) -> View:
    """The password typed within the last 5 minutes (等保: administrator actions), else re-enter it.

    After re-entering it the user comes back to the page (for a GET) or to
    the page named by the form's ``next`` field (for a POST, whose content
    is not kept: it must be submitted again).
    """
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return redirect(url_for("console.login", next=_here()))
        if time.time() - session.get(_REAUTH, 0) > REAUTH_SECONDS:
            back = _here() if request.method == "GET" else safe_next(request.form.get("next"))
            flash("此操作需要再次输入密码确认身份（5 分钟内有效）。", "info")
            return redirect(url_for("console.reauth", next=back))
        return view(*args, **kwargs)
    return wrapped  # type: ignore[return-value]


def audit_view(what: str, *, ticket_id: int | None = None, detail: str | None = None) -> None:
    """Record that the current user is shown personal data (``what``: e.g. "complainant", "student").

    Who, their unit, when, what, which ticket, from which address: never the
    data itself, so ``detail`` must not carry any (a form's number, a
    field's name). Committed after the request when the answer is a success.
    """
    user = current_user()
    if user is None:
        raise RuntimeError("audit_view outside a logged-in console request")
    db.session().add(AccessAudit(at=now(), user_id=user.user_id, unit_code=user.unit_code,
                                 what=what[:32], ticket_id=ticket_id,
                                 detail=detail[:128] if detail else None, client=client_address()))
    db.session().flush()
    _commit_after_request()
