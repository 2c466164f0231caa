"""Sealing: counting the stopped clocks and the received and closed tickets into the dashboard's tables.

What is sealed is never counted again: the dashboard reads the sealed
histograms plus whatever happened after ``dashboard_state.sealed_until``
(see ``hotline.console.stats``), so its figures are right whether or not a
sealing has just run, and a page costs the same with a million tickets as
with ten thousand.

Sealing runs when a dashboard is opened and the last one is more than
:data:`SEAL_EVERY` old (at most :data:`SEAL_SPAN` of history at a time),
and stops :data:`SEAL_MARGIN` short of now: a
transaction that stopped a clock a moment ago may not have committed yet,
and a row committed behind the seal would never be counted. Two processes
sealing at once are kept apart by the first statement, an UPDATE of the
state row that only one of them can win (the other waits on the row, then
finds it moved and does nothing).

Rows written with a time before the seal — an import of old tickets, a
test — are counted after :func:`rebuild`.
"""

from __future__ import annotations

import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from hotline.calendar import WorkCalendar
from hotline.console.stats_models import DashboardState, FlowCount, ResponseCount
from hotline.console.stats_sql import flow_rows, response_rows, stop_range, workdays
from hotline.tickets.models import Ticket

SEAL_MARGIN = datetime.timedelta(minutes=10)
SEAL_EVERY = datetime.timedelta(minutes=10)
# The most history one page load seals: catching up after a long pause (or a
# first deployment over old tickets) is spread over several loads instead of
# holding one request for minutes; what is not sealed yet is read live.
SEAL_SPAN = datetime.timedelta(days=7)
STATE_ID = 1

_RESPONSE_KEY = "scope_code, grain, week, step, actor, working_days"


def seal(session: Session, now: datetime.datetime, *, calendar: WorkCalendar | None = None,
         span: datetime.timedelta | None = SEAL_SPAN) -> bool:
    """Count what happened since the last seal, up to ``now - SEAL_MARGIN`` and at most ``span``
    (None: no limit) of it; flushed, not committed.

    Call it first in its transaction, and commit right after: the UPDATE
    that claims the state row takes the write lock before anything is read
    (on SQLite a transaction that read first could not write). Returns
    whether this call sealed (False: too soon, or another process did).
    """
    cutoff = now - SEAL_MARGIN
    state = (DashboardState.id == STATE_ID,)
    claimed = session.execute(
        update(DashboardState)
        .where(*state, or_(DashboardState.sealed_until.is_(None),
                           DashboardState.sealed_until <= cutoff - SEAL_EVERY))
        # SET expressions read the row as it was: previous_until gets the old value.
        .values(previous_until=DashboardState.sealed_until, sealed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return False
    since = session.scalar(select(DashboardState.previous_until).where(*state))
    if since is None:  # never sealed: from the first ticket on
        since = min(session.scalar(select(func.min(Ticket.received_at))) or cutoff, cutoff)
    until = cutoff if span is None else min(cutoff, since + span)
    session.execute(update(DashboardState).where(*state).values(sealed_until=until)
                    .execution_options(synchronize_session=False))
    _count(session, calendar, since, until)
    session.expire_all()
    return True


def rebuild(session: Session, now: datetime.datetime, *, calendar: WorkCalendar | None = None) -> None:
    """Forget every sealed count and seal everything up to ``now - SEAL_MARGIN`` again.

    For rows written with times before the last seal (an import of old
    tickets) and after a change of the working-day calendar that should
    apply to the past as well. Flushed, not committed.
    """
    session.execute(delete(ResponseCount))
    session.execute(delete(FlowCount))
    session.execute(
        update(DashboardState)
        .where(DashboardState.id == STATE_ID)
        .values(sealed_until=None, previous_until=None, sealed_at=None)
        .execution_options(synchronize_session=False)
    )
    seal(session, now, calendar=calendar, span=None)


def _count(session: Session, calendar: WorkCalendar | None, since: datetime.datetime,
           until: datetime.datetime) -> None:
    window = {"since": since, "until": until}
    days = stop_range(session, since, until)
    if days is not None:
        with workdays(session, calendar or WorkCalendar.from_session(session), *days):
            # ``WHERE true``: SQLite needs it to tell the upsert's ON from a join's.
            session.execute(response_rows(session, wrap=(
                f"INSERT INTO dashboard_response ({_RESPONSE_KEY}, n, on_time) "
                f"SELECT {_RESPONSE_KEY}, n, on_time FROM ({{rows}}) AS fresh WHERE true "
                f"ON CONFLICT ({_RESPONSE_KEY}) DO UPDATE SET n = dashboard_response.n + excluded.n,"
                " on_time = dashboard_response.on_time + excluded.on_time"
            )), window)
    session.execute(flow_rows(session, wrap=(
        "INSERT INTO dashboard_flow (scope_code, week, received, closed) "
        "SELECT scope_code, week, received, closed FROM ({rows}) AS fresh WHERE true "
        "ON CONFLICT (scope_code, week) DO UPDATE SET received = dashboard_flow.received"
        " + excluded.received, closed = dashboard_flow.closed + excluded.closed"
    )), window)
