"""The dashboard's read queries: open work now, and response-time histograms of a period.

Every figure is counted in SQL and comes back already grouped (a few
hundred rows at most); Python only arranges them. A unit's jurisdiction is
the unit and everything below it, walked down ``units.parent_code`` by a
recursive query that also tells, for each unit, which *branch* it is in:
the unit itself (its own level) or one of its direct children.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Date, Integer, String, bindparam
from sqlalchemy.orm import Session

from hotline.calendar import WorkCalendar
from hotline.console.stats_sql import Dialect, flow_rows, response_rows, stop_range, typed, workdays
from hotline.db import UTCDateTime

SUBTREE = ("sub(code, branch) AS ("
           " SELECT code, code FROM units WHERE code = :s"
           " UNION ALL"
           " SELECT u.code, CASE WHEN sub.code = :s THEN u.code ELSE sub.branch END"
           " FROM units u JOIN sub ON u.parent_code = sub.code)")


@dataclass(frozen=True)
class Histogram:
    """Stopped clocks of one group: how many, how many on time, and the four values
    the median and the 90th percentile interpolate between."""

    n: int
    on_time: int
    median_lo: int
    median_hi: int
    p90_lo: int
    p90_hi: int

    @property
    def median(self) -> float:
        return (self.median_lo + self.median_hi) / 2

    @property
    def p90(self) -> float:
        # percentile_cont(0.9): position 0.9 × (n - 1), interpolated linearly.
        fraction = (9 * (self.n - 1) % 10) / 10
        return self.p90_lo + fraction * (self.p90_hi - self.p90_lo)


def open_tickets(session: Session, scope: str) -> list[tuple[str, str, int]]:
    """(branch, step, tickets) of the tickets not closed, by the unit holding them."""
    return [tuple(row) for row in session.execute(
        typed(f"WITH RECURSIVE {SUBTREE} SELECT sub.branch, t.step, COUNT(*) FROM tickets t"
              " JOIN sub ON sub.code = t.current_unit_code WHERE t.step <> 'closed'"
              " GROUP BY sub.branch, t.step"),
        {"s": scope},
    )]


def running_clocks(session: Session, scope: str, now: datetime.datetime,
                   soon: datetime.date) -> list[tuple[str, str, int, int, int]]:
    """(branch, step, running, overdue, due soon) of the clocks not stopped, by the unit owing them.

    Overdue: past its due time and not paused. Due soon: not yet due, not
    paused, due on or before ``soon``.
    """
    return [tuple(row) for row in session.execute(
        typed(f"WITH RECURSIVE {SUBTREE} SELECT sub.branch, c.step, COUNT(*),"
              " SUM(CASE WHEN c.paused_at IS NULL AND c.due_at < :now THEN 1 ELSE 0 END),"
              " SUM(CASE WHEN c.paused_at IS NULL AND c.due_at >= :now AND c.due_day <= :soon"
              " THEN 1 ELSE 0 END)"
              " FROM ticket_clocks c JOIN sub ON sub.code = c.unit_code WHERE c.stopped_at IS NULL"
              " GROUP BY sub.branch, c.step", now=UTCDateTime, soon=Date),
        {"s": scope, "now": now, "soon": soon},
    )]


def past_due_by_week(session: Session, scope: str, now: datetime.datetime,
                     since_week: datetime.date) -> dict[datetime.date, int]:
    """Clocks still running past their due time, by the week they fell due in."""
    week = Dialect(session).week("c.due_day")
    rows = session.execute(
        typed(f"WITH RECURSIVE {SUBTREE} SELECT {week} AS week, COUNT(*) AS n FROM ticket_clocks c"
              " JOIN sub ON sub.code = c.unit_code WHERE c.stopped_at IS NULL AND c.paused_at IS NULL"
              f" AND c.due_at < :now AND c.due_day >= :since_week GROUP BY {week}",
              now=UTCDateTime, since_week=Date).columns(week=Date, n=Integer),
        {"s": scope, "now": now, "since_week": since_week},
    )
    return {row.week: row.n for row in rows}


# The histograms of a period: the sealed weeks, plus the clocks stopped
# since the seal (``{live}``), grouped five ways at once.
_HISTOGRAMS = (
    "WITH hist AS ("
    " SELECT scope_code, grain, week, step, actor, working_days, n, on_time FROM dashboard_response"
    " WHERE week >= :since_week AND ((grain = 'unit' AND scope_code IN :unit_scopes)"
    " OR (grain = 'agent' AND scope_code = :s))"
    " UNION ALL SELECT scope_code, grain, week, step, actor, working_days, n, on_time"
    " FROM ({live}) AS live), "
    # The weeks of the period together: all but the trend need no week.
    "flat AS (SELECT scope_code, grain, step, actor, working_days, SUM(n) AS n, SUM(on_time) AS on_time"
    " FROM hist GROUP BY scope_code, grain, step, actor, working_days), "
    "g AS ("
    " SELECT 'total' AS gkind, '' AS gkey, working_days AS v, n, on_time FROM flat"
    " WHERE grain = 'unit' AND scope_code = :s"
    " UNION ALL SELECT 'step', step, working_days, n, on_time FROM flat"
    " WHERE grain = 'unit' AND scope_code = :s"
    " UNION ALL SELECT 'week', CAST(week AS VARCHAR(10)), working_days, n, on_time FROM hist"
    " WHERE grain = 'unit' AND scope_code = :s"
    " UNION ALL SELECT 'unit', scope_code, working_days, n, on_time FROM flat"
    " WHERE grain = 'unit' AND scope_code <> :s"
    # The unit's own level: its agents' rows together.
    " UNION ALL SELECT 'unit', scope_code, working_days, n, on_time FROM flat WHERE grain = 'agent'"
    " UNION ALL SELECT 'agent', actor, working_days, n, on_time FROM flat WHERE grain = 'agent'), "
    "h AS (SELECT gkind, gkey, v, CAST(SUM(n) AS BIGINT) AS n,"
    " CAST(SUM(on_time) AS BIGINT) AS on_time FROM g GROUP BY gkind, gkey, v), "
    "c AS (SELECT gkind, gkey, v, n, on_time,"
    " CAST(SUM(n) OVER (PARTITION BY gkind, gkey ORDER BY v ROWS UNBOUNDED PRECEDING) AS BIGINT) AS upto,"
    " CAST(SUM(n) OVER (PARTITION BY gkind, gkey) AS BIGINT) AS total FROM h) "
    # The k-th value (from 0) is the v whose run of rows covers k: upto - n <= k < upto.
    "SELECT gkind, gkey, total, SUM(on_time) AS on_time,"
    " MIN(CASE WHEN upto - n <= (total - 1) / 2 AND (total - 1) / 2 < upto THEN v END) AS median_lo,"
    " MIN(CASE WHEN upto - n <= total / 2 AND total / 2 < upto THEN v END) AS median_hi,"
    " MIN(CASE WHEN upto - n <= 9 * (total - 1) / 10 AND 9 * (total - 1) / 10 < upto THEN v END) AS p90_lo,"
    " MIN(CASE WHEN upto - n <= (9 * (total - 1) + 9) / 10 AND (9 * (total - 1) + 9) / 10 < upto"
    " THEN v END) AS p90_hi"
    " FROM c GROUP BY gkind, gkey, total"
)
_NO_LIVE = ("SELECT scope_code, grain, week, step, actor, working_days, n, on_time"
            " FROM dashboard_response WHERE 1 = 0")


def histograms(session: Session, calendar: WorkCalendar, scope: str, children: Sequence[str], *,
               since_week: datetime.date, live_since: datetime.datetime,
               now: datetime.datetime) -> dict[tuple[str, str], Histogram]:
    """Histograms keyed (kind, key): ('total', ''), ('step', step), ('week', 'YYYY-MM-DD'),
    ('unit', code) for the scope's own level and each child, ('agent', name) at the scope."""
    unit_scopes = [scope, *children]
    params = {"s": scope, "unit_scopes": unit_scopes, "since_week": since_week}
    extra = [bindparam("since_week", type_=Date), bindparam("s", type_=String)]
    days = stop_range(session, live_since, now) if live_since < now else None
    if days is None:
        statement = typed(_HISTOGRAMS.replace("{live}", _NO_LIVE), unit_scopes="expanding")
        return _read(session, statement.bindparams(*extra), params)
    with workdays(session, calendar, *days):
        statement = response_rows(session, unit_scopes=unit_scopes, agent_units=[scope],
                                  wrap=_HISTOGRAMS.replace("{live}", "{rows}"))
        live = {"agent_units": [scope], "since": live_since, "until": now}
        return _read(session, statement.bindparams(*extra), {**params, **live})


def _read(session: Session, statement, params) -> dict[tuple[str, str], Histogram]:
    return {
        (row.gkind, row.gkey): Histogram(int(row.total), int(row.on_time), row.median_lo, row.median_hi,
                                         row.p90_lo, row.p90_hi)
        for row in session.execute(statement, params)
    }


def flows(session: Session, scope: str, *, since_week: datetime.date, live_since: datetime.datetime,
          now: datetime.datetime) -> dict[datetime.date, tuple[int, int]]:
    """(received, closed) by week: the sealed weeks plus what came in and closed since the seal."""
    statement = flow_rows(session, scopes=[scope], wrap=(
        "SELECT week, SUM(received) AS received, SUM(closed) AS closed FROM ("
        " SELECT week, received, closed FROM dashboard_flow WHERE scope_code = :s AND week >= :since_week"
        " UNION ALL SELECT week, received, closed FROM ({rows}) AS live) AS both_parts GROUP BY week"
    )).bindparams(bindparam("since_week", type_=Date)).columns(week=Date, received=Integer, closed=Integer)
    rows = session.execute(statement, {"s": scope, "scopes": [scope], "since_week": since_week,
                                       "since": live_since, "until": now})
    return {row.week: (int(row.received), int(row.closed)) for row in rows}
