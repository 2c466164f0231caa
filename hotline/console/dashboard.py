"""The supervisors' dashboard pages: /console/dashboard and its CSV exports.

Who may see it: supervisors and administrators, for their own unit and any
unit below it (``?unit=CODE``; a unit outside their jurisdiction answers
404, as if it did not exist). Agents and handlers get 403: their work is in
their unit's queue, with its overdue and due-soon filters, and the
dashboard's per-person figures are a supervisor's tool, not for colleagues
to read about each other.
"""

from __future__ import annotations

import datetime

from flask import Response, abort, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import db
from hotline.calendar import SHANGHAI, CalendarError
from hotline.console import charts
from hotline.console.access import current_user, role_required, scope_codes
from hotline.console.blueprint import bp
from hotline.console.csvout import to_csv
from hotline.console.dashboard_tables import TABLES, notes, tables
from hotline.console.stats import DEFAULT_WEEKS, PERIODS, Dashboard, dashboard
from hotline.console.stats_seal import seal
from lookup.models import Unit

ROLES = ("supervisor", "admin")
_CODE_MAX = 12


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _asked() -> tuple[str, int]:
    """The unit and period asked for, checked: another jurisdiction's unit is 404; an odd
    period falls back to the default (the page offers only the valid ones)."""
    user = current_user()
    assert user is not None  # role_required
    unit = request.args.get("unit", "").strip() or user.unit_code
    if len(unit) > _CODE_MAX or unit not in scope_codes(db.session(), user.unit_code):
        abort(404)
    try:
        weeks = int(request.args.get("weeks", DEFAULT_WEEKS))
    except ValueError:
        weeks = DEFAULT_WEEKS
    return unit, weeks if weeks in PERIODS else DEFAULT_WEEKS


def _figures(unit: str, weeks: int) -> Dashboard:
    session, at = db.session(), now()
    # The sealing's first statement must be its transaction's first (see
    # stats_seal.seal), so what the access checks read is committed away.
    session.commit()
    if seal(session, at):
        session.commit()
    return dashboard(session, unit, now=at, weeks=weeks)


def _calendar_missing(exc: CalendarError) -> tuple[str, int]:
    db.session().rollback()
    return render_template("console/error.html", code=503, title="工作日历不完整", message=str(exc)), 503


def _trail(session: Session, unit: str, top: str) -> list[tuple[str, str]]:
    """(code, name) from the user's own unit down to ``unit``, for the links back up."""
    trail = []
    code: str | None = unit
    while code is not None:
        row = session.execute(select(Unit.code, Unit.name, Unit.parent_code).where(Unit.code == code)).one()
        trail.append((row.code, row.name))
        code = None if row.code == top else row.parent_code
    return trail[::-1]


def _charts(d: Dashboard) -> list:
    labels = [f"{w.monday.month}/{w.monday.day}" for w in d.trend]
    flow = charts.bar_chart(
        f"{d.unit_name}：每周受理与办结", f"近 {d.weeks} 周每周受理和办结的工单数，数字见下方逐周趋势表。",
        labels, [charts.Series("受理", [w.received for w in d.trend], "received"),
                 charts.Series("办结", [w.closed for w in d.trend], "closed")])
    rate = charts.rate_chart(
        f"{d.unit_name}：每周按时率", "按时完成 ÷（完成 + 当周到期仍超期未完成）；样本不足的周不画点。",
        labels, charts.Series("按时率", [w.rate for w in d.trend], "rate"))
    return [flow, rate]


@bp.get("/dashboard", endpoint="dashboard")
@role_required(*ROLES)
def page() -> str | tuple[str, int]:
    unit, weeks = _asked()
    try:
        d = _figures(unit, weeks)
    except CalendarError as exc:
        return _calendar_missing(exc)
    user = current_user()
    return render_template(
        "console/dashboard.html", d=d, tables=tables(d), charts=_charts(d), notes=notes(),
        periods=PERIODS, trail=_trail(db.session(), unit, user.unit_code),
        as_of=d.now.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
    )


@bp.get("/dashboard/<name>.csv", endpoint="dashboard_csv")
@role_required(*ROLES)
def export(name: str) -> Response | tuple[str, int]:
    if name not in TABLES:
        abort(404)
    unit, weeks = _asked()
    try:
        d = _figures(unit, weeks)
    except CalendarError as exc:
        return _calendar_missing(exc)
    table = tables(d)[name]
    filename = f"dashboard-{name}-{unit}-{d.today.isoformat()}.csv"
    return Response(
        to_csv(table.header, table.rows),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
