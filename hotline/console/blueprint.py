"""The console's blueprint: every console view registers on ``bp`` from its own module.

The modules are imported at the end of this file, after ``bp`` exists, so
that each can ``from hotline.console.blueprint import bp`` and decorate.
"""

from __future__ import annotations

import datetime

from flask import Blueprint, Response, g, render_template
from flask_wtf.csrf import CSRFError

from hotline import db
from hotline.calendar import schedule_warning, today_in_shanghai
from hotline.console.access import ROLE_TEXT, current_user
from hotline.console.accounts import now
from hotline.tickets.clocks import SHANGHAI

bp = Blueprint("console", __name__, url_prefix="/console")


def when(at: datetime.datetime) -> str:
    """A timestamp as people read it, in Beijing time.

    >>> when(datetime.datetime(2026, 3, 2, 2, 5, tzinfo=datetime.UTC))
    '2026-03-02 10:05'
    """
    return f"{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"


@bp.context_processor
def _context() -> dict[str, object]:
    user = current_user()
    return {"console_user": user, "role_text": ROLE_TEXT, "when": when, "now": now(),
            "calendar_warning": _calendar_warning() if user is not None and user.role == "admin" else None}


def _calendar_warning() -> str | None:
    # Issue 4: after 1 November, a missing holiday schedule for the next year
    # is a visible warning for administrators (every deadline reaching into
    # it is provisional until the schedule is loaded).
    if "console_calendar_warning" not in g:
        g.console_calendar_warning = schedule_warning(db.session(), today_in_shanghai())
    return g.console_calendar_warning


@bp.before_app_request
def _fresh_request() -> None:
    # What access.py keeps in g is per request. g belongs to the application
    # context, which a request shares when one is already pushed (a CLI
    # command, a test): start clean.
    for key in ("console_principal", "console_scopes", "console_commit"):
        g.pop(key, None)


@bp.after_app_request
def _commit_audit(response: Response) -> Response:
    # Audit rows written while answering a GET (hotline.console.access) are
    # kept when the answer went out: a view of personal data is recorded
    # exactly when the data was shown.
    if g.pop("console_commit", False) and response.status_code < 400:
        db.session().commit()
    return response


@bp.after_request
def _private(response: Response) -> Response:
    # Console pages show what only their user may see: no cache keeps them.
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(code: int, title: str, message: str) -> tuple[str, int]:
    return render_template("console/error.html", code=code, title=title, message=message), code


@bp.errorhandler(403)
def _forbidden(_error: Exception) -> tuple[str, int]:
    return _page(403, "没有权限", "您的角色不能使用这个页面。如需开通，请联系本单位系统管理员。")


@bp.errorhandler(404)
def _not_found(_error: Exception) -> tuple[str, int]:
    # The same words whether the thing does not exist or belongs to another
    # unit's jurisdiction (hotline.console.scope).
    return _page(404, "未找到", "您要查看的内容不存在，或不在您的管辖范围内。")


@bp.errorhandler(CSRFError)
def _csrf(_error: CSRFError) -> tuple[str, int]:
    return _page(400, "页面已过期", "页面已过期或不完整，请刷新页面后重新提交。")


# Views register themselves on bp when imported; the order does not matter.
import hotline.console.dashboard  # noqa: E402, F401  # the supervisors' dashboard
import hotline.console.mail_quarantine  # noqa: E402, F401  # quarantined mail and its replay
from hotline.console import admin, auth, calls, directory, home, queues, ticket_actions, tickets, usage  # noqa: E402, F401, E501
