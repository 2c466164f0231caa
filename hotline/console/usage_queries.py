"""Account-usage monitoring (2016 notice part 2): idle accounts and untouched pending work, in SQL.

The notice (教基一厅[2016]2号, part 2): registrars and handling staff
"平时应每周至少登录一次……发现有待办业务的，应及时处理", and the system
monitors every account's use, the basis of the 通报. Two lists, both for a
unit and every unit below it:

- **idle accounts**: active accounts whose last login is 7 days or more
  ago, or that have never logged in (whatever their age: an account nobody
  uses is a risk under 等保 as much as a lapse under the notice; the page
  says when it was created). Disabled accounts are not listed.
- **untouched work**: work a unit owes that nobody at the unit has touched
  for 7 days. A unit owes (a) an open ticket it holds (``current_unit_code``,
  step not closed), untouched when its timeline has no event at all in the
  last 7 days; (b) a running clock of its own (``ticket_clocks.unit_code``,
  not stopped, not paused — a pause is a recorded reason to wait), started
  7 days or more ago, untouched when the ticket's timeline has no event by
  that unit in the last 7 days. A clock past its ``due_at`` is overdue.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import CTE, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from hotline.console.models import User
from hotline.tickets.models import Clock, Event, Ticket
from lookup.models import Unit

IDLE_DAYS = 7  # 2016 notice part 2: "每周至少登录一次"
SHOWN_NUMBERS = 5


def scope_cte(unit_code: str) -> CTE:
    """The unit and every unit below it, as a recursive CTE (one query, both databases)."""
    units = Unit.__table__
    tree = select(units.c.code).where(units.c.code == unit_code).cte("usage_scope", recursive=True)
    return tree.union_all(select(units.c.code).where(units.c.parent_code == tree.c.code))


@dataclass(frozen=True)
class IdleAccount:
    username: str
    name: str | None
    unit_code: str
    unit_name: str
    role: str
    last_login_at: datetime.datetime | None
    created_at: datetime.datetime

    def days(self, now: datetime.datetime) -> int | None:
        """Whole days since the last login; None when never logged in."""
        return None if self.last_login_at is None else (now - self.last_login_at).days


def idle_accounts(session: Session, unit_code: str, now: datetime.datetime,
                  days: int = IDLE_DAYS) -> list[IdleAccount]:
    """Active accounts of the unit and below not logged in for ``days`` days, or never; never-used first."""
    scope, cutoff = scope_cte(unit_code), now - datetime.timedelta(days=days)
    rows = session.execute(
        select(User.username, User.name, User.unit_code, Unit.name, User.role, User.last_login_at,
               User.created_at)
        .join(Unit, Unit.code == User.unit_code)
        .where(User.active.is_(True), User.unit_code.in_(select(scope.c.code)),
               or_(User.last_login_at.is_(None), User.last_login_at <= cutoff))
        .order_by(User.unit_code, User.last_login_at.is_not(None), User.last_login_at, User.username))
    return [IdleAccount(*row) for row in rows]


@dataclass(frozen=True)
class UnitAccounts:
    unit_code: str
    unit_name: str
    active: int
    idle: int


def accounts_by_unit(session: Session, unit_code: str, now: datetime.datetime,
                     days: int = IDLE_DAYS) -> list[UnitAccounts]:
    """Per unit with active accounts: how many, and how many idle (the 通报's figure)."""
    scope, cutoff = scope_cte(unit_code), now - datetime.timedelta(days=days)
    idle = case((or_(User.last_login_at.is_(None), User.last_login_at <= cutoff), 1), else_=0)
    rows = session.execute(
        select(User.unit_code, Unit.name, func.count(User.id), func.sum(idle))
        .join(Unit, Unit.code == User.unit_code)
        .where(User.active.is_(True), User.unit_code.in_(select(scope.c.code)))
        .group_by(User.unit_code, Unit.name).order_by(User.unit_code))
    return [UnitAccounts(code, name, int(active), int(idle or 0)) for code, name, active, idle in rows]


@dataclass
class UntouchedUnit:
    """A unit's untouched work: tickets it holds, clocks it owes, how many overdue, which tickets."""

    unit_code: str
    unit_name: str
    held: int = 0
    clocks: int = 0
    overdue: int = 0
    oldest_due: datetime.datetime | None = None
    numbers: list[str] = field(default_factory=list)

    def add(self, number: str) -> None:
        if number not in self.numbers:
            self.numbers.append(number)


def _held(session: Session, scope: CTE, cutoff: datetime.datetime) -> Sequence:
    quiet = ~exists().where(Event.ticket_id == Ticket.id, Event.at > cutoff)
    return session.execute(
        select(Ticket.current_unit_code, Ticket.number)
        .where(Ticket.step != "closed", Ticket.current_unit_code.in_(select(scope.c.code)), quiet)
        .order_by(Ticket.current_unit_code, Ticket.received_at)).all()


def _clocks(session: Session, scope: CTE, cutoff: datetime.datetime) -> Sequence:
    touched = exists().where(Event.ticket_id == Clock.ticket_id, Event.unit_code == Clock.unit_code,
                             Event.at > cutoff)
    return session.execute(
        select(Clock.unit_code, Ticket.number, Clock.due_at)
        .join(Ticket, Ticket.id == Clock.ticket_id)
        .where(and_(Clock.stopped_at.is_(None), Clock.paused_at.is_(None), Clock.started_at <= cutoff,
                    Clock.unit_code.in_(select(scope.c.code)), ~touched))
        .order_by(Clock.unit_code, Clock.due_at)).all()


def untouched_units(session: Session, unit_code: str, now: datetime.datetime,
                    days: int = IDLE_DAYS) -> list[UntouchedUnit]:
    """Units of the scope with pending work nobody there touched for ``days`` days (see the module)."""
    scope, cutoff = scope_cte(unit_code), now - datetime.timedelta(days=days)
    units: dict[str, UntouchedUnit] = {}
    for code, number in _held(session, scope, cutoff):
        entry = units.setdefault(code, UntouchedUnit(code, ""))
        entry.held += 1
        entry.add(number)
    for code, number, due_at in _clocks(session, scope, cutoff):
        entry = units.setdefault(code, UntouchedUnit(code, ""))
        entry.clocks += 1
        entry.add(number)
        if due_at < now:
            entry.overdue += 1
        if entry.oldest_due is None or due_at < entry.oldest_due:
            entry.oldest_due = due_at
    names = dict(session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(sorted(units)))).all())
    for entry in units.values():
        entry.unit_name = names.get(entry.unit_code, "")
    # The most overdue first: that is the order a 通报 reads in.
    return sorted(units.values(), key=lambda u: (-u.overdue, -(u.held + u.clocks), u.unit_code))
