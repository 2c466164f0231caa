"""The supervisors' dashboard (督办看板): a unit's jurisdiction, its open work and its response times.

For a unit and every unit below it (DESIGN.md: response times are measured
per step, per unit, per agent):

- open tickets by step, by the unit holding them;
- clocks overdue (running, not paused, past their due time) and due within
  :data:`SOON_DAYS` working days (running, not paused, due on or before the
  2nd working day after today, Asia/Shanghai, by the working-day calendar);
- per step, per unit (the unit's own level and each unit directly below it,
  with everything under that one) and per agent of the unit itself: the
  median and 90th percentile of the working days a step took, from the
  clock's start day to its stop day, pauses excluded (the time waiting for
  the complainant is not the unit's), over the clocks stopped in the period;
  and the on-time rate, clocks stopped on time ÷ (clocks stopped + clocks
  open past their due time now);
- week by week: tickets received, tickets closed, and the on-time rate of
  the clocks stopped that week (with the clocks that fell due that week and
  are still open past due).

An agent is the person named on the timeline entry of the action that
stopped the clock (``hotline.console.stats_sql.AGENT_EVENTS``). A clock that
runs late and is still open belongs to no one yet: it counts against its
step and its unit, not against a person. A figure drawn from fewer than
:data:`MIN_SAMPLE` clocks is not shown (``None``): a median of three cases
says nothing about a unit.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.calendar import WorkCalendar
from hotline.console.stats_models import DashboardState
from hotline.console.stats_queries import (
    Histogram,
    flows,
    histograms,
    open_tickets,
    past_due_by_week,
    running_clocks,
)
from hotline.console.stats_seal import STATE_ID
from hotline.console.stats_sql import local_day, monday, start_of
from hotline.tickets.models import STEPS
from hotline.tickets.steps import STEP_TEXT
from lookup.models import Unit

MIN_SAMPLE = 20
SOON_DAYS = 2
PERIODS = (4, 12, 26, 52)
DEFAULT_WEEKS = 12
OPEN_STEPS = tuple(step for step in STEPS if step != "closed")
# The steps with a statutory clock (2014 notice items 2-3).
CLOCK_STEPS = ("verify_issue", "verifying", "deciding", "handling")
NO_AGENT = "（未记录）"


@dataclass(frozen=True)
class Times:
    """Response times of one group over the period; ``None`` where the sample is too small."""

    closed: int
    on_time: int
    past_due: int
    median: float | None
    p90: float | None

    @property
    def judged(self) -> int:
        return self.closed + self.past_due

    @property
    def rate(self) -> float | None:
        """Closed on time ÷ (closed + open past due)."""
        return self.on_time / self.judged if self.judged >= MIN_SAMPLE else None

    @classmethod
    def of(cls, histogram: Histogram | None, past_due: int = 0) -> Times:
        if histogram is None:
            return cls(0, 0, past_due, None, None)
        enough = histogram.n >= MIN_SAMPLE
        return cls(histogram.n, histogram.on_time, past_due,
                   histogram.median if enough else None, histogram.p90 if enough else None)


@dataclass(frozen=True)
class Row:
    """One line of a table: open work (None where it does not apply) and response times."""

    key: str
    label: str
    times: Times
    open_tickets: int | None = None
    running: int | None = None
    overdue: int | None = None
    due_soon: int | None = None


@dataclass(frozen=True)
class Week:
    monday: datetime.date
    received: int
    closed: int
    judged: int
    on_time: int

    @property
    def rate(self) -> float | None:
        return self.on_time / self.judged if self.judged >= MIN_SAMPLE else None


@dataclass(frozen=True)
class Dashboard:
    unit_code: str
    unit_name: str
    now: datetime.datetime
    today: datetime.date
    soon: datetime.date  # the last due day that counts as "due soon"
    weeks: int
    since: datetime.date  # Monday of the period's first week
    total: Row
    steps: list[Row]
    units: list[Row]
    agents: list[Row]
    trend: list[Week]


class UnknownUnit(LookupError):
    """A unit code the authority tree does not have."""


def dashboard(session: Session, unit_code: str, *, now: datetime.datetime, weeks: int = DEFAULT_WEEKS,
              calendar: WorkCalendar | None = None) -> Dashboard:
    """The dashboard of ``unit_code``'s jurisdiction at ``now`` over the last ``weeks`` weeks.

    Reads only; the caller decides who may see which unit.
    """
    calendar = calendar or WorkCalendar.from_session(session)
    units = {u.code: u for u in session.scalars(
        select(Unit).where((Unit.code == unit_code) | (Unit.parent_code == unit_code)))}
    if unit_code not in units:
        raise UnknownUnit(unit_code)
    children = sorted(code for code in units if code != unit_code)
    today = local_day(now)
    soon = calendar.due(today, SOON_DAYS).due
    since = monday(today) - datetime.timedelta(weeks=weeks - 1)
    sealed = session.scalar(select(DashboardState.sealed_until).where(DashboardState.id == STATE_ID))
    live_since = max(sealed, start_of(since)) if sealed is not None else start_of(since)

    hist = histograms(session, calendar, unit_code, children, since_week=since, live_since=live_since,
                      now=now)
    work = _OpenWork(open_tickets(session, unit_code), running_clocks(session, unit_code, now, soon))

    def row(key: str, label: str, times_key: tuple[str, str], **where: str) -> Row:
        """Open work where the branch and/or step match, with the histogram ``times_key``."""
        tickets, running, overdue, due_soon = work.sum(**where)
        return Row(key, label, Times.of(hist.get(times_key), overdue), open_tickets=tickets, running=running,
                   overdue=overdue, due_soon=due_soon)

    steps = [row(step, STEP_TEXT[step], ("step", step), step=step) if step in CLOCK_STEPS
             else Row(step, STEP_TEXT[step], Times.of(None), open_tickets=work.sum(step=step)[0])
             for step in OPEN_STEPS]
    own = units[unit_code]
    unit_rows = [row(unit_code, f"{own.name}（本级）", ("unit", unit_code), branch=unit_code)]
    for code in children:
        child = row(code, units[code].name, ("unit", code), branch=code)
        # An abolished unit is listed only while it still has something to show.
        if units[code].active or child.times.closed or child.open_tickets or child.running:
            unit_rows.append(child)
    agents = sorted(
        (Row(key, key or NO_AGENT, Times.of(h)) for (kind, key), h in hist.items() if kind == "agent"),
        key=lambda row: (-row.times.closed, row.label),
    )
    return Dashboard(
        unit_code=unit_code, unit_name=own.name, now=now, today=today, soon=soon, weeks=weeks, since=since,
        total=row(unit_code, own.name, ("total", "")),
        steps=steps, units=unit_rows, agents=agents,
        trend=_trend(session, unit_code, hist, since=since, weeks=weeks, live_since=live_since, now=now),
    )


class _OpenWork:
    """The open tickets and running clocks of a jurisdiction, grouped by (branch, step)."""

    def __init__(self, tickets: list[tuple[str, str, int]],
                 clocks: list[tuple[str, str, int, int, int]]) -> None:
        self.rows = [(branch, step, n, 0, 0, 0) for branch, step, n in tickets]
        self.rows += [(branch, step, 0, *counts) for branch, step, *counts in clocks]

    def sum(self, branch: str | None = None, step: str | None = None) -> tuple[int, int, int, int]:
        """(open tickets, running clocks, overdue, due soon) of the matching groups."""
        chosen = [r for r in self.rows if branch in (None, r[0]) and step in (None, r[1])]
        return tuple(sum(r[i] for r in chosen) for i in range(2, 6))  # type: ignore[return-value]


def _trend(session: Session, unit_code: str, hist: dict[tuple[str, str], Histogram], *,
           since: datetime.date, weeks: int, live_since: datetime.datetime,
           now: datetime.datetime) -> list[Week]:
    counts = flows(session, unit_code, since_week=since, live_since=live_since, now=now)
    late = past_due_by_week(session, unit_code, now, since)
    trend = []
    for index in range(weeks):
        week = since + datetime.timedelta(weeks=index)
        received, closed = counts.get(week, (0, 0))
        stopped = hist.get(("week", week.isoformat()))
        judged = (stopped.n if stopped else 0) + late.get(week, 0)
        trend.append(Week(week, received, closed, judged, stopped.on_time if stopped else 0))
    return trend
