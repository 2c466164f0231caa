"""A message that starts a matter becomes a ticket, through the one creation function.

``hotline.tickets.workflow.create_ticket`` checks, routes (2014 notice item
1), numbers and starts the clock, as for every channel. This module only
says what the message gives it: the subject and text, the sender as
complainant, the schools and students it names (resolved by
:mod:`mailintake.routing`), and the lines of the routing trace. With no
school but places that name a unit, the ticket is put at that unit the way
an agent's triage would; with nothing at all it waits in the receiving
unit's triage queue with the candidates in its trace (issue 6 item 3).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable

from sqlalchemy.orm import Session

from hotline.tickets.intake import log, place
from hotline.tickets.models import Ticket
from hotline.tickets.workflow import Actor, NewTicket, TicketError, create_ticket
from mailintake import threading as thread
from mailintake.config import MailConfig
from mailintake.extract import candidates
from mailintake.parsing import Parsed
from mailintake.redact import redact
from mailintake.routing import resolve

SYSTEM = "邮件受理"
MAX_DESCRIPTION = 100_000
# Names and numbers are looked for in the first part of a long message only:
# what a parent writes about comes first, and the scan stays cheap.
MAX_SCANNED = 200_000


def _subject(parsed: Parsed) -> str:
    return redact(" ".join(parsed.subject.split()))[:200] or "（无主题）"


def _description(parsed: Parsed) -> str:
    text = redact(parsed.text.strip())
    if len(text) > MAX_DESCRIPTION:
        text = text[:MAX_DESCRIPTION] + "\n……（其余内容见原始邮件）"
    if not text:
        text = "（邮件没有正文）"
    if parsed.attachments:
        names = "、".join(a.filename[:60] for a in parsed.attachments[:20])
        text += f"\n\n附件：{names}"
    return text


def open_ticket(session: Session, parsed: Parsed, config: MailConfig, *, contact: str,
                received_at: datetime.datetime, notes: Iterable[str]) -> tuple[Ticket, list[str]]:
    """Create the ticket of ``parsed``; returns it and remarks for the received mail's row."""
    scanned = f"{parsed.subject}\n{parsed.text[:MAX_SCANNED]}"
    route = resolve(session, candidates(scanned, divisions=config.places(session), hasher=config.hash_id))
    trace = ("电子邮件来信", *route.trace, *notes)
    new = NewTicket(
        channel="email",
        # The agent who reads it sets the category; a guess here would skew statistics.
        category="other",
        subject=_subject(parsed),
        description=_description(parsed),
        receiving_unit_code=config.receiving_unit,
        school_codes=route.school_codes,
        students=route.students,
        complainant_name=parsed.from_name.strip()[:64] or None,
        email=contact,
        received_at=received_at,
        extra_trace=trace,
    )
    actor = Actor(SYSTEM, config.receiving_unit)
    calendar = config.calendar(session)
    try:
        ticket = create_ticket(session, new, actor, calendar=calendar)
    except TicketError as refused:
        if refused.field != "schools":
            raise
        # A school whose authority was abolished: the agent triages it meanwhile
        # (hotline.routing's rule), with the reason in the trace.
        why = f"无法按学校分办（{refused.message}），由受理单位分办"
        new = dataclasses.replace(new, school_codes=(), extra_trace=(*trace, why))
        ticket = create_ticket(session, new, actor, calendar=calendar)
    if ticket.step == "triage" and route.place_unit is not None:
        unit = route.place_unit
        # At the time of receipt, as create_ticket's own routing: the clock
        # runs from the day the mail arrived, however late a worker took it up.
        log(session, ticket, actor, "assigned", f"依据邮件提到的地名分办：{unit.label()}", target=unit.code,
            at=received_at)
        place(session, calendar, ticket, unit.code, actor, at=received_at)
    return ticket, thread.add_files(session, ticket, config, parsed)
