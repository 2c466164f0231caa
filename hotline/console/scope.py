"""Jurisdiction: which tickets a console user may see.

The issue's rule: a user sees and acts on the tickets of their unit and the
units below it, and on forms addressed to their unit, nothing else. Here a
ticket is "of" a unit when the unit received it, is responsible for it or
holds it now; and a form addressed to a unit below the user's counts like
one addressed to the user's own unit, since that unit is the user's to
supervise (its clocks are on the user's dashboard). A ticket outside the
rule answers 404, never 403: another unit's ticket numbers must not be
confirmed to exist.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from flask import abort, g, has_request_context
from sqlalchemy import ColumnElement, exists, or_, select, true
from sqlalchemy.orm import Session

from hotline.tickets.models import Form, Ticket
from lookup.models import NATIONAL_CODE, Unit

if TYPE_CHECKING:
    from hotline.console.access import Principal

# Ticket numbers are "2026-000123": anything else is no ticket's (and a NUL
# byte would not even reach PostgreSQL).
_NUMBER = re.compile(r"[0-9A-Za-z-]{1,16}")


def scope_codes(session: Session, unit_code: str) -> frozenset[str]:
    """The unit and every unit below it (inactive ones included: old tickets name them).

    One recursive query, the same on SQLite and PostgreSQL; cached for the
    rest of the request. An unknown code has an empty scope.
    """
    cache: dict[str, frozenset[str]] | None = None
    if has_request_context():
        cache = g.setdefault("console_scopes", {})
        if unit_code in cache:
            return cache[unit_code]
    units = Unit.__table__
    tree = select(units.c.code).where(units.c.code == unit_code).cte("scope", recursive=True)
    tree = tree.union_all(select(units.c.code).where(units.c.parent_code == tree.c.code))
    codes = frozenset(session.scalars(select(tree.c.code)))
    if cache is not None:
        cache[unit_code] = codes
    return codes


def visible_clause(session: Session, principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause on :class:`Ticket` for the tickets ``principal`` may see.

    The SQL twin of :func:`can_see_ticket`, for queues, searches and
    dashboards: ``select(Ticket).where(visible_clause(session, user))``.
    """
    if principal.unit_code == NATIONAL_CODE:
        return true()  # the ministry's scope is the whole tree
    codes = sorted(scope_codes(session, principal.unit_code))
    return or_(
        Ticket.current_unit_code.in_(codes),
        Ticket.responsible_unit_code.in_(codes),
        Ticket.receiving_unit_code.in_(codes),
        exists().where(Form.ticket_id == Ticket.id, Form.receiving_unit_code.in_(codes)),
    )


def can_see_ticket(session: Session, principal: Principal, ticket: Ticket) -> bool:
    """Whether the ticket is in ``principal``'s jurisdiction (see the module's rule)."""
    codes = scope_codes(session, principal.unit_code)
    units = (ticket.current_unit_code, ticket.responsible_unit_code, ticket.receiving_unit_code)
    if any(code in codes for code in units if code is not None):
        return True
    addressed = select(Form.id).where(Form.ticket_id == ticket.id,
                                      Form.receiving_unit_code.in_(sorted(codes))).limit(1)
    return session.scalar(addressed) is not None


def ticket_or_404(session: Session, principal: Principal, number: str) -> Ticket:
    """The ticket with this number if ``principal`` may see it; otherwise 404, as if it did not exist."""
    number = (number or "").strip()
    if not _NUMBER.fullmatch(number):
        abort(404)
    ticket = session.scalar(select(Ticket).where(Ticket.number == number))
    if ticket is None or not can_see_ticket(session, principal, ticket):
        abort(404)
    return ticket
