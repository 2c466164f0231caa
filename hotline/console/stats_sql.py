"""The dashboard's SQL pieces shared by sealing and reading: days, weeks, working days, agents.

Everything is counted by the database. The one thing SQL cannot know is
the State Council's holiday schedule, so :func:`workdays` puts the working
days of the dates involved in a temporary table as *ordinals* (the number of
working days up to each date): the working days a clock ran are then one
subtraction, ``ordinal(stop day) - ordinal(start day)``, which is exactly
``WorkCalendar.working_days_between(start, stop)``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Column, Date, Integer, MetaData, Table, TextClause, bindparam, insert, text
from sqlalchemy.orm import Session

from hotline import db
from hotline.calendar import SHANGHAI, WorkCalendar
from hotline.db import UTCDateTime

# The timeline entry written by the action that stops each step's clock
# (hotline.tickets.verification and .supervision): the 核查单 or 督办单
# issued, the form returned, the matter answered and closed, the caller
# given the lower unit's hotline. Its actor is the agent the stop counts
# for: the person who did the step, at the instant the clock stopped.
AGENT_EVENTS = ("form_issued", "form_returned", "closed", "referred")
# A ticket is closed when it is answered and closed, or the caller is
# given the responsible lower unit's hotline (2014 notice item 2).
CLOSING_EVENTS = ("closed", "referred")
WORKDAYS = "dashboard_workdays"
ON_TIME = "SUM(CASE WHEN on_time THEN 1 ELSE 0 END)"


class Dialect:
    """The few expressions SQLite and PostgreSQL spell differently."""

    def __init__(self, session: Session) -> None:
        self.postgresql = db.is_postgresql(session)

    def local_day(self, timestamp: str) -> str:
        """The Asia/Shanghai calendar day of a stored UTC timestamp (no DST there since 1991)."""
        if self.postgresql:
            return f"CAST(({timestamp} AT TIME ZONE 'Asia/Shanghai') AS DATE)"
        return f"date({timestamp}, '+8 hours')"

    def week(self, day: str) -> str:
        """The Monday of a date's week."""
        if self.postgresql:
            return f"CAST(date_trunc('week', {day}) AS DATE)"
        return f"date({day}, 'weekday 0', '-6 days')"

    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})" if self.postgresql else f"MAX({a}, {b})"


def monday(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def start_of(day: datetime.date) -> datetime.datetime:
    """00:00 Asia/Shanghai of ``day``, as an aware timestamp."""
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=SHANGHAI)


def local_day(at: datetime.datetime) -> datetime.date:
    return at.astimezone(SHANGHAI).date()


def typed(sql: str, **types) -> TextClause:
    """A text() statement whose parameters carry their types (dates and timestamps are
    stored as text on SQLite, so a bare Python value would not compare as stored)."""
    statement = text(sql)
    params = []
    for name, kind in types.items():
        if kind == "expanding":
            params.append(bindparam(name, expanding=True))
        else:
            params.append(bindparam(name, type_=kind))
    return statement.bindparams(*params)


@contextmanager
def workdays(session: Session, calendar: WorkCalendar, first: datetime.date,
             last: datetime.date) -> Iterator[str]:
    """A temporary table (day, ordinal) of every date from ``first`` to ``last``.

    ``ordinal`` counts the working days after ``first`` up to and including
    the day. Dropped on leaving; a failure rolls the transaction back, and
    the table with it, on both databases.
    """
    table = Table(WORKDAYS, MetaData(), Column("day", Date, primary_key=True),
                  Column("ordinal", Integer), prefixes=["TEMPORARY"])
    rows, ordinal, day = [], 0, first
    while day <= last:
        if day != first and calendar.is_working_day(day):
            ordinal += 1
        rows.append({"day": day, "ordinal": ordinal})
        day += datetime.timedelta(days=1)
    connection = session.connection()
    table.create(connection)
    try:
        connection.execute(insert(table), rows)
        yield WORKDAYS
    finally:
        table.drop(connection)


def stop_range(session: Session, since: datetime.datetime,
               until: datetime.datetime) -> tuple[datetime.date, datetime.date] | None:
    """The first start day and the last stop day of the clocks stopped in [since, until), if any."""
    dialect = Dialect(session)
    row = session.execute(
        typed(f"SELECT MIN(start_day) AS first, MAX({dialect.local_day('stopped_at')}) AS last "
              "FROM ticket_clocks WHERE stopped_at >= :since AND stopped_at < :until "
              "AND on_time IS NOT NULL", since=UTCDateTime, until=UTCDateTime)
        .columns(first=Date, last=Date),
        {"since": since, "until": until},
    ).one()
    if row.first is None:
        return None
    return row.first, max(row.last, row.first)


def ancestors_cte(rows: str) -> str:
    """``up(code, scope)``: each unit of ``rows`` (a CTE with a ``unit_code`` column) with itself
    and each unit above it."""
    return ("up(code, scope) AS ("
            f" SELECT DISTINCT unit_code, unit_code FROM {rows}"
            " UNION ALL"
            " SELECT up.code, u.parent_code FROM up JOIN units u ON u.code = up.scope"
            " WHERE u.parent_code IS NOT NULL)")


def response_rows(session: Session, *, unit_scopes: Sequence[str] | None = None,
                  agent_units: Sequence[str] | None = None, wrap: str = "{rows}") -> TextClause:
    """Histogram rows (scope_code, grain, week, step, actor, working_days, n, on_time) of the
    clocks stopped in [:since, :until) with a verdict, read from the ticket tables.

    Needs the :func:`workdays` table. ``unit_scopes`` / ``agent_units``
    limit the rows to those scopes (None: all, as sealing writes them);
    ``wrap`` is a statement around the SELECT, which stands for ``{rows}``.
    The working days exclude the days the clock was paused (``extra_days``):
    the time waiting for the complainant is not the unit's.
    """
    d = Dialect(session)
    stop_day = d.local_day("c.stopped_at")
    days = d.greatest("e.ordinal - s.ordinal - c.extra_days", "0")
    kinds = ", ".join(f"'{kind}'" for kind in AGENT_EVENTS)
    unit_filter = " WHERE up.scope IN :unit_scopes" if unit_scopes is not None else ""
    agent_filter = " WHERE stops.unit_code IN :agent_units" if agent_units is not None else ""
    sql = (
        "WITH RECURSIVE stops AS ("
        f" SELECT c.ticket_id, c.stopped_at, c.unit_code, c.step, c.on_time, {d.week(stop_day)} AS week,"
        f" {days} AS working_days"
        f" FROM ticket_clocks c JOIN {WORKDAYS} s ON s.day = c.start_day"
        f" JOIN {WORKDAYS} e ON e.day = {stop_day}"
        " WHERE c.stopped_at >= :since AND c.stopped_at < :until AND c.on_time IS NOT NULL), "
        f"{ancestors_cte('stops')} "
        "SELECT up.scope AS scope_code, 'unit' AS grain, week, step, '' AS actor, working_days,"
        f" COUNT(*) AS n, {ON_TIME} AS on_time"
        f" FROM stops JOIN up ON up.code = stops.unit_code{unit_filter}"
        " GROUP BY up.scope, week, step, working_days "
        "UNION ALL "
        f"SELECT unit_code, 'agent', week, step, actor, working_days, COUNT(*), {ON_TIME} FROM ("
        " SELECT stops.*, COALESCE((SELECT MIN(ev.actor) FROM ticket_events ev"
        "  WHERE ev.ticket_id = stops.ticket_id AND ev.at = stops.stopped_at"
        f"  AND ev.unit_code = stops.unit_code AND ev.kind IN ({kinds})), '') AS actor"
        f" FROM stops{agent_filter}) AS attributed"
        " GROUP BY unit_code, week, step, actor, working_days"
    )
    types = {"since": UTCDateTime, "until": UTCDateTime}
    if unit_scopes is not None:
        types["unit_scopes"] = "expanding"
    if agent_units is not None:
        types["agent_units"] = "expanding"
    return typed(wrap.replace("{rows}", sql), **types)


def flow_rows(session: Session, *, scopes: Sequence[str] | None = None, wrap: str = "{rows}") -> TextClause:
    """Rows (scope_code, week, received, closed) of [:since, :until), from the ticket tables.

    A ticket belongs to its responsible unit, or, before the routing
    decision (triage), to the unit holding it. ``wrap`` as for :func:`response_rows`.
    """
    d = Dialect(session)
    closing = ", ".join(f"'{kind}'" for kind in CLOSING_EVENTS)
    scope_filter = " WHERE up.scope IN :scopes" if scopes is not None else ""
    sql = (
        "WITH RECURSIVE flows AS ("
        " SELECT COALESCE(t.responsible_unit_code, t.current_unit_code) AS unit_code,"
        f" {d.week(d.local_day('t.received_at'))} AS week, 1 AS received, 0 AS closed"
        " FROM tickets t WHERE t.received_at >= :since AND t.received_at < :until"
        " UNION ALL"
        " SELECT COALESCE(t.responsible_unit_code, t.current_unit_code),"
        f" {d.week(d.local_day('ev.at'))}, 0, 1"
        " FROM ticket_events ev JOIN tickets t ON t.id = ev.ticket_id"
        f" WHERE ev.kind IN ({closing}) AND ev.at >= :since AND ev.at < :until), "
        f"{ancestors_cte('flows')} "
        "SELECT up.scope AS scope_code, week, SUM(received) AS received, SUM(closed) AS closed"
        f" FROM flows JOIN up ON up.code = flows.unit_code{scope_filter}"
        " GROUP BY up.scope, week"
    )
    types = {"since": UTCDateTime, "until": UTCDateTime}
    if scopes is not None:
        types["scopes"] = "expanding"
    return typed(wrap.replace("{rows}", sql), **types)
