"""The ticket page's actions: one endpoint each, one operation each.

Every action is a POST to ``/console/tickets/<number>/<action>`` (or, for an
action on one form, ``/console/tickets/<number>/forms/<form number>/<action>``).
The view checks the role (403, ``hotline.console.ticket_roles``), finds the
ticket in the user's jurisdiction (404 otherwise), calls exactly one
operation with ``principal.actor``, commits, and goes back to the ticket
page with a message. When the operation refuses (a ``TicketError``: wrong
step, wrong unit, a missing field), nothing is committed and the page comes
back with the refusal and the text as typed (400).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from hotline import db
from hotline.calendar import CalendarError
from hotline.console import tickets as pages
from hotline.console.access import role_required
from hotline.console.blueprint import bp
from hotline.console.ticket_forms import ACTION_FORMS
from hotline.console.ticket_page import form_visible, sees_ticket_itself
from hotline.console.ticket_roles import ACTION_ROLES, COMPLAINANT_ACTIONS
from hotline.tickets import workflow
from hotline.tickets.intake import Actor
from hotline.tickets.models import Form, Ticket
from hotline.tickets.notes import add_note
from hotline.tickets.outbox import queue_reply
from hotline.tickets.printing import FormNotFound, find_form
from lookup.models import Unit

Run = Callable[[Session, Ticket, Actor, Any], str]
_FORM_NUMBER = re.compile(r"(HC|DB|BG)-[0-9]{4}-[0-9]{1,9}")


def codes(text: str | None) -> list[str]:
    """Unit or school codes as people type them: separated by spaces, commas or 、.

    >>> codes(" 130102，130104、 130203 ")
    ['130102', '130104', '130203']
    """
    return [code for code in re.split(r"[\s,，、;；]+", text or "") if code]


def _name(session: Session, code: str | None) -> str:
    return session.scalar(select(Unit.name).where(Unit.code == code)) or code or ""


def _perform(ticket: Ticket, key: str, form: FlaskForm, run: Callable[[Session, Actor], str]) -> Any:
    session = db.session()
    if not form.validate():  # lengths only: the operation says what else is wrong
        return pages.render_page(ticket, status=400, bound={key: form}, error="请按提示修改后重新提交。")
    try:
        done = run(session, pages.principal().actor)
    except (workflow.TicketError, CalendarError) as exc:
        session.rollback()
        message = getattr(exc, "message", None) or str(exc)
        field = getattr(form, getattr(exc, "field", None) or "", None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message]
        return pages.render_page(ticket, status=400, bound={key: form}, error=message)
    session.commit()
    flash(done, "info")
    return redirect(url_for("console.ticket", number=ticket.number))


def _ticket_action(action: str, path: str, run: Run) -> None:
    def view(number: str) -> Response | tuple[str, int]:
        ticket = pages.ticket_or_404(number)
        if action in COMPLAINANT_ACTIONS and not sees_ticket_itself(db.session(), pages.principal(), ticket):
            abort(403)
        form = ACTION_FORMS[action]()
        return _perform(ticket, action, form, lambda session, actor: run(session, ticket, actor, form))

    view.__name__ = f"ticket_{action}"
    guarded = role_required(*ACTION_ROLES[action])(view)
    bp.post(f"/tickets/<number>/{path}", endpoint=f"ticket_{action}")(guarded)


def _form_or_404(ticket: Ticket, number: str) -> Form:
    """The newest version of the form ``number`` on this ticket, if the user may see it."""
    number = number.strip().upper()
    if not _FORM_NUMBER.fullmatch(number):
        abort(404)
    session = db.session()
    try:
        form = find_form(session, number)
    except FormNotFound:
        abort(404)
    if form.ticket_id != ticket.id or not form_visible(session, pages.principal(), form):
        abort(404)
    return form


def _form_action(action: str, path: str, run: Callable[[Session, Form, Actor, Any], str]) -> None:
    def view(number: str, form_number: str) -> Response | tuple[str, int]:
        ticket = pages.ticket_or_404(number)
        target = _form_or_404(ticket, form_number)
        form = ACTION_FORMS[action]()
        return _perform(ticket, f"{action}:{target.number}", form,
                        lambda session, actor: run(session, target, actor, form))

    view.__name__ = f"form_{path}"
    bp.post(f"/tickets/<number>/forms/<form_number>/{path}", endpoint=f"form_{path}")(
        role_required(*ACTION_ROLES[action])(view))


# -- the actions -------------------------------------------------------------------------------


def _assign(session: Session, ticket: Ticket, actor: Actor, form: Any) -> str:
    workflow.assign(session, ticket, actor, school_codes=codes(form.schools.data),
                    unit_code=(form.unit_code.data or "").strip() or None, reason=form.reason.data or "")
    return f"已分办，负责单位：{_name(session, ticket.responsible_unit_code)}"


def _forward(session: Session, ticket: Ticket, actor: Actor, _form: Any) -> str:
    return f"已转至 {workflow.forward(session, ticket, actor).name}"


def _refer(session: Session, ticket: Ticket, actor: Actor, _form: Any) -> str:
    return f"{workflow.refer_caller(session, ticket, actor)}。工单已办结。"


def _close(session: Session, ticket: Ticket, actor: Actor, form: Any) -> str:
    workflow.close_answered(session, ticket, actor, answer=form.answer.data or "")
    return "已直接答复，工单已办结。"


def _confirm(session: Session, ticket: Ticket, actor: Actor, form: Any) -> str:
    workflow.confirm_and_close(session, ticket, actor, reply=form.reply.data or "")
    return "已确认办理结果，工单已办结。"


def _reopen(session: Session, ticket: Ticket, actor: Actor, form: Any) -> str:
    workflow.reopen(session, ticket, actor, reason=form.reason.data or "")
    return "工单已重新办理。"


def _dispute(session: Session, ticket: Ticket, actor: Actor, form: Any) -> str:
    workflow.dispute(session, ticket, actor, reason=form.reason.data or "")
    return "已提出层级异议，等待上级单位裁定。"


def _rule(session: Session, ticket: Ticket, actor: Actor, form: Any) -> str:
    workflow.rule(session, ticket, actor, responsible_code=(form.responsible_code.data or "").strip(),
                  reason=form.reason.data or "")
    return f"已裁定，负责单位：{_name(session, ticket.responsible_unit_code)}"


def _verification(session: Session, ticket: Ticket, actor: Actor, form: Any) -> str:
    issued = workflow.issue_verification(session, ticket, actor, related_units=codes(form.related_units.data),
                                         facts=form.facts.data or "")
    return "已下发核查单 " + "、".join(f.number for f in issued)


def _supervision(session: Session, ticket: Ticket, actor: Actor, form: Any) -> str:
    issued = workflow.issue_supervision(session, ticket, actor,
                                        handling_unit=(form.handling_unit.data or "").strip(),
                                        opinion=form.opinion.data or "")
    return f"已下发督办单 {issued.number}"


def _pause(session: Session, ticket: Ticket, actor: Actor, form: Any) -> str:
    workflow.pause_clock(session, ticket, actor, reason=form.reason.data or "")
    return "已暂停计时。"


def _resume(session: Session, ticket: Ticket, actor: Actor, _form: Any) -> str:
    workflow.resume_clock(session, ticket, actor)
    return "已恢复计时，期限已顺延。"


def _note(session: Session, ticket: Ticket, actor: Actor, form: Any) -> str:
    add_note(session, ticket, actor, text=form.text.data or "")
    return "已添加内部备注。"


def _reply(session: Session, ticket: Ticket, actor: Actor, form: Any) -> str:
    queue_reply(session, ticket, actor, body=form.body.data or "")
    return "答复邮件已加入发送队列。"


def _return(session: Session, target: Form, actor: Actor, form: Any) -> str:
    answer = (workflow.return_verification if target.kind == "verification"
              else workflow.return_supervision)
    answer(session, target, actor, result=form.result.data or "")
    return f"已反馈 {target.number}。"


def _relay(session: Session, target: Form, actor: Actor, _form: Any) -> str:
    return f"已将 {target.number} 转至 {_name(session, workflow.relay(session, target, actor))}。"


def _correct(session: Session, target: Form, actor: Actor, form: Any) -> str:
    new = workflow.correct_form(session, target, actor, body=form.body.data or "")
    return f"已更正 {new.number}，现为第 {new.version} 版。"


for _action, _path, _run in (
    ("note", "note", _note), ("reply", "reply", _reply), ("assign", "assign", _assign),
    ("forward", "forward", _forward), ("refer", "refer", _refer), ("close_answered", "close", _close),
    ("confirm", "confirm", _confirm), ("reopen", "reopen", _reopen), ("dispute", "dispute", _dispute),
    ("rule", "rule", _rule), ("issue_verification", "verification", _verification),
    ("issue_supervision", "supervision", _supervision), ("pause", "pause", _pause),
    ("resume", "resume", _resume),
):
    _ticket_action(_action, _path, _run)

for _action, _path, _form_run in (
    ("return_form", "return", _return), ("relay", "relay", _relay), ("correct_form", "correct", _correct),
):
    _form_action(_action, _path, _form_run)
