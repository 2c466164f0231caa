"""Tickets brought to each step of the workflow on fixed dates, and a ticket's record to compare.

Each ``at_*`` set-up takes a :class:`~tests.hotline.console.ticket_support.Desk`
and returns (the ticket, the number of the form an action would act on, or None).
"""

from __future__ import annotations

from sqlalchemy import select

from hotline.tickets import workflow as wf
from hotline.tickets.models import Clock, Event, Form, FormMove, FormReturn, Pause, Ticket
from hotline.tickets.notes import TicketNote
from hotline.tickets.outbox import OutgoingMail
from hotline.tickets.printing import find_form
from tests.hotline.console.conftest import CITY, COUNTY, PROVINCE
from tests.hotline.console.ticket_support import CITY_SCHOOL, COUNTY_SCHOOL, TANGSHAN_SCHOOL, day

NAME = "经办人甲"


def actor(unit: str, name: str = "某办理人") -> wf.Actor:
    return wf.Actor(name, unit)


def at_verify_issue(d, **kwargs):
    return d.ticket(**kwargs), None


def at_triage(d):
    return d.ticket(None, receiving=CITY), None


def at_forwarding(d, channel="phone"):
    return d.ticket(COUNTY_SCHOOL, receiving=CITY, channel=channel), None


def at_verifying(d):
    ticket = d.ticket(CITY_SCHOOL, receiving=CITY)
    form = wf.issue_verification(d.session, ticket, actor(CITY), related_units=[COUNTY], facts="核实学籍",
                                 calendar=d.calendar, at=day(3, 3))[0]
    return ticket, form.number


def at_deciding(d):
    ticket, number = at_verifying(d)
    wf.return_verification(d.session, find_form(d.session, number), actor(COUNTY), result="属实",
                           calendar=d.calendar, at=day(3, 4))
    return ticket, None


def at_handling_arrived(d):
    ticket, _ = at_deciding(d)
    form = wf.issue_supervision(d.session, ticket, actor(CITY), handling_unit=COUNTY, opinion="请更正",
                                calendar=d.calendar, at=day(3, 5))
    return ticket, form.number


def at_handling_relayed(d):
    """A province's 督办单 to 长安区 that has come down as far as 石家庄."""
    ticket = d.ticket((COUNTY_SCHOOL, TANGSHAN_SCHOOL), receiving=PROVINCE)
    wf.issue_verification(d.session, ticket, actor(PROVINCE), related_units=[COUNTY], facts="核实",
                          calendar=d.calendar, at=day(3, 3))
    form = d.session.scalar(select(Form).where(Form.ticket_id == ticket.id))
    wf.return_verification(d.session, form, actor(COUNTY), result="属实", calendar=d.calendar, at=day(3, 4))
    form = wf.issue_supervision(d.session, ticket, actor(PROVINCE), handling_unit=COUNTY, opinion="请更正",
                                calendar=d.calendar, at=day(3, 5))
    return ticket, form.number


def at_confirming(d):
    ticket, number = at_handling_arrived(d)
    wf.return_supervision(d.session, find_form(d.session, number), actor(COUNTY), result="已更正",
                          calendar=d.calendar, at=day(3, 6))
    return ticket, None


def at_closed(d):
    ticket = d.ticket()
    wf.close_answered(d.session, ticket, actor(COUNTY), answer="已答复", at=day(3, 3))
    return ticket, None


def at_disputed(d):
    ticket = d.ticket()
    wf.dispute(d.session, ticket, actor(COUNTY), reason="应由市里处理", at=day(3, 3))
    return ticket, None


def at_paused(d):
    ticket = d.ticket()
    wf.pause_clock(d.session, ticket, actor(COUNTY), reason="等待家长补充材料", at=day(3, 3))
    return ticket, None


def with_email(d):
    return d.ticket(email="parent@example.com"), None


def record(d, ticket_id: int) -> dict[str, object]:
    """What a ticket holds, without numbers or instants (which differ between two tickets)."""
    s = d.session
    s.flush()  # expire_all() would drop changes not yet flushed
    s.expire_all()
    t = s.get(Ticket, ticket_id)
    forms = s.scalars(select(Form).where(Form.ticket_id == ticket_id)).all()
    ids = [f.id for f in forms]
    clocks = s.scalars(select(Clock).where(Clock.ticket_id == ticket_id)).all()
    return {
        "ticket": (t.step, t.current_unit_code, t.responsible_unit_code, t.disputed, t.resolution),
        "clocks": sorted((c.step, c.unit_code, c.due_day, c.provisional, c.paused_at is not None,
                          c.stopped_at is not None, c.on_time, c.extra_days) for c in clocks),
        "pauses": sorted((p.reason, p.ended_at is not None, p.working_days) for p in s.scalars(
            select(Pause).where(Pause.clock_id.in_([c.id for c in clocks])))),
        "forms": sorted((f.kind, f.version, f.issuing_unit_code, f.receiving_unit_code, f.body, f.due_day,
                         s.get(FormReturn, f.id) is not None) for f in forms),
        "moves": sorted((m.direction, m.from_unit_code, m.to_unit_code)
                        for m in s.scalars(select(FormMove).where(FormMove.form_id.in_(ids)))),
        "events": [(e.kind, e.unit_code, e.target_unit_code)
                   for e in s.scalars(select(Event).where(Event.ticket_id == ticket_id).order_by(Event.id))],
        "notes": [(n.unit_code, n.author, n.text)
                  for n in s.scalars(select(TicketNote).where(TicketNote.ticket_id == ticket_id))],
        "mails": [(m.kind, m.to_addr, m.status, m.body_text.replace(t.number, "N"))
                  for m in s.scalars(select(OutgoingMail).where(OutgoingMail.ticket_id == ticket_id))],
    }


def path(number: str, action: str, form: str | None) -> str:
    return f"/console/tickets/{number}/{action.format(form=form)}"
