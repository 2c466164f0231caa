"""The account-usage page (/console/usage) and its CSV exports: the basis of the 2016 notice's 通报.

Who may see it: supervisors and administrators, for their own unit and any
unit below it (``?unit=CODE``; elsewhere answers 404, as if it did not
exist) — the same audience and scope as the dashboard. What is listed and
why is defined in hotline.console.usage_queries. Nothing here is personal
data of a complainant or a student (staff user names and names of their
own jurisdiction, which the accounts page shows too), so it is not audited
as a view.
"""

from __future__ import annotations

import datetime

from flask import Response, abort, render_template, request
from sqlalchemy.orm import Session

from hotline import db
from hotline.console.access import current_user, role_required, scope_codes
from hotline.console.accounts import now
from hotline.console.blueprint import bp, when
from hotline.console.csvout import to_csv
from hotline.console.models import ROLE_TEXT
from hotline.console.usage_queries import IDLE_DAYS, accounts_by_unit, idle_accounts, untouched_units
from lookup.models import Unit

ROLES = ("supervisor", "admin")
TABLES = ("accounts", "units", "summary")
_CODE_MAX = 12


def _unit() -> Unit:
    user = current_user()
    assert user is not None  # role_required
    code = request.args.get("unit", "").strip() or user.unit_code
    session = db.session()
    if len(code) > _CODE_MAX or code not in scope_codes(session, user.unit_code):
        abort(404)
    unit = session.get(Unit, code)
    if unit is None:
        abort(404)
    return unit


def _last_login(at: datetime.datetime | None) -> str:
    return when(at) if at is not None else "从未登录"


def table(session: Session, name: str, unit: Unit, at: datetime.datetime) -> tuple[tuple[str, ...], list]:
    """(header, rows) of one exported table; the page shows the same figures."""
    if name == "accounts":
        header = ("单位代码", "单位", "用户名", "姓名", "角色", "最近登录", "未登录天数", "账号创建")
        rows = [(a.unit_code, a.unit_name, a.username, a.name, ROLE_TEXT[a.role],
                 _last_login(a.last_login_at), a.days(at) if a.last_login_at else "从未登录",
                 when(a.created_at))
                for a in idle_accounts(session, unit.code, at)]
    elif name == "units":
        header = ("单位代码", "单位", "持有未办结工单", "未处理的办理时限", "其中已超期", "最早到期",
                  "涉及工单")
        rows = [(u.unit_code, u.unit_name, u.held, u.clocks, u.overdue,
                 when(u.oldest_due) if u.oldest_due else "", " ".join(u.numbers))
                for u in untouched_units(session, unit.code, at)]
    else:
        header = ("单位代码", "单位", "在用账号", f"{IDLE_DAYS} 天以上未登录")
        rows = [(s.unit_code, s.unit_name, s.active, s.idle)
                for s in accounts_by_unit(session, unit.code, at)]
    return header, rows


@bp.get("/usage", endpoint="usage")
@role_required(*ROLES)
def page() -> str:
    unit, session, at = _unit(), db.session(), now()
    return render_template(
        "console/usage.html", unit=unit, at=at, days=IDLE_DAYS,
        accounts=idle_accounts(session, unit.code, at), summary=accounts_by_unit(session, unit.code, at),
        units=untouched_units(session, unit.code, at), shown=5)


@bp.get("/usage/<name>.csv", endpoint="usage_csv")
@role_required(*ROLES)
def export(name: str) -> Response:
    if name not in TABLES:
        abort(404)
    unit, at = _unit(), now()
    header, rows = table(db.session(), name, unit, at)
    filename = f"usage-{name}-{unit.code}-{when(at)[:10]}.csv"
    return Response(to_csv(header, rows), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
