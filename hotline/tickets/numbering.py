"""Numbers people read out on the phone: tickets 2026-000123, forms HC-2026-000045."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hotline import db
from hotline.tickets.models import Counter

# The prefix of each form's number: 核查单, 督办单, 报告单.
FORM_PREFIXES = {"verification": "HC", "supervision": "DB", "report": "BG"}


def next_serial(session: Session, series: str, year: int) -> int:
    """The next serial of ``series`` in ``year``, taken inside the caller's transaction.

    The counter row is locked by the UPDATE until the transaction ends, so
    two creators never get the same serial, and a creation that rolls back
    gives its serial back. The row is created on the year's first use; if two
    transactions race to create it, ON CONFLICT DO NOTHING lets both go on to
    the UPDATE, which the row lock orders.
    """
    connection = session.connection()
    bump = (
        update(Counter)
        .where(Counter.series == series, Counter.year == year)
        .values(last=Counter.last + 1)
        .returning(Counter.last)
    )
    serial = connection.execute(bump).scalar()
    if serial is None:
        dialect_insert = pg_insert if db.is_postgresql(session) else sqlite_insert
        connection.execute(
            dialect_insert(Counter).values(series=series, year=year, last=0).on_conflict_do_nothing()
        )
        serial = connection.execute(bump).scalar_one()
    return serial


def ticket_number(session: Session, year: int) -> str:
    """``2026-000123``: the year the ticket was received and its serial in that year."""
    return f"{year}-{next_serial(session, 'ticket', year):06d}"


def form_number(session: Session, kind: str, year: int) -> str:
    """``HC-2026-000045``: one series per kind of form and year."""
    return f"{FORM_PREFIXES[kind]}-{year}-{next_serial(session, kind, year):06d}"


def last_serial(session: Session, series: str, year: int) -> int:
    return session.scalar(select(Counter.last).where(Counter.series == series, Counter.year == year)) or 0
