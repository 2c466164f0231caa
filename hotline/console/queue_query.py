"""The work queue of a unit as SQL: its jurisdiction's tickets, filtered, most urgent first.

A ticket's urgency is the earliest due time of the clocks running on it
that the user's jurisdiction owes (not stopped, not paused): a county that
must return a 核查单 by Thursday sees Thursday, whatever the prefecture's own
clock says. Tickets with no such clock come after, oldest first. "Overdue"
and "due soon" use the same clocks, and the dashboard's definitions
(``hotline.console.stats``): overdue is past the due time and not paused;
due soon is not yet due, not paused, and due on or before the 2nd working
day after today (Asia/Shanghai, by the working-day calendar).
"""

from __future__ import annotations

import datetime
import unicodedata
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from hotline.calendar import WorkCalendar
from hotline.console.access import Principal, scope_codes, visible_clause
from hotline.tickets import clocks
from hotline.tickets.models import CATEGORIES, CHANNELS, STEPS, Clock, Ticket
from lookup.models import NATIONAL_CODE, Unit

PAGE_SIZE = 50
SOON_DAYS = 2
STATUSES = ("open", "closed", "all")


@dataclass(frozen=True)
class Filters:
    """What the user asked the queue for; every value already checked."""

    q: str = ""
    status: str = "open"
    step: str = ""
    channel: str = ""
    category: str = ""
    overdue: bool = False
    soon: bool = False
    mine: bool = False
    page: int = 1


def checked(raw: dict[str, object]) -> tuple[Filters, list[str]]:
    """Filters from raw values, and the names of those that were not understood (ignored).

    >>> checked({"status": "closed", "step": "nonsense", "page": "x"})
    (Filters(q='', status='closed', step='', channel='', category='', overdue=False, soon=False, \
mine=False, page=1), ['step', 'page'])
    """
    ignored: list[str] = []

    def pick(name: str, allowed: tuple[str, ...], default: str) -> str:
        value = str(raw.get(name) or default)
        if value in allowed or value == default:
            return value
        ignored.append(name)
        return default

    # Full-width digits and dashes, as a Chinese keyboard types a ticket number.
    q = unicodedata.normalize("NFKC", str(raw.get("q") or "")).strip()[:64]
    values = {"status": pick("status", STATUSES, "open"), "step": pick("step", STEPS, ""),
              "channel": pick("channel", CHANNELS, ""), "category": pick("category", CATEGORIES, "")}
    page_text = str(raw.get("page") or "1")
    page = int(page_text) if page_text.isascii() and page_text.isdigit() and len(page_text) < 7 else 0
    if page < 1:
        ignored.append("page")
        page = 1
    flags = {name: bool(raw.get(name)) for name in ("overdue", "soon", "mine")}
    return Filters(q=q, page=page, **values, **flags), ignored


@dataclass(frozen=True)
class Row:
    number: str
    subject: str
    step: str
    responsible: str | None  # the unit's name; None while in triage
    due_day: datetime.date | None
    provisional: bool
    paused: bool
    overdue: bool
    soon: bool


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    total: int
    page: int
    pages: int


def _owed_clock(codes: list[str] | None) -> ColumnElement[bool]:
    """A clock running on the row's ticket, owed by a unit of the jurisdiction."""
    owed = and_(Clock.ticket_id == Ticket.id, Clock.stopped_at.is_(None))
    return owed if codes is None else and_(owed, Clock.unit_code.in_(codes))


def _select(session: Session, principal: Principal, filters: Filters, *, now: datetime.datetime,
            soon: datetime.date, codes: list[str] | None) -> Select:
    query = select(Ticket.id).where(visible_clause(session, principal))
    if filters.status == "open":
        query = query.where(Ticket.step != "closed")
    elif filters.status == "closed":
        query = query.where(Ticket.step == "closed")
    for name in ("step", "channel", "category"):
        value = getattr(filters, name)
        if value:
            query = query.where(getattr(Ticket, name) == value)
    running = _owed_clock(codes)
    if filters.overdue:
        query = query.where(exists().where(running, Clock.paused_at.is_(None), Clock.due_at < now))
    if filters.soon:
        query = query.where(exists().where(running, Clock.paused_at.is_(None), Clock.due_at >= now,
                                           Clock.due_day <= soon))
    if filters.mine:
        unit = principal.unit_code
        held = and_(Ticket.current_unit_code == unit, Ticket.step != "closed")
        owes = exists().where(_owed_clock([unit]))
        query = query.where(or_(held, owes))
    if filters.q:
        query = query.where(or_(Ticket.number.icontains(filters.q, autoescape=True),
                                Ticket.subject.icontains(filters.q, autoescape=True)))
    return query


def queue(session: Session, principal: Principal, filters: Filters, *, now: datetime.datetime,
          calendar: WorkCalendar | None = None) -> Page:
    """One page of the queue of ``principal``'s jurisdiction."""
    calendar = calendar or WorkCalendar.from_session(session)
    soon = calendar.due(clocks.local_day(now), SOON_DAYS).due
    # The ministry's jurisdiction is everything: no list of every unit in the SQL.
    national = principal.unit_code == NATIONAL_CODE
    codes = None if national else sorted(scope_codes(session, principal.unit_code))
    query = _select(session, principal, filters, now=now, soon=soon, codes=codes)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(filters.page, pages)
    urgent = (select(func.min(Clock.due_at)).where(_owed_clock(codes), Clock.paused_at.is_(None))
              .correlate(Ticket).scalar_subquery())
    ids = list(session.scalars(query.order_by(urgent.asc().nulls_last(), Ticket.received_at, Ticket.id)
                               .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
    return Page(_rows(session, ids, codes, now=now, soon=soon), total, page, pages)


def _rows(session: Session, ids: list[int], codes: list[str] | None, *, now: datetime.datetime,
          soon: datetime.date) -> list[Row]:
    if not ids:
        return []
    tickets = {t.id: t for t in session.execute(
        select(Ticket.id, Ticket.number, Ticket.subject, Ticket.step, Unit.name.label("responsible"))
        .outerjoin(Unit, Unit.code == Ticket.responsible_unit_code).where(Ticket.id.in_(ids)))}
    running = select(Clock).where(Clock.ticket_id.in_(ids), Clock.stopped_at.is_(None))
    if codes is not None:
        running = running.where(Clock.unit_code.in_(codes))
    shown: dict[int, Clock] = {}
    # The clock a row shows: the most urgent one that runs; a paused one only if none runs.
    for clock in session.scalars(running.order_by(Clock.due_at, Clock.id)):
        best = shown.get(clock.ticket_id)
        if best is None or (best.paused_at is not None and clock.paused_at is None):
            shown[clock.ticket_id] = clock
    rows = []
    for ticket_id in ids:
        t, clock = tickets[ticket_id], shown.get(ticket_id)
        running_now = clock is not None and clock.paused_at is None
        rows.append(Row(
            number=t.number, subject=t.subject, step=t.step, responsible=t.responsible,
            due_day=clock.due_day if clock else None, provisional=bool(clock and clock.provisional),
            paused=bool(clock and clock.paused_at is not None),
            overdue=running_now and clock.due_at < now,
            soon=running_now and clock.due_at >= now and clock.due_day <= soon))
    return rows

