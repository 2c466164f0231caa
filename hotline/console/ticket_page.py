"""What the ticket page shows a user: gathered here, so the views stay thin and the template dumb.

Two depths of view (the issue: a user sees the tickets of their unit and
the units below it, *and the forms addressed to their unit*):

- **full**, when the ticket itself is in the user's jurisdiction (their unit
  or one below it received it, is responsible for it or holds it now):
  everything, including the complainant's masked contact, the description,
  the routing trace and the e-mail replies;
- **by form**, when the ticket is visible only because a form is addressed
  to a unit of the jurisdiction: the header, subject, schools and students
  (what a 核查单 asks about), and of the forms, clocks, timeline and notes
  only those of units in the jurisdiction. The complainant and the other
  units' work stay out of sight.

Forms follow one rule everywhere (this page, the printable page): a form is
visible when its issuing or receiving unit is in the jurisdiction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hotline.console.access import Principal, scope_codes
from hotline.console.ticket_roles import Offers, offers
from hotline.tickets.contacts import mask_email, mask_phone
from hotline.tickets.models import Clock, Complainant, Event, Form, FormReturn, Pause, Ticket
from hotline.tickets.notes import TicketNote, notes_of
from hotline.tickets.outbox import OutgoingMail
from hotline.tickets.workflow import location
from lookup.models import NATIONAL_CODE, School, Unit

KIND_TEXT = {"verification": "核查单", "supervision": "督办单", "report": "报告单"}
MAIL_STATUS_TEXT = {"queued": "待发送", "sending": "发送中", "sent": "已发送", "failed": "发送失败"}


@dataclass(frozen=True)
class Contact:
    name: str | None
    relation: str | None
    phone: str | None
    email: str | None


@dataclass
class FormView:
    form: Form  # the latest version
    versions: list[int]
    answer: FormReturn | None
    where: str | None  # a 督办单's present unit


@dataclass
class ClockView:
    clock: Clock
    pause: Pause | None  # the open pause, when paused


@dataclass
class TicketView:
    ticket: Ticket
    full: bool
    names: dict[str, str]
    schools: list[School]
    trace: list[str]
    contact: Contact | None
    forms: list[FormView]
    clocks: list[ClockView]
    events: list[Event]
    notes: list[TicketNote]
    mails: list[OutgoingMail]
    offers: Offers
    suggestions: list[tuple[str, str]] = field(default_factory=list)

    def name(self, code: str | None) -> str:
        return self.names.get(code, code or "") if code else ""


def masked_name(name: str | None) -> str | None:
    """
    >>> masked_name("刘桂芳"), masked_name("李"), masked_name(None)
    ('刘**', '李', None)
    """
    return name and name[:1] + "*" * (len(name) - 1)


def sees_ticket_itself(session: Session, principal: Principal, ticket: Ticket) -> bool:
    """Whether the ticket is in scope by its own units, not only through a form."""
    if principal.unit_code == NATIONAL_CODE:
        return True
    codes = scope_codes(session, principal.unit_code)
    return any(code in codes for code in (ticket.receiving_unit_code, ticket.responsible_unit_code,
                                          ticket.current_unit_code) if code)


def form_visible(session: Session, principal: Principal, form: Form) -> bool:
    if principal.unit_code == NATIONAL_CODE:
        return True
    codes = scope_codes(session, principal.unit_code)
    return form.issuing_unit_code in codes or form.receiving_unit_code in codes


def contact(session: Session, ticket: Ticket, *, revealed: bool) -> Contact | None:
    row = session.scalar(select(Complainant).where(Complainant.ticket_id == ticket.id))
    if row is None:
        return None
    if revealed:
        return Contact(row.name, row.relation, row.phone, row.email)
    return Contact(masked_name(row.name), row.relation, mask_phone(row.phone), mask_email(row.email))


def _forms(session: Session, principal: Principal, ticket: Ticket) -> list[FormView]:
    versions: dict[str, list[Form]] = {}
    for form in session.scalars(select(Form).where(Form.ticket_id == ticket.id).order_by(Form.id)):
        versions.setdefault(form.number, []).append(form)
    views = []
    for same in versions.values():
        latest = max(same, key=lambda f: f.version)
        if not form_visible(session, principal, latest):
            continue
        where = location(session, latest) if latest.kind == "supervision" else None
        answer = session.get(FormReturn, latest.id)
        views.append(FormView(latest, sorted(f.version for f in same), answer, where))
    return views


def _open_pause(session: Session, clock: Clock) -> Pause | None:
    if clock.paused_at is None:
        return None
    return session.scalar(select(Pause).where(Pause.clock_id == clock.id, Pause.ended_at.is_(None)))


def build(session: Session, principal: Principal, ticket: Ticket, *, revealed: bool = False) -> TicketView:
    full = sees_ticket_itself(session, principal, ticket)
    national = principal.unit_code == NATIONAL_CODE
    codes = None if national else sorted(scope_codes(session, principal.unit_code))
    forms = _forms(session, principal, ticket)
    clocks_query = select(Clock).where(Clock.ticket_id == ticket.id).order_by(Clock.started_at, Clock.id)
    events_query = select(Event).where(Event.ticket_id == ticket.id).order_by(Event.at, Event.id)
    notes = notes_of(session, ticket)
    if not full and codes is not None:
        clocks_query = clocks_query.where(Clock.unit_code.in_(codes))
        form_ids = select(Form.id).where(Form.number.in_([v.form.number for v in forms]))
        events_query = events_query.where(or_(Event.unit_code.in_(codes), Event.target_unit_code.in_(codes),
                                              Event.form_id.in_(form_ids)))
        notes = [note for note in notes if note.unit_code in codes]
    clocks = [ClockView(c, _open_pause(session, c)) for c in session.scalars(clocks_query)]
    events = list(session.scalars(events_query))
    person = contact(session, ticket, revealed=revealed) if full else None
    mails = list(session.scalars(select(OutgoingMail).where(OutgoingMail.ticket_id == ticket.id)
                                 .order_by(OutgoingMail.id))) if full else []
    schools = list(session.scalars(select(School).where(
        School.code.in_([s.school_code for s in ticket.schools])).order_by(School.code)))
    suggestions = _suggestions(session, principal, schools)
    wanted = {ticket.receiving_unit_code, ticket.responsible_unit_code, ticket.current_unit_code,
              *(c.clock.unit_code for c in clocks), *(e.unit_code for e in events),
              *(e.target_unit_code for e in events), *(n.unit_code for n in notes),
              *(f.form.issuing_unit_code for f in forms), *(f.form.receiving_unit_code for f in forms),
              *(f.where for f in forms)} - {None}
    names = dict(session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(sorted(wanted)))).all())
    return TicketView(
        ticket=ticket, full=full, names=names, schools=schools,
        trace=json.loads(ticket.routing_trace) if full else [], contact=person, forms=forms, clocks=clocks,
        events=events, notes=notes, mails=mails, suggestions=suggestions,
        offers=offers(session, principal, ticket, full=full, has_email=bool(person and person.email),
                      forms=[f.form for f in forms]),
    )


def _suggestions(session: Session, principal: Principal, schools: list[School]) -> list[tuple[str, str]]:
    """Units to suggest in the code fields: the user's own, those just below it, the schools' authorities."""
    codes = {principal.unit_code, *(s.authority_code for s in schools if s.authority_code)}
    near = or_(Unit.code.in_(sorted(codes)), Unit.parent_code == principal.unit_code)
    rows = session.execute(select(Unit.code, Unit.name).where(near).order_by(Unit.code).limit(400))
    return [(code, name) for code, name in rows]
