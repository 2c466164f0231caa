"""The 核查单, 督办单 and 报告单 as print-ready A4 pages."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.tickets.clocks import HANDLE, RETURN_VERIFICATION, SHANGHAI
from hotline.tickets.models import Form, FormMove, FormReturn, Ticket
from lookup.models import School, Unit

# Titles after the attachments of the notices: 教基一厅函[2014]50号 附件1、2,
# 教基一厅[2016]2号 附件2.
KINDS = {
    "verification": {
        "title": "群众投诉中小学生学籍管理问题核查单",
        "issuer_label": "下发单位",
        "receiver_label": "核查单位",
        "body_label": "核查事项",
        "result_label": "核查情况",
        "sign_left": "核查单位",
        "basis": f"依据教基一厅函〔2014〕50号第二条：相关单位应在 {RETURN_VERIFICATION} 个工作日内"
        "完成核查并反馈本单。本单由技术部门核发。",
    },
    "supervision": {
        "title": "群众投诉中小学生学籍管理问题督办单",
        "issuer_label": "督办单位",
        "receiver_label": "承办单位",
        "body_label": "办理意见",
        "result_label": "办理情况",
        "sign_left": "承办单位",
        "basis": f"依据教基一厅函〔2014〕50号第三条：承办单位应在收到本单后 {HANDLE} 个工作日内办结，"
        "填写办理情况并逐级反馈。本单由行政部门核发。",
    },
    "report": {
        "title": "中小学生学籍管理问题报告单",
        "issuer_label": "报告单位",
        "receiver_label": "报送单位",
        "body_label": "报告事项",
        "result_label": "",
        "sign_left": "报告单位",
        "basis": "依据教基一厅〔2016〕2号：跨省业务和系统运行中存在的问题，以报告单形式及时报告教育部。",
    },
}


class FormNotFound(LookupError):
    pass


def find_form(session: Session, number: str, version: int | None = None) -> Form:
    query = select(Form).where(Form.number == number.strip().upper())
    query = query.where(Form.version == version) if version else query.order_by(Form.version.desc())
    form = session.scalars(query.limit(1)).first()
    if form is None:
        raise FormNotFound(f"没有编号为 {number}{f' 第 {version} 版' if version else ''} 的表单")
    return form


def _when(value) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y年%m月%d日 %H:%M")


def render_form(session: Session, form: Form) -> str:
    """The form as a self-contained A4 HTML page (call inside an app context)."""
    ticket = session.get(Ticket, form.ticket_id)
    answer = session.get(FormReturn, form.id)
    newest = session.scalar(
        select(Form.version).where(Form.number == form.number).order_by(Form.version.desc()).limit(1)
    )
    hops = session.scalars(select(FormMove).where(FormMove.form_id == form.id).order_by(FormMove.id)).all()
    codes = {m.from_unit_code for m in hops} | {m.to_unit_code for m in hops}
    names = dict(session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(codes))).all())
    moves = [
        f"{_when(m.at)} {names[m.from_unit_code]} → {names[m.to_unit_code]}"
        f"（{'下发' if m.direction == 'down' else '反馈'}）"
        for m in hops
    ]
    schools = session.scalars(
        select(School).where(School.code.in_([s.school_code for s in ticket.schools])).order_by(School.code)
    ).all()
    if form.kind == "report":
        deadline = "及时报告"
    elif form.due_day is not None:
        deadline = f"{form.due_day.year}年{form.due_day.month}月{form.due_day.day}日 24:00 前" + (
            "（暂定：该年度节假日安排尚未公布）" if form.provisional else ""
        )
    else:
        deadline = f"承办单位收到本单后 {HANDLE} 个工作日内"
    return render_template(
        "forms/form.html",
        form=form,
        ticket=ticket,
        answer=answer,
        schools=schools,
        moves=moves,
        issuing=session.get(Unit, form.issuing_unit_code),
        receiving=session.get(Unit, form.receiving_unit_code),
        issued_at=_when(form.issued_at),
        filled_at=answer and _when(answer.filled_at),
        deadline=deadline,
        superseded_by=newest if newest != form.version else None,
        **KINDS[form.kind],
    )
