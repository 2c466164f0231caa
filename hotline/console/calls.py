"""Call logging (来电登记) for an agent with a caller on the line, and its two helpers.

- ``/console/calls/new``: one form; "预览" shows where the matter goes and what
  to say (hotline.console.call_preview), "保存" creates the ticket exactly as
  previewed (hotline.tickets.workflow.create_ticket, channel "phone"), and
  with "告知下级热线" closes it at once (workflow.refer_caller).
- ``/console/schools/search``: schools by 学校标识码 or name.
- ``/console/students/lookup``: a student by name and ID number, as the
  public lookup finds them; every lookup is audited.

Hotline agents, supervisors and administrators log calls and look students
up; handling staff (办理人员) fill in forms sent to their unit and do
neither, so the personal-data lookups stay with the people on the phone.
Anyone logged in may search schools.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import flash, redirect, render_template, request
from werkzeug.wrappers import Response

from hotline import db
from hotline.calendar import CalendarError
from hotline.console import call_preview, call_search
from hotline.console.access import Principal, audit_view, current_user, login_required, role_required
from hotline.console.blueprint import bp
from hotline.console.call_forms import CallForm, StudentLookupForm
from hotline.console.call_preview import Preview
from hotline.console.call_search import SchoolHit, StudentFinding
from hotline.tickets import workflow
from lookup.inputs import parse_query
from lookup.numbers import NumberError
from lookup.operations import KIND_TEXT, NOT_FOUND

CALL_ROLES = ("agent", "supervisor", "admin")
CHANGED = "预览之后内容有改动（或处理去向已变化），请核对下面新的预览后再保存。"
NOT_OFFERED = "当前处理去向不能直接告知下级热线，请按新的预览保存。"


def _user() -> Principal:
    user = current_user()
    assert user is not None  # role_required
    return user


def _page(form: CallForm, preview: Preview | None = None, candidates: Sequence[SchoolHit] = (),
          notice: str | None = None, status: int = 200) -> tuple[str, int]:
    suggestions = {hit.code: hit for hit in [*candidates, *call_search.schools_run_by(db.session(),
                                                                                     _user().unit_code)]}
    return render_template("console/calls/new.html", form=form, preview=preview, candidates=candidates,
                           suggestions=list(suggestions.values()), notice=notice, kind_text=KIND_TEXT,
                           not_found=NOT_FOUND), status


def _audit(findings: tuple[StudentFinding, ...], stage: str, ticket_id: int | None = None) -> None:
    # The detail names the stage and the outcome, never the student.
    for finding in findings:
        if finding.outcome != "name_only":
            audit_view("student_lookup", ticket_id=ticket_id, detail=f"{stage}:{finding.outcome}")


@bp.get("/calls/new", endpoint="call_new")
@role_required(*CALL_ROLES)
def new_call() -> tuple[str, int]:
    return _page(CallForm(formdata=None))


@bp.post("/calls/new", endpoint="call_post")
@role_required(*CALL_ROLES)
def post_call() -> Response | tuple[str, int]:
    form, action = CallForm(), request.form.get("action")
    if action == "start":  # from the student lookup page: the form filled in, nothing checked yet
        form.previewed.data = ""
        return _page(form)
    form.validate()  # the CSRF token was checked before the view (CSRFProtect)
    session, principal = db.session(), _user()
    preview, candidates = call_preview.prepare(session, principal, form)
    if preview is None:
        form.previewed.data = ""
        return _page(form, candidates=candidates, status=400)
    notice = None
    if action == "save":
        if form.previewed.data != preview.fingerprint:
            notice = CHANGED
        elif form.refer.data and not preview.can_refer:
            notice = NOT_OFFERED
        else:
            return _save(form, preview, principal)
    _audit(preview.students, "call_preview")
    form.previewed.data = preview.fingerprint
    form.refer.data = form.refer.data and preview.can_refer
    return _page(form, preview, candidates, notice)


def _save(form: CallForm, preview: Preview, principal: Principal) -> Response | tuple[str, int]:
    session = db.session()
    try:
        ticket = workflow.create_ticket(session, call_preview.new_ticket(form, preview, principal),
                                        principal.actor)
        # 2014 notice item 2: the caller was given the lower unit's hotline instead of forwarding.
        referred = workflow.refer_caller(session, ticket, principal.actor) if form.refer.data else None
    except (workflow.TicketError, CalendarError) as exc:
        session.rollback()
        field = getattr(form, getattr(exc, "field", None) or "", None)
        (field.errors if field is not None else form.form_errors).append(getattr(exc, "message", str(exc)))
        form.previewed.data = ""
        return _page(form, status=400)
    _audit(preview.students, "call_save", ticket.id)
    session.commit()
    flash(f"已受理，工单号 {ticket.number}", "ticket")
    if referred:
        flash(f"{referred}。工单已办结。", "info")
    # The ticket page (hotline.console.tickets) lives at the path the issue fixes.
    return redirect(f"{bp.url_prefix}/tickets/{ticket.number}")


@bp.get("/schools/search", endpoint="school_search")
@login_required
def school_search() -> tuple[str, int]:
    text = request.args.get("q", "")
    error, hits = None, []
    if len(text) > 64:
        error = "查询内容不能超过 64 个字"
    elif text.strip():
        query = call_search.normal_query(text)
        if len(query) < call_search.MIN_QUERY:
            error = f"请至少输入 {call_search.MIN_QUERY} 个字或数字"
        else:
            hits = call_search.search_schools(db.session(), query, limit=call_search.SEARCH_LIMIT + 1)
    return render_template("console/calls/schools.html", q=text[:64], hits=hits[:call_search.SEARCH_LIMIT],
                           more=len(hits) > call_search.SEARCH_LIMIT, error=error,
                           limit=call_search.SEARCH_LIMIT), 400 if error else 200


@bp.route("/students/lookup", methods=["GET", "POST"], endpoint="student_lookup")
@role_required(*CALL_ROLES)
def student_lookup() -> tuple[str, int]:
    form = StudentLookupForm()
    finding = None
    if form.validate_on_submit():
        try:
            query = parse_query({"name": form.name.data, "id_number": form.id_number.data}, way="id")
        except NumberError as exc:
            getattr(form, exc.field).errors.append(exc.message)
        else:
            finding = call_search.look_up([query])[0]
            _audit((finding,), "console")
    status = 400 if request.method == "POST" and finding is None else 200
    return render_template("console/calls/lookup.html", form=form, finding=finding, kind_text=KIND_TEXT,
                           not_found=NOT_FOUND), status
