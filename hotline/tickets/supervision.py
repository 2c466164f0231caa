"""The 督办单 (supervision form), relayed level by level, and the end of the workflow.

2014 notice item 3: within 5 working days of the verification's return the
responsible unit decides the handling opinion and sends a 督办单 down, level
by level, to the handling unit; that unit handles it within 5 working days
of receiving it and sends the form back up, level by level; the responsible
unit confirms the result and tells the complainant.
"""

from __future__ import annotations

import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import routing
from hotline.calendar import WorkCalendar
from hotline.tickets import clocks
from hotline.tickets.intake import Actor, TicketError, arrive, log, now
from hotline.tickets.models import Clock, Form, FormMove, FormReturn, Ticket
from hotline.tickets.numbering import form_number
from hotline.tickets.steps import (
    acting_for,
    expect,
    latest_or_refuse,
    returned,
    stop_step,
    unit_or_refuse,
)


def location(session: Session, form: Form) -> str:
    """The unit that holds the form now: where its last hop ended, or its issuer."""
    last = session.scalar(
        select(FormMove.to_unit_code).where(FormMove.form_id == form.id).order_by(FormMove.id.desc()).limit(1)
    )
    return last or form.issuing_unit_code


def issue_supervision(
    session: Session,
    ticket: Ticket,
    actor: Actor,
    *,
    handling_unit: str,
    opinion: str,
    calendar: WorkCalendar | None = None,
    at: datetime.datetime | None = None,
) -> Form:
    """Issue the 督办单 to the handling unit and send it on its first hop down."""
    expect(ticket, "deciding")
    acting_for(actor, ticket.responsible_unit_code, "下发督办单")
    target = unit_or_refuse(session, handling_unit)
    if not routing.within(session, target.code, ticket.responsible_unit_code):
        raise TicketError("督办单只能下发给负责单位本身或其下级单位", "handling_unit")
    if not opinion.strip():
        raise TicketError("请填写办理意见", "opinion")
    at = at or now()
    calendar = calendar or WorkCalendar.from_session(session)
    stop_step(session, ticket, "deciding", at)
    form = Form(
        kind="supervision",
        number=form_number(session, "supervision", clocks.local_day(at).year),
        version=1,
        ticket_id=ticket.id,
        issuing_unit_code=actor.unit_code,
        receiving_unit_code=target.code,
        body=opinion.strip(),
        issued_by=actor.name,
        issued_at=at,
    )
    # The handling unit's 5 days run from when the form reaches it; when it
    # reaches it at once (no level in between), that date is on the form.
    path = routing.forwarding_path(session, actor.unit_code, target.code)
    if len(path) <= 1:
        due = calendar.due(clocks.local_day(at), clocks.HANDLE)
        form.due_day, form.provisional = due.due, due.provisional
    session.add(form)
    session.flush()
    ticket.step = "handling"
    log(
        session,
        ticket,
        actor,
        "form_issued",
        f"下发督办单 {form.number}，承办单位：{target.name}",
        target=target.code,
        form=form,
        at=at,
    )
    if path:
        _move(session, calendar, ticket, form, actor, path[0].code, "down", at)
    else:
        _arrived(session, calendar, ticket, form, at)
    return form


def _move(
    session: Session,
    calendar: WorkCalendar,
    ticket: Ticket,
    form: Form,
    actor: Actor,
    to_code: str,
    direction: str,
    at: datetime.datetime,
) -> None:
    session.add(
        FormMove(
            form_id=form.id,
            direction=direction,
            from_unit_code=actor.unit_code,
            to_unit_code=to_code,
            actor=actor.name,
            at=at,
        )
    )
    to = unit_or_refuse(session, to_code)
    log(
        session,
        ticket,
        actor,
        "form_relayed",
        f"{'下发' if direction == 'down' else '反馈'}督办单 {form.number} 至 {to.name}",
        target=to_code,
        form=form,
        at=at,
    )
    if direction == "down" and to_code == form.receiving_unit_code:
        _arrived(session, calendar, ticket, form, at)
    elif direction == "up" and to_code == form.issuing_unit_code:
        ticket.step = "confirming"


def _arrived(
    session: Session, calendar: WorkCalendar, ticket: Ticket, form: Form, at: datetime.datetime
) -> None:
    clocks.start(
        session,
        calendar,
        ticket_id=ticket.id,
        step="handling",
        unit_code=form.receiving_unit_code,
        days=clocks.HANDLE,
        at=at,
        form_id=form.id,
    )


def relay(
    session: Session,
    form: Form,
    actor: Actor,
    *,
    calendar: WorkCalendar | None = None,
    at: datetime.datetime | None = None,
) -> str:
    """Pass a 督办单 one level on: down before it is handled, up after. Returns the next unit."""
    if form.kind != "supervision":
        raise TicketError("只有督办单需要逐级转发")
    ticket = session.get(Ticket, form.ticket_id)
    expect(ticket, "handling")
    latest_or_refuse(session, form)
    here = location(session, form)
    acting_for(actor, here, "转发督办单")
    at = at or now()
    calendar = calendar or WorkCalendar.from_session(session)
    if not returned(session, form):
        if here == form.receiving_unit_code:
            raise TicketError("督办单已送达承办单位，请办理后反馈")
        next_code = routing.forwarding_path(session, here, form.receiving_unit_code)[0].code
        _move(session, calendar, ticket, form, actor, next_code, "down", at)
    else:
        next_code = unit_or_refuse(session, here).parent_code
        _move(session, calendar, ticket, form, actor, next_code, "up", at)
    return next_code


def return_supervision(
    session: Session,
    form: Form,
    actor: Actor,
    *,
    result: str,
    calendar: WorkCalendar | None = None,
    at: datetime.datetime | None = None,
) -> None:
    """The handling unit fills in what it did and sends the form up (its first hop)."""
    if form.kind != "supervision":
        raise TicketError("这不是督办单")
    ticket = session.get(Ticket, form.ticket_id)
    expect(ticket, "handling")
    latest_or_refuse(session, form)
    acting_for(actor, form.receiving_unit_code, "反馈督办单")
    if location(session, form) != form.receiving_unit_code:
        raise TicketError("督办单尚未送达承办单位")
    if returned(session, form):
        raise TicketError(f"督办单 {form.number} 已经反馈，不能重复反馈")
    if not result.strip():
        raise TicketError("请填写办理情况", "result")
    at = at or now()
    calendar = calendar or WorkCalendar.from_session(session)
    stop_step(session, ticket, "handling", at, unit_code=form.receiving_unit_code)
    session.add(FormReturn(form_id=form.id, result=result.strip(), filled_by=actor.name, filled_at=at))
    session.flush()
    log(session, ticket, actor, "form_returned", f"填写办理情况，反馈督办单 {form.number}", form=form, at=at)
    if form.receiving_unit_code == form.issuing_unit_code:
        ticket.step = "confirming"
    else:
        parent = unit_or_refuse(session, form.receiving_unit_code).parent_code
        _move(session, calendar, ticket, form, actor, parent, "up", at)


def confirm_and_close(
    session: Session, ticket: Ticket, actor: Actor, *, reply: str, at: datetime.datetime | None = None
) -> None:
    """The responsible unit confirms the result and tells the complainant what it is."""
    expect(ticket, "confirming")
    acting_for(actor, ticket.responsible_unit_code, "确认办理结果")
    if not reply.strip():
        raise TicketError("请填写告知投诉人的办理结果", "reply")
    ticket.step, ticket.resolution = "closed", reply.strip()
    log(session, ticket, actor, "closed", f"确认办理结果并告知投诉人：{reply.strip()}", at=at or now())


def close_answered(
    session: Session, ticket: Ticket, actor: Actor, *, answer: str, at: datetime.datetime | None = None
) -> None:
    """Close a matter the responsible unit answers itself, with no verification needed
    (a number looked up for a caller, a technical question answered)."""
    expect(ticket, "verify_issue")
    acting_for(actor, ticket.responsible_unit_code, "直接答复办结")
    if ticket.disputed:
        raise TicketError("层级异议尚待上级裁定")
    if not answer.strip():
        raise TicketError("请填写答复内容", "answer")
    at = at or now()
    stop_step(session, ticket, "verify_issue", at)
    ticket.step, ticket.resolution = "closed", answer.strip()
    log(session, ticket, actor, "closed", f"直接答复办结：{answer.strip()}", at=at)


def reopen(
    session: Session,
    ticket: Ticket,
    actor: Actor,
    *,
    reason: str,
    calendar: WorkCalendar | None = None,
    at: datetime.datetime | None = None,
) -> None:
    """Reopen a closed ticket at its responsible unit; the 核查单 clock starts again."""
    expect(ticket, "closed")
    acting_for(actor, ticket.responsible_unit_code or ticket.current_unit_code, "重新办理")
    if not reason.strip():
        raise TicketError("请说明重新办理的理由", "reason")
    at = at or now()
    ticket.resolution = None
    log(session, ticket, actor, "reopened", f"重新办理：{reason.strip()}", at=at)
    arrive(session, calendar or WorkCalendar.from_session(session), ticket, actor, at=at)


def correct_form(
    session: Session, form: Form, actor: Actor, *, body: str, at: datetime.datetime | None = None
) -> Form:
    """Correct an issued form: a new version under the same number; the old one stays as it was."""
    acting_for(actor, form.issuing_unit_code, "更正表单")
    latest_or_refuse(session, form)
    if returned(session, form):
        raise TicketError(f"{form.number} 已经反馈，不能再更正")
    if not body.strip():
        raise TicketError("更正后的内容不能为空", "body")
    if body.strip() == form.body:
        raise TicketError("更正后的内容与原内容相同")
    at = at or now()
    ticket = session.get(Ticket, form.ticket_id)
    if ticket.step == "closed":
        raise TicketError("工单已办结，不能更正表单")
    new = Form(
        kind=form.kind,
        number=form.number,
        version=form.version + 1,
        supersedes_id=form.id,
        ticket_id=form.ticket_id,
        issuing_unit_code=form.issuing_unit_code,
        receiving_unit_code=form.receiving_unit_code,
        body=body.strip(),
        due_day=form.due_day,
        provisional=form.provisional,
        issued_by=actor.name,
        issued_at=at,
    )
    session.add(new)
    session.flush()
    # The clocks and the hops follow the form's number, not one version.
    for clock in session.scalars(select(Clock).where(Clock.form_id == form.id)):
        clock.form_id = new.id
    for move in session.scalars(select(FormMove).where(FormMove.form_id == form.id)):
        session.add(
            FormMove(
                form_id=new.id,
                direction=move.direction,
                from_unit_code=move.from_unit_code,
                to_unit_code=move.to_unit_code,
                actor=move.actor,
                at=move.at,
            )
        )
    log(session, ticket, actor, "form_corrected", f"更正 {form.number}，第 {new.version} 版", form=new, at=at)
    return new


def pause_clock(
    session: Session, ticket: Ticket, actor: Actor, *, reason: str, at: datetime.datetime | None = None
) -> None:
    """Pause the running clock the actor's unit owes on this ticket, with the reason."""
    clock = _owed(session, ticket, actor)
    at = at or now()
    try:
        clocks.pause(session, clock, reason=reason, actor=actor.name, at=at)
    except clocks.ClockError as exc:
        raise TicketError(str(exc)) from None
    log(session, ticket, actor, "paused", f"暂停计时：{reason.strip()}", at=at)


def resume_clock(
    session: Session,
    ticket: Ticket,
    actor: Actor,
    *,
    calendar: WorkCalendar | None = None,
    at: datetime.datetime | None = None,
) -> None:
    clock = _owed(session, ticket, actor)
    at = at or now()
    try:
        record = clocks.resume(session, calendar or WorkCalendar.from_session(session), clock, at=at)
    except clocks.ClockError as exc:
        raise TicketError(str(exc)) from None
    log(
        session,
        ticket,
        actor,
        "resumed",
        f"恢复计时（暂停 {record.working_days} 个工作日），新的期限：{clock.due_day.isoformat()}"
        + ("（暂定）" if clock.provisional else ""),
        at=at,
    )


def _owed(session: Session, ticket: Ticket, actor: Actor) -> Clock:
    clock = session.scalars(
        select(Clock).where(
            Clock.ticket_id == ticket.id, Clock.unit_code == actor.unit_code, Clock.stopped_at.is_(None)
        )
    ).first()
    if clock is None:
        raise TicketError("本单位在该工单上没有正在计时的环节")
    return clock
