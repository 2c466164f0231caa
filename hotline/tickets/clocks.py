"""Statutory clocks: started with their due date, paused with a reason, stopped with a verdict.

2014 notice items 2-3: 3 working days to issue the 核查单, 5 to return it,
5 to decide and issue the 督办单, 5 for the handling unit to handle it. The
day a clock starts is day 0; the clock runs out at 24:00 Asia/Shanghai of
the Nth working day after it (``hotline.calendar``).
"""

from __future__ import annotations

import datetime

from sqlalchemy import Boolean, Column, Date, Integer, MetaData, Table, insert, select, update
from sqlalchemy.orm import Session

from hotline.calendar import WorkCalendar
from hotline.db import UTCDateTime
from hotline.tickets.models import Clock, Pause

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8), "Asia/Shanghai")

# Working days each step is given.
ISSUE_VERIFICATION = 3  # 2014 notice item 2: the responsible unit issues the 核查单
RETURN_VERIFICATION = 5  # 2014 notice item 2: the related unit verifies and returns it
DECIDE = 5  # 2014 notice item 3: the handling opinion, issued as a 督办单
HANDLE = 5  # 2014 notice item 3: the handling unit handles it


class ClockError(ValueError):
    """A clock operation the rules do not allow (message in Chinese)."""


def local_day(at: datetime.datetime) -> datetime.date:
    """The calendar day in Asia/Shanghai of an aware timestamp."""
    return at.astimezone(SHANGHAI).date()


def start(
    session: Session,
    calendar: WorkCalendar,
    *,
    ticket_id: int,
    step: str,
    unit_code: str,
    days: int,
    at: datetime.datetime,
    form_id: int | None = None,
) -> Clock:
    due = calendar.due(local_day(at), days)
    clock = Clock(
        ticket_id=ticket_id,
        step=step,
        unit_code=unit_code,
        form_id=form_id,
        started_at=at,
        start_day=due.start,
        days=days,
        extra_days=0,
        due_day=due.due,
        due_at=due.due_at,
        provisional=due.provisional,
    )
    session.add(clock)
    return clock


def stop(clock: Clock, at: datetime.datetime, *, counts: bool = True) -> None:
    """Stop a clock and record, once, whether the step was done in time.

    ``counts=False`` is for a clock ended by something other than its step
    being done (a reassignment after a level dispute): no verdict is kept.
    """
    if clock.stopped_at is not None:
        raise ClockError("该时限已结束")
    if clock.paused_at is not None:
        raise ClockError("该时限处于暂停状态，请先恢复计时")
    clock.stopped_at = at
    clock.on_time = (at <= clock.due_at) if counts else None


def pause(session: Session, clock: Clock, *, reason: str, actor: str, at: datetime.datetime) -> Pause:
    reason = (reason or "").strip()
    if not reason:
        raise ClockError("暂停计时必须填写原因（例如：等待投诉人补充材料）")
    if clock.stopped_at is not None:
        raise ClockError("该时限已结束，不能暂停")
    if clock.paused_at is not None:
        raise ClockError("该时限已经暂停")
    clock.paused_at = at
    record = Pause(clock_id=clock.id, reason=reason[:2000], actor=actor, started_at=at)
    session.add(record)
    return record


def resume(session: Session, calendar: WorkCalendar, clock: Clock, *, at: datetime.datetime) -> Pause:
    """Resume a paused clock: the working days the pause covered are added to its deadline."""
    if clock.paused_at is None:
        raise ClockError("该时限没有暂停")
    record = session.scalars(select(Pause).where(Pause.clock_id == clock.id, Pause.ended_at.is_(None))).one()
    paused_days = calendar.working_days_between(local_day(clock.paused_at), local_day(at))
    record.ended_at, record.working_days = at, paused_days
    clock.paused_at = None
    clock.extra_days += paused_days
    _set_due(clock, calendar.due(clock.start_day, clock.days + clock.extra_days))
    return record


def _set_due(clock: Clock, due) -> None:
    clock.due_day, clock.due_at, clock.provisional = due.due, due.due_at, due.provisional


def recompute_provisional(session: Session, calendar: WorkCalendar | None = None) -> int:
    """Recompute every open clock whose due date was provisional; return how many changed.

    Run after an official schedule is loaded. Stopped clocks keep the due
    date and verdict they stopped with, so statistics never shift. The work
    is set-based, so a million clocks take one pass: the due date of each
    distinct (start day, working days) pair is computed once in Python, put
    in a temporary table, and one UPDATE ... FROM joins it to the clocks.
    """
    calendar = calendar or WorkCalendar.from_session(session)
    open_provisional = (Clock.provisional.is_(True), Clock.stopped_at.is_(None))
    total = Clock.days + Clock.extra_days
    pairs = session.execute(select(Clock.start_day, total).where(*open_provisional).distinct()).all()
    if not pairs:
        return 0
    rows = []
    for start_day, days in pairs:
        due = calendar.due(start_day, days)
        rows.append(
            {
                "start_day": start_day,
                "total": days,
                "due_day": due.due,
                "due_at": due.due_at,
                "provisional": due.provisional,
            }
        )
    connection = session.connection()
    due_map = Table(
        "recomputed_due",
        MetaData(),
        Column("start_day", Date),
        Column("total", Integer),
        Column("due_day", Date),
        Column("due_at", UTCDateTime),
        Column("provisional", Boolean),
        prefixes=["TEMPORARY"],
    )
    due_map.create(connection)
    try:
        connection.execute(insert(due_map), rows)
        changed = connection.execute(
            update(Clock)
            .where(*open_provisional, Clock.start_day == due_map.c.start_day, total == due_map.c.total)
            .values(due_day=due_map.c.due_day, due_at=due_map.c.due_at, provisional=due_map.c.provisional)
            .execution_options(synchronize_session=False)
        ).rowcount
    finally:
        due_map.drop(connection)
    session.expire_all()
    return changed
