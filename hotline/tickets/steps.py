"""What every workflow transition checks first, and the lookups they share."""

from __future__ import annotations

import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.tickets import clocks
from hotline.tickets.intake import Actor, TicketError
from hotline.tickets.models import Clock, Form, FormReturn, Ticket
from lookup.models import Unit

STEP_TEXT = {
    "triage": "待分办",
    "forwarding": "逐级转办中",
    "verify_issue": "待下发核查单",
    "verifying": "核查中",
    "deciding": "研究办理意见",
    "handling": "督办办理中",
    "confirming": "确认办理结果",
    "closed": "已办结",
}


def expect(ticket: Ticket, *steps: str) -> None:
    if ticket.step not in steps:
        allowed = "、".join(STEP_TEXT[s] for s in steps)
        raise TicketError(
            f"工单 {ticket.number} 当前处于“{STEP_TEXT[ticket.step]}”环节，此操作只能在“{allowed}”环节进行"
        )


def acting_for(actor: Actor, unit_code: str | None, what: str) -> None:
    if actor.unit_code != unit_code:
        raise TicketError(f"{what}须由 {unit_code or '受理单位'} 操作，当前操作单位为 {actor.unit_code}")


def unit_or_refuse(session: Session, code: str) -> Unit:
    unit = session.get(Unit, code)
    if unit is None:
        raise TicketError(f"未知的单位代码：{code}")
    return unit


def open_clock(
    session: Session, ticket: Ticket, step: str, unit_code: str | None = None, form: Form | None = None
) -> Clock | None:
    query = select(Clock).where(Clock.ticket_id == ticket.id, Clock.step == step, Clock.stopped_at.is_(None))
    if unit_code is not None:
        query = query.where(Clock.unit_code == unit_code)
    if form is not None:
        query = query.where(Clock.form_id == form.id)
    return session.scalars(query).first()


def stop_step(session: Session, ticket: Ticket, step: str, at: datetime.datetime, **kwargs) -> None:
    clock = open_clock(session, ticket, step, **kwargs)
    if clock is not None:
        if clock.paused_at is not None:
            raise TicketError("该环节的时限处于暂停状态，请先恢复计时")
        clocks.stop(clock, at)


def latest_forms(session: Session, ticket: Ticket, kind: str) -> list[Form]:
    """The current version of each form of ``kind`` on the ticket."""
    forms = session.scalars(
        select(Form).where(Form.ticket_id == ticket.id, Form.kind == kind).order_by(Form.number, Form.version)
    ).all()
    latest: dict[str, Form] = {}
    for form in forms:
        latest[form.number] = form
    return list(latest.values())


def latest_or_refuse(session: Session, form: Form) -> None:
    newer = session.scalar(
        select(Form.version).where(Form.number == form.number, Form.version > form.version).limit(1)
    )
    if newer is not None:
        raise TicketError(f"{form.number} 已有更正后的第 {newer} 版，请在最新版本上操作")


def returned(session: Session, form: Form) -> bool:
    return session.get(FormReturn, form.id) is not None
