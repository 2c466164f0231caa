"""Putting a ticket at the unit that must handle it: triage, forwarding, referral, disputes.

2014 notice item 1 (who is responsible; a level dispute is ruled by the next
level up) and item 2 (a lower level's matter goes down level by level; a
caller may instead be given the lower unit's hotline).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from sqlalchemy.orm import Session

from hotline import routing
from hotline.calendar import WorkCalendar
from hotline.tickets import clocks
from hotline.tickets.intake import Actor, TicketError, arrive, log, now, place
from hotline.tickets.models import Ticket
from hotline.tickets.steps import acting_for, expect, open_clock, stop_step, unit_or_refuse
from lookup.models import Unit

# Triage and forwarding (2014 notice items 1-2) -------------------------------------------


def assign(
    session: Session,
    ticket: Ticket,
    actor: Actor,
    *,
    school_codes: Sequence[str] = (),
    unit_code: str | None = None,
    reason: str = "",
    calendar: WorkCalendar | None = None,
    at: datetime.datetime | None = None,
) -> None:
    """Triage: the receiving unit names the schools (routed by the rule) or the unit."""
    expect(ticket, "triage")
    acting_for(actor, ticket.current_unit_code, "分办")
    at = at or now()
    calendar = calendar or WorkCalendar.from_session(session)
    if school_codes:
        try:
            decision = routing.route(
                session, list(school_codes), receiving_unit_code=ticket.receiving_unit_code
            )
        except routing.RoutingError as exc:
            raise TicketError(str(exc), "schools") from None
        target, text = decision.unit.code, "；".join(decision.trace)
    elif unit_code:
        target, text = unit_or_refuse(session, unit_code).code, f"人工分办：{reason.strip() or '未说明理由'}"
    else:
        raise TicketError("分办须指明涉及的学校或负责单位")
    log(session, ticket, actor, "assigned", text, target=target, at=at)
    place(session, calendar, ticket, target, actor, at=at)


def forward(
    session: Session,
    ticket: Ticket,
    actor: Actor,
    *,
    calendar: WorkCalendar | None = None,
    at: datetime.datetime | None = None,
) -> Unit:
    """Forward the ticket one level down towards its responsible unit; return the next unit."""
    expect(ticket, "forwarding")
    acting_for(actor, ticket.current_unit_code, "转办")
    at = at or now()
    hop = routing.forwarding_path(session, ticket.current_unit_code, ticket.responsible_unit_code)[0]
    ticket.current_unit_code = hop.code
    log(session, ticket, actor, "forwarded", f"转至 {hop.name}", target=hop.code, at=at)
    if hop.code == ticket.responsible_unit_code:
        arrive(session, calendar or WorkCalendar.from_session(session), ticket, actor, at=at)
    return session.get(Unit, hop.code)


def refer_caller(
    session: Session, ticket: Ticket, actor: Actor, *, at: datetime.datetime | None = None
) -> str:
    """On a call, give the caller the responsible lower unit's published hotline instead of
    forwarding (2014 notice item 2: 可直接向来电人提供下级处理问题热线电话号码). Closes it."""
    expect(ticket, "forwarding")
    acting_for(actor, ticket.current_unit_code, "告知下级热线")
    if ticket.channel != "phone":
        raise TicketError("只有来电可以直接告知下级单位热线，其他渠道须逐级转办")
    at = at or now()
    channels = routing.published_channels(session, ticket.responsible_unit_code)
    unit = unit_or_refuse(session, ticket.responsible_unit_code)
    given = (
        "，".join(
            x
            for x in (
                channels.phone and f"电话 {channels.phone}",
                channels.email and f"邮箱 {channels.email}",
            )
            if x
        )
        or "（该单位尚未公布）"
    )
    text = f"已向来电人提供 {unit.name} 的受理渠道：{given}"
    stop_step(session, ticket, "verify_issue", at)
    ticket.step, ticket.resolution = "closed", text
    log(session, ticket, actor, "referred", text, target=unit.code, at=at)
    return text


def dispute(
    session: Session, ticket: Ticket, actor: Actor, *, reason: str, at: datetime.datetime | None = None
) -> None:
    """The responsible unit disputes the level; the next level up rules (2014 notice item 1)."""
    expect(ticket, "verify_issue")
    acting_for(actor, ticket.responsible_unit_code, "提出层级异议")
    if ticket.disputed:
        raise TicketError("该工单的层级异议尚待上级裁定")
    if not reason.strip():
        raise TicketError("请说明层级异议的理由")
    parent = unit_or_refuse(session, ticket.responsible_unit_code).parent_code
    if parent is None:
        raise TicketError("教育部的处理层级没有上级可以裁定")
    ticket.disputed = True
    log(
        session,
        ticket,
        actor,
        "disputed",
        f"对处理层级提出异议：{reason.strip()}",
        target=parent,
        at=at or now(),
    )


def rule(
    session: Session,
    ticket: Ticket,
    actor: Actor,
    *,
    responsible_code: str,
    reason: str,
    calendar: WorkCalendar | None = None,
    at: datetime.datetime | None = None,
) -> None:
    """The parent of the disputing unit rules which unit is responsible; recorded either way."""
    if not ticket.disputed:
        raise TicketError("该工单没有待裁定的层级异议")
    parent = unit_or_refuse(session, ticket.responsible_unit_code).parent_code
    acting_for(actor, parent, "裁定层级异议")
    target = unit_or_refuse(session, responsible_code)
    if not routing.within(session, target.code, parent):
        raise TicketError("裁定的负责单位须为裁定单位本身或其下级单位")
    at = at or now()
    calendar = calendar or WorkCalendar.from_session(session)
    ticket.disputed = False
    log(
        session,
        ticket,
        actor,
        "ruled",
        f"裁定由 {target.name} 负责处理：{reason.strip() or '未说明理由'}",
        target=target.code,
        at=at,
    )
    if target.code == ticket.responsible_unit_code:
        return
    clock = open_clock(session, ticket, "verify_issue")
    if clock is not None:
        clocks.stop(clock, at, counts=False)
    ticket.current_unit_code = ticket.responsible_unit_code
    place(session, calendar, ticket, target.code, actor, at=at)
