"""Where a ticket stands, as the public may read it: the answer of the status page and API.

Only public facts are read: the step, the category, the units (whose
channels are published anyway, 2014 notice item 4), the clocks' due dates
and the dates of receipt, last change and closing. The complainant's row is
only ever compared through its keyed hashes, inside the query; the subject,
description, students, schools, forms, resolution, pause reasons and routing
trace are never selected.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hotline.routing import Channels, published_channels
from hotline.tickets.clocks import SHANGHAI
from hotline.tickets.intake import CATEGORY_TEXT
from hotline.tickets.models import Clock, Complainant, Event, Ticket
from hotline.tickets.steps import STEP_TEXT
from lookup.models import Unit

# One answer for an unknown number and for a wrong contact: the page is no
# oracle for which tickets exist.
NOT_FOUND = ("未查到该工单。请核对工单编号，以及受理时留下的电话号码或电子邮箱是否正确。"
             "如仍有疑问，请拨打技术服务热线 010-66119801。")

# What each step means for the person waiting, with the deadline the 2014
# notice sets for it (items 2-3).
STEP_NOTE = {
    "triage": "受理单位正在确定由哪一级教育行政部门负责处理。",
    "forwarding": "工单正在逐级转交负责处理的教育行政部门。",
    "verify_issue": "负责单位应在收到工单后 3 个工作日内向相关单位下发核查单。",
    "verifying": "相关单位正在核查，应在核查单下发后 5 个工作日内反馈核查结果。",
    "deciding": "核查已完成，负责单位应在 5 个工作日内研究提出办理意见并下发督办单。",
    "handling": "承办单位正在办理，应在收到督办单后 5 个工作日内办结并逐级反馈。",
    "confirming": "办理结果已反馈，负责单位正在确认，确认后将告知您办理结果。",
    "closed": "本工单已办结。如对办理结果有疑问，可联系下列单位。",
}


@dataclass(frozen=True)
class Deadline:
    """The due date of the running clock (the latest, when several related units each have one)."""

    due_day: datetime.date
    due_at: datetime.datetime
    provisional: bool


@dataclass(frozen=True)
class Status:
    number: str
    step: str
    category: str
    agency_code: str
    agency_name: str
    # True while the receiving unit is still deciding who is responsible.
    triage: bool
    channels: Channels
    received_at: datetime.datetime
    updated_at: datetime.datetime
    deadline: Deadline | None
    paused_since: datetime.datetime | None
    closed_at: datetime.datetime | None

    @property
    def closed(self) -> bool:
        return self.step == "closed"

    @property
    def step_text(self) -> str:
        return STEP_TEXT[self.step]

    @property
    def step_note(self) -> str:
        return STEP_NOTE[self.step]

    @property
    def category_text(self) -> str:
        return CATEGORY_TEXT[self.category]


def find(session: Session, number: str, contact_hash: str) -> Status | None:
    """The status of ticket ``number`` if ``contact_hash`` is the keyed hash of its phone or e-mail.

    Unknown number and wrong contact are the same miss: one query, one None.
    """
    row = session.execute(
        select(Ticket.id, Ticket.step, Ticket.category, Ticket.responsible_unit_code,
               Ticket.current_unit_code, Ticket.received_at, Ticket.updated_at)
        .join(Complainant, Complainant.ticket_id == Ticket.id)
        .where(Ticket.number == number,
               or_(Complainant.phone_hash == contact_hash, Complainant.email_hash == contact_hash))
    ).first()
    if row is None:
        return None
    deadline, paused_since = _running_clock(session, row.id)
    # In triage no unit is responsible yet: the receiving unit holding it answers for it.
    agency_code = row.responsible_unit_code or row.current_unit_code
    closed_at = None
    if row.step == "closed":
        closed_at = session.scalar(select(func.max(Event.at)).where(
            Event.ticket_id == row.id, Event.kind.in_(("closed", "referred")))) or row.updated_at
    return Status(
        number=number, step=row.step, category=row.category, agency_code=agency_code,
        agency_name=session.scalar(select(Unit.name).where(Unit.code == agency_code)),
        triage=row.responsible_unit_code is None, channels=published_channels(session, agency_code),
        received_at=row.received_at, updated_at=row.updated_at, deadline=deadline,
        paused_since=paused_since, closed_at=closed_at)


def _running_clock(session: Session, ticket_id: int) -> tuple[Deadline | None, datetime.datetime | None]:
    clocks = session.execute(
        select(Clock.due_day, Clock.due_at, Clock.provisional, Clock.paused_at)
        .where(Clock.ticket_id == ticket_id, Clock.stopped_at.is_(None))).all()
    if not clocks:
        return None, None
    # A step with several related units ends when the last of them is done.
    latest = max(clocks, key=lambda c: c.due_at)
    paused = [c.paused_at for c in clocks if c.paused_at is not None]
    return Deadline(latest.due_day, latest.due_at, latest.provisional), min(paused) if paused else None


def local(at: datetime.datetime | None) -> str | None:
    """ISO 8601 in Beijing time, as the API gives every timestamp.

    >>> local(datetime.datetime(2026, 3, 2, 2, 0, tzinfo=datetime.UTC))
    '2026-03-02T10:00:00+08:00'
    """
    return at.astimezone(SHANGHAI).isoformat(timespec="seconds") if at is not None else None
