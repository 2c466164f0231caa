"""``xueji dashboard seal`` and ``rebuild``: one transaction, one line, nothing changed on refusal."""

from __future__ import annotations

import datetime

from sqlalchemy import func, select, update

from hotline import db
from hotline.calendar import WorkCalendar
from hotline.console.dashboard_cli import dashboard_group
from hotline.console.stats_models import DashboardState, ResponseCount
from hotline.tickets import workflow as wf
from hotline.tickets.models import Clock
from lookup.models import School
from tests.hotline.tickets.conftest import SCHOOLS, actor

COUNTY = "130102"


def answered_ticket(app, *, start_day: datetime.date | None = None) -> None:
    """A ticket answered at 长安区 yesterday; its clock moved to ``start_day`` if given."""
    now = datetime.datetime.now(datetime.UTC)
    with app.app_context():
        session = db.session()
        for code, (name, division, authority) in SCHOOLS.items():
            session.add(School(code=code, name=name, division_code=division, authority_code=authority))
        new = wf.NewTicket(channel="phone", category="lookup", subject="查询", description="来电查询。",
                           receiving_unit_code=COUNTY, school_codes=("1301020001",), phone="13800138000",
                           received_at=now - datetime.timedelta(days=2))
        calendar = WorkCalendar.from_session(session)
        ticket = wf.create_ticket(session, new, actor(COUNTY, "坐席"), calendar=calendar)
        wf.close_answered(session, ticket, actor(COUNTY, "张三"), answer="已告知",
                          at=now - datetime.timedelta(days=1))
        if start_day is not None:
            session.execute(update(Clock).where(Clock.ticket_id == ticket.id).values(start_day=start_day))
        session.commit()


def counted(app) -> tuple[object, int]:
    with app.app_context():
        session = db.session()
        return (session.scalar(select(DashboardState.sealed_until)),
                session.scalar(select(func.count()).select_from(ResponseCount)))


def test_rebuild_counts_every_ticket_and_says_how_far(app, runner):
    answered_ticket(app)
    result = runner.invoke(dashboard_group, ["rebuild"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("看板统计已封存至北京时间 ")
    until, rows = counted(app)
    assert until is not None and rows > 0


def test_seal_twice_in_a_row_changes_nothing_the_second_time(app, runner):
    answered_ticket(app)
    assert runner.invoke(dashboard_group, ["seal"]).exit_code == 0
    before = counted(app)
    assert runner.invoke(dashboard_group, ["seal"]).exit_code == 0
    assert counted(app) == before


def test_a_year_the_calendar_does_not_know_is_one_line_and_changes_nothing(app, runner):
    answered_ticket(app, start_day=datetime.date(2001, 6, 1))
    result = runner.invoke(dashboard_group, ["rebuild"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: 2001 年的节假日安排尚未载入") and "Traceback" not in result.output
    assert counted(app) == (None, 0)
