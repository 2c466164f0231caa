"""Provisional deadlines: marked as such, and recomputed once the year's schedule is loaded."""

from __future__ import annotations

import datetime

from sqlalchemy import select

from hotline.calendar import WorkCalendar
from hotline.calendar_holidays import statutory_holidays
from hotline.calendar_load import load_schedule
from hotline.tickets import workflow as wf
from hotline.tickets.clocks import recompute_provisional
from hotline.tickets.models import Clock
from tests.hotline.tickets.conftest import actor, at_day


def schedule_2027(tmp_path, extra_holidays=()):
    """A 2027 schedule: the regulation's dates plus ``extra_holidays`` (a longer National Day)."""
    rows = ["date,kind,name"]
    days = dict(statutory_holidays(2027))
    days.update({day: "国庆节" for day in extra_holidays})
    rows += [f"{day.isoformat()},holiday,{name}" for day, name in sorted(days.items())]
    path = tmp_path / "2027.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_deadline_in_a_year_without_a_schedule_is_provisional(desk):
    ticket = desk.ticket(("1301020001",), receiving="130102", at=at_day(2027, 9, 29))
    clock = desk.session.scalars(select(Clock).where(Clock.ticket_id == ticket.id)).one()
    # The regulation alone: 1-3 October off, so 30 Sep, 4 and 5 October.
    assert (clock.due_day, clock.provisional) == (datetime.date(2027, 10, 5), True)


def test_loading_the_official_schedule_recomputes_open_provisional_deadlines_only(desk, tmp_path):
    s = desk.session
    running = desk.ticket(("1301020001",), receiving="130102", at=at_day(2027, 9, 29))
    stopped = desk.ticket(("1301020001",), receiving="130102", category="lookup", at=at_day(2027, 9, 29))
    wf.close_answered(s, stopped, actor("130102"), answer="已答复", at=at_day(2027, 9, 30))
    official = desk.ticket(("1301020001",), receiving="130102", at=at_day(2026, 3, 2))
    s.flush()

    load_schedule(s, schedule_2027(tmp_path, [datetime.date(2027, 10, d) for d in range(4, 8)]))
    changed = recompute_provisional(s, WorkCalendar.from_session(s))

    def clock(ticket):
        return s.scalars(select(Clock).where(Clock.ticket_id == ticket.id).order_by(Clock.id)).first()

    assert changed == 1
    # With 1-7 October off: 30 September, 8 and 11 October.
    assert (clock(running).due_day, clock(running).provisional) == (datetime.date(2027, 10, 11), False)
    assert clock(running).due_at == datetime.datetime(
        2027, 10, 12, tzinfo=datetime.timezone(datetime.timedelta(hours=8))
    )
    # A stopped clock keeps the deadline and the verdict it stopped with.
    assert (clock(stopped).due_day, clock(stopped).provisional, clock(stopped).on_time) == (
        datetime.date(2027, 10, 5),
        True,
        True,
    )
    assert clock(official).due_day == datetime.date(2026, 3, 5)


def test_a_paused_clock_is_recomputed_with_its_pause_counted(desk, tmp_path):
    s = desk.session
    ticket = desk.ticket(("1301020001",), receiving="130102", at=at_day(2027, 9, 27))
    wf.pause_clock(s, ticket, actor("130102"), reason="等待材料", at=at_day(2027, 9, 27))
    wf.resume_clock(s, ticket, actor("130102"), calendar=desk.calendar, at=at_day(2027, 9, 28))
    load_schedule(s, schedule_2027(tmp_path, [datetime.date(2027, 10, d) for d in range(4, 8)]))
    recompute_provisional(s, WorkCalendar.from_session(s))
    clock = s.scalars(select(Clock).where(Clock.ticket_id == ticket.id)).one()
    # 3 days + 1 paused: 28, 29, 30 September and 8 October.
    assert (clock.extra_days, clock.due_day, clock.provisional) == (1, datetime.date(2027, 10, 8), False)


def test_calendar_load_recomputes_provisional_deadlines_in_its_transaction(desk, runner, tmp_path):
    ticket = desk.ticket(("1301020001",), receiving="130102", at=at_day(2027, 9, 29))
    desk.session.commit()
    path = schedule_2027(tmp_path, [datetime.date(2027, 10, d) for d in range(4, 8)])
    result = runner.invoke(args=["calendar", "load", str(path), "--source", "测试用安排"])
    assert result.exit_code == 0, result.output
    assert "已重新计算 1 个暂定办理期限" in result.output
    desk.session.expire_all()
    clock = desk.session.scalars(select(Clock).where(Clock.ticket_id == ticket.id)).one()
    assert (clock.due_day, clock.provisional) == (datetime.date(2027, 10, 11), False)
