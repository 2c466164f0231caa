"""The 核查单 (verification form): issued by the responsible unit, returned by each related unit.

2014 notice item 2: issued within 3 working days of receipt; each related
unit verifies and returns it within 5 working days of issue.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from sqlalchemy.orm import Session

from hotline.calendar import WorkCalendar
from hotline.tickets import clocks
from hotline.tickets.intake import Actor, TicketError, log, now
from hotline.tickets.models import Form, FormReturn, Ticket
from hotline.tickets.numbering import form_number
from hotline.tickets.steps import (
    acting_for,
    expect,
    latest_forms,
    latest_or_refuse,
    returned,
    stop_step,
    unit_or_refuse,
)


def issue_verification(
    session: Session,
    ticket: Ticket,
    actor: Actor,
    *,
    related_units: Sequence[str],
    facts: str,
    calendar: WorkCalendar | None = None,
    at: datetime.datetime | None = None,
) -> list[Form]:
    """The responsible unit sends a 核查单 to each related unit, which has 5 working days."""
    expect(ticket, "verify_issue")
    acting_for(actor, ticket.responsible_unit_code, "下发核查单")
    if ticket.disputed:
        raise TicketError("层级异议尚待上级裁定，暂不能下发核查单")
    codes = list(dict.fromkeys(code.strip() for code in related_units if code.strip()))
    if not codes:
        raise TicketError("请至少选择一个核查单位", "related_units")
    for code in codes:
        unit_or_refuse(session, code)
    if not facts.strip():
        raise TicketError("请填写需要核查的事项", "facts")
    at = at or now()
    calendar = calendar or WorkCalendar.from_session(session)
    stop_step(session, ticket, "verify_issue", at)
    due = calendar.due(clocks.local_day(at), clocks.RETURN_VERIFICATION)
    forms = []
    for code in codes:
        form = Form(
            kind="verification",
            number=form_number(session, "verification", due.start.year),
            version=1,
            ticket_id=ticket.id,
            issuing_unit_code=actor.unit_code,
            receiving_unit_code=code,
            body=facts.strip(),
            due_day=due.due,
            provisional=due.provisional,
            issued_by=actor.name,
            issued_at=at,
        )
        session.add(form)
        session.flush()
        clocks.start(
            session,
            calendar,
            ticket_id=ticket.id,
            step="verifying",
            unit_code=code,
            days=clocks.RETURN_VERIFICATION,
            at=at,
            form_id=form.id,
        )
        log(session, ticket, actor, "form_issued", f"下发核查单 {form.number}", target=code, form=form, at=at)
        forms.append(form)
    ticket.step = "verifying"
    return forms


def return_verification(
    session: Session,
    form: Form,
    actor: Actor,
    *,
    result: str,
    calendar: WorkCalendar | None = None,
    at: datetime.datetime | None = None,
) -> None:
    """A related unit returns its 核查单; when the last is back, the 5-day decision clock starts."""
    ticket = session.get(Ticket, form.ticket_id)
    if form.kind != "verification":
        raise TicketError("这不是核查单")
    expect(ticket, "verifying")
    acting_for(actor, form.receiving_unit_code, "反馈核查单")
    latest_or_refuse(session, form)
    if returned(session, form):
        raise TicketError(f"核查单 {form.number} 已经反馈，不能重复反馈")
    if not result.strip():
        raise TicketError("请填写核查结果", "result")
    at = at or now()
    session.add(FormReturn(form_id=form.id, result=result.strip(), filled_by=actor.name, filled_at=at))
    stop_step(session, ticket, "verifying", at, unit_code=form.receiving_unit_code)
    session.flush()
    log(
        session,
        ticket,
        actor,
        "form_returned",
        f"反馈核查单 {form.number}",
        target=form.issuing_unit_code,
        form=form,
        at=at,
    )
    if all(returned(session, f) for f in latest_forms(session, ticket, "verification")):
        ticket.step = "deciding"
        clocks.start(
            session,
            calendar or WorkCalendar.from_session(session),
            ticket_id=ticket.id,
            step="deciding",
            unit_code=ticket.responsible_unit_code,
            days=clocks.DECIDE,
            at=at,
        )
