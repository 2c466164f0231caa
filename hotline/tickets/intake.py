"""Creating a ticket — the one way in for every channel — and putting it at the right unit.

Every channel (a phone call logged by an agent, a message to the mailbox, the
web, a unit forwarding a matter) calls :func:`create_ticket`. It checks the
input, routes the ticket with ``hotline.routing.route`` (2014 notice item 1),
numbers it, records the decision and its trace, starts the first clock and
files a 报告单 where the 2016 notice asks for one. Nothing is flushed until
all of it has been checked, so bad input changes nothing.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from hotline import routing
from hotline.calendar import WorkCalendar
from hotline.tickets import clocks
from hotline.tickets.contacts import ContactError, contact_hasher, normalize_email, normalize_phone
from hotline.tickets.models import (
    CATEGORIES,
    CHANNELS,
    Complainant,
    Event,
    Form,
    Ticket,
    TicketSchool,
    TicketStudent,
)
from hotline.tickets.numbering import form_number, ticket_number
from lookup.models import NATIONAL_CODE

CHANNEL_TEXT = {"phone": "电话", "email": "电子邮件", "web": "网站", "unit": "下级单位转来"}
CATEGORY_TEXT = {
    "lookup": "学籍号查询",
    "consultation": "技术咨询",
    "complaint": "投诉",
    "transfer": "转学",
    "duplicate_check": "查重争议",
    "key_info_change": "关键信息变更",
    "system_fault": "系统故障",
    "other": "其他",
}


class TicketError(ValueError):
    """Input or an action the rules refuse; ``message`` is for the person (Chinese)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Actor:
    """Who acts, and from which unit (every timeline entry names both)."""

    name: str
    unit_code: str


@dataclass(frozen=True)
class StudentRef:
    """A student named in a ticket: a national number, or a masked ID number and its hash."""

    number: str | None = None
    id_hash: str | None = None
    id_masked: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class NewTicket:
    channel: str
    category: str
    subject: str
    description: str
    receiving_unit_code: str
    school_codes: Sequence[str] = ()
    students: Sequence[StudentRef] = ()
    complainant_name: str | None = None
    relation: str | None = None
    phone: str | None = None
    email: str | None = None
    received_at: datetime.datetime | None = None
    extra_trace: Sequence[str] = field(default_factory=tuple)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _check(new: NewTicket) -> tuple[str | None, str | None]:
    if new.channel not in CHANNELS:
        raise TicketError(f"未知的受理渠道：{new.channel}", "channel")
    if new.category not in CATEGORIES:
        raise TicketError(f"未知的问题类别：{new.category}", "category")
    if not new.subject.strip():
        raise TicketError("请填写事由", "subject")
    if len(new.subject) > 200:
        raise TicketError("事由不能超过 200 字", "subject")
    if not new.description.strip():
        raise TicketError("请填写问题描述", "description")
    try:
        phone, email = normalize_phone(new.phone), normalize_email(new.email)
    except ContactError as exc:
        raise TicketError(exc.message, exc.field) from None
    if phone is None and email is None:
        # The complainant follows the ticket and is told the result by these.
        raise TicketError("请至少留下一种联系方式：电话或电子邮箱", "phone")
    if new.received_at is not None and new.received_at.tzinfo is None:
        raise TicketError("受理时间必须带时区", "received_at")
    return phone, email


def create_ticket(
    session: Session, new: NewTicket, actor: Actor, *, calendar: WorkCalendar | None = None
) -> Ticket:
    """Create, route and number a ticket, start its first clock; flushed, not committed."""
    phone, email = _check(new)
    if routing.find_unit(session, new.receiving_unit_code) is None:
        raise TicketError(f"未知的受理单位代码：{new.receiving_unit_code}", "receiving_unit_code")
    try:
        decision = routing.route(session, list(new.school_codes), receiving_unit_code=new.receiving_unit_code)
    except routing.RoutingError as exc:
        raise TicketError(str(exc), "schools") from None
    calendar = calendar or WorkCalendar.from_session(session)
    at = new.received_at or now()
    hash_contact = contact_hasher()
    ticket = Ticket(
        number=ticket_number(session, clocks.local_day(at).year),
        channel=new.channel,
        category=new.category,
        subject=new.subject.strip(),
        description=new.description,
        step="triage",
        received_at=at,
        updated_at=at,
        receiving_unit_code=new.receiving_unit_code,
        current_unit_code=new.receiving_unit_code,
        routing_rule=decision.rule,
        routing_trace=json.dumps([*decision.trace, *new.extra_trace], ensure_ascii=False),
        cross_province=decision.cross_province,
        disputed=False,
    )
    ticket.complainant = Complainant(
        name=new.complainant_name,
        relation=new.relation,
        phone=phone,
        email=email,
        phone_hash=phone and hash_contact(phone),
        email_hash=email and hash_contact(email),
    )
    ticket.schools = [TicketSchool(school_code=code) for code in dict.fromkeys(new.school_codes)]
    ticket.students = [
        TicketStudent(number=s.number, id_hash=s.id_hash, id_masked=s.id_masked, name=s.name)
        for s in new.students
    ]
    # Where the ticket goes is set before its INSERT, so that the row is
    # written once, not inserted and then updated twice (step, responsible
    # unit); the timeline entries and the clock need its id, so they follow.
    move = None if decision.rule == "triage" else _move(session, ticket, decision.unit.code)
    session.add(ticket)
    session.flush()
    log(session, ticket, actor, "received",
        f"经{CHANNEL_TEXT[new.channel]}受理，类别：{CATEGORY_TEXT[new.category]}", at=at)
    if move is None:
        why = "未能确定涉及的学校，由受理单位分办：" + "；".join(decision.trace)
        log(session, ticket, actor, "triage", why, at=at)
    else:
        _record_move(session, calendar, ticket, move, actor, at=at)
    if new.category == "system_fault" or decision.cross_province:
        file_report(session, calendar, ticket, actor, at=at)
    return ticket


def place(
    session: Session,
    calendar: WorkCalendar,
    ticket: Ticket,
    responsible_code: str,
    actor: Actor,
    *,
    at: datetime.datetime,
) -> None:
    """Make ``responsible_code`` responsible and move the ticket towards it.

    Down the tree the ticket goes level by level (2014 notice item 2: 逐级转由
    相应层级处理), each hop a separate action by the unit holding it. Up the
    tree, or across to another branch, it goes straight to the responsible
    unit: the receiving agent explains that to the caller and escalates.
    """
    _record_move(session, calendar, ticket, _move(session, ticket, responsible_code), actor, at=at)


Move = tuple[routing.Relation, routing.UnitRef]  # where a ticket goes, and the unit there


def _move(session: Session, ticket: Ticket, responsible_code: str) -> Move:
    """Set the ticket's responsible unit, step and holder (:func:`place`'s fields, nothing written)."""
    unit = routing.find_unit(session, responsible_code)
    relation = routing.relation(session, ticket.current_unit_code, responsible_code)
    ticket.responsible_unit_code = responsible_code
    if relation == "lower":
        ticket.step = "forwarding"
    else:
        ticket.step, ticket.current_unit_code = "verify_issue", responsible_code
    return relation, unit


def _record_move(session: Session, calendar: WorkCalendar, ticket: Ticket, move: Move, actor: Actor, *,
                 at: datetime.datetime) -> None:
    """The timeline entry of :func:`_move`, and the clock when the ticket arrived."""
    relation, unit = move
    if relation == "same":
        log(session, ticket, actor, "routed", f"由本单位（{unit.name}）负责处理", at=at)
    elif relation == "lower":
        log(session, ticket, actor, "routed", f"应由下级单位 {unit.name} 处理，需逐级转办", target=unit.code,
            at=at)
    else:
        log(session, ticket, actor, "escalated", f"应由上级或其他单位 {unit.name} 处理，已直接转交",
            target=unit.code, at=at)
    if relation != "lower":
        _start_issue_clock(session, calendar, ticket, at=at)


def arrive(
    session: Session, calendar: WorkCalendar, ticket: Ticket, actor: Actor, *, at: datetime.datetime
) -> None:
    """The ticket reached its responsible unit: the 3-day clock to issue the 核查单 starts."""
    ticket.step = "verify_issue"
    ticket.current_unit_code = ticket.responsible_unit_code
    _start_issue_clock(session, calendar, ticket, at=at)


def _start_issue_clock(session: Session, calendar: WorkCalendar, ticket: Ticket, *,
                       at: datetime.datetime) -> None:
    clocks.start(session, calendar, ticket_id=ticket.id, step="verify_issue",
                 unit_code=ticket.responsible_unit_code, days=clocks.ISSUE_VERIFICATION, at=at)


def file_report(
    session: Session, calendar: WorkCalendar, ticket: Ticket, actor: Actor, *, at: datetime.datetime
) -> Form | None:
    """2016 notice part 2: cross-province matters and problems of the system itself are
    reported to the ministry on a 报告单. Nothing to report when the ministry received it."""
    if ticket.receiving_unit_code == NATIONAL_CODE:
        return None
    why = "系统运行中存在的问题" if ticket.category == "system_fault" else "跨省业务问题"
    form = Form(
        kind="report",
        number=form_number(session, "report", clocks.local_day(at).year),
        version=1,
        ticket_id=ticket.id,
        issuing_unit_code=ticket.receiving_unit_code,
        receiving_unit_code=NATIONAL_CODE,
        body=f"{why}：{ticket.subject}\n\n{ticket.description}",
        due_day=None,
        provisional=False,
        issued_by=actor.name,
        issued_at=at,
    )
    session.add(form)
    session.flush()
    log(
        session,
        ticket,
        actor,
        "report",
        f"已填报报告单 {form.number}，报告教育部（{why}）",
        target=NATIONAL_CODE,
        form=form,
        at=at,
    )
    return form


def log(
    session: Session,
    ticket: Ticket,
    actor: Actor,
    kind: str,
    text: str,
    *,
    at: datetime.datetime,
    target: str | None = None,
    form: Form | None = None,
) -> Event:
    """Append one entry to the ticket's timeline."""
    entry = Event(
        ticket_id=ticket.id,
        at=at,
        actor=actor.name,
        unit_code=actor.unit_code,
        kind=kind,
        text=text,
        target_unit_code=target,
        form_id=form.id if form is not None else None,
    )
    session.add(entry)
    ticket.updated_at = at
    return entry
