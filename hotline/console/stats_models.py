"""The supervisors' dashboard's own tables, and the indexes its queries need on the ticket tables.

A clock that has stopped is history: its verdict was fixed when it stopped
(``hotline.tickets.models.Clock``), so its time in working days can be
counted once and kept. The dashboard keeps those counts as histograms per
week, per unit and per agent (``dashboard_response``), and the tickets
received and closed per week (``dashboard_flow``); ``dashboard_state`` says
up to which instant they are complete. A page then reads a few thousand
histogram rows plus the minutes since that instant, whatever the number of
tickets (``hotline.console.stats_seal`` writes them, ``hotline.console.stats``
reads them).
"""

from __future__ import annotations

import datetime

from sqlalchemy import CheckConstraint, Date, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db import Base, UTCDateTime
from hotline.tickets.models import Clock, Event, Ticket

GRAINS = ("unit", "agent")


class DashboardState(Base):
    """One row: every clock stopped, ticket received and ticket closed before
    ``sealed_until`` is counted in the histograms below."""

    __tablename__ = "dashboard_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sealed_until: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)
    # The previous value, set by the same UPDATE that moves ``sealed_until``:
    # the sealing process learns the range it won without reading first.
    previous_until: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)
    sealed_at: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)


class ResponseCount(Base):
    """How many clocks of a step stopped in a week after so many working days, and how many
    of them on time.

    ``grain = 'unit'``: one row set per unit *and each unit above it*
    (``scope_code``), so the figures of a whole jurisdiction are one
    ``scope_code`` away; ``actor`` is empty. ``grain = 'agent'``: only the
    clock's own unit, one row set per person who stopped it (see
    ``hotline.console.stats_sql.AGENT_EVENTS``).
    """

    __tablename__ = "dashboard_response"
    __table_args__ = (CheckConstraint(f"grain IN {GRAINS}", name="grain"),)

    scope_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    grain: Mapped[str] = mapped_column(String(8), primary_key=True)
    # Monday (Asia/Shanghai) of the week the clock stopped in.
    week: Mapped[datetime.date] = mapped_column(Date, primary_key=True)
    step: Mapped[str] = mapped_column(String(16), primary_key=True)
    actor: Mapped[str] = mapped_column(String(64), primary_key=True)
    working_days: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer)
    on_time: Mapped[int] = mapped_column(Integer)


class FlowCount(Base):
    """Tickets received and closed in a week, for a unit and each unit above it."""

    __tablename__ = "dashboard_flow"

    scope_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    week: Mapped[datetime.date] = mapped_column(Date, primary_key=True)
    received: Mapped[int] = mapped_column(Integer)
    closed: Mapped[int] = mapped_column(Integer)


# The live part of the dashboard, on the ticket tables. Partial indexes: a
# year of a million tickets leaves a few tens of thousands open, and these
# hold only those, so the open figures cost the same whatever the history.
Index(
    "ix_tickets_open_unit_step",
    Ticket.current_unit_code,
    Ticket.step,
    postgresql_where=text("step <> 'closed'"),
    sqlite_where=text("step <> 'closed'"),
)
Index(
    "ix_ticket_clocks_running",
    Clock.unit_code,
    Clock.step,
    Clock.due_at,
    Clock.due_day,
    Clock.paused_at,
    postgresql_where=text("stopped_at IS NULL"),
    sqlite_where=text("stopped_at IS NULL"),
)
# Received and closed since the last sealing (and each sealing's range).
Index("ix_tickets_received_at", Ticket.received_at)
Index("ix_ticket_events_kind_at", Event.kind, Event.at)
