"""The directory pages: units' published channels (/console/directory) and the registrars'
address book (/console/directory/registrars), for a unit of the user's jurisdiction (``?unit=``).

Everyone logged in may read them for their unit and the units below it (a
unit elsewhere answers 404, as if it did not exist); administrators edit
them, with the password re-entered (hotline.console.directory_ops says why a
parent's administrator may edit the units below). The address book holds
staff's personal data: showing another unit's entries, and every export, is
audited (access_audit, ``what`` = "registrars" / "registrars_csv").
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import HiddenField, StringField

from hotline import db
from hotline.console import directory_ops as ops
from hotline.console.access import (
    Principal,
    audit_view,
    client_address,
    current_user,
    reauth_required,
    role_required,
    scope_codes,
)
from hotline.console.blueprint import bp, when
from hotline.console.csvout import to_csv
from hotline.console.directory_models import CHANNEL_TEXT, Registrar
from hotline.console.models import ROLES
from lookup.models import Unit

EXPORT_ROLES = ("supervisor", "admin")
LIST_LIMIT = 500
EXPORT_LIMIT = 50_000
_CODE_MAX = 12


class ChannelsForm(FlaskForm):
    phone = StringField("投诉电话")
    email = StringField("投诉邮箱")
    hours = StringField("受理时间")
    next = HiddenField()


class RegistrarForm(FlaskForm):
    registrar_id = HiddenField()
    name = StringField("姓名")
    title = StringField("职务")
    office_phone = StringField("办公电话")
    mobile = StringField("手机")
    email = StringField("邮箱")
    next = HiddenField()


class StatusForm(FlaskForm):
    registrar_id = HiddenField()
    active = HiddenField()
    next = HiddenField()


def _user() -> Principal:
    user = current_user()
    assert user is not None  # role_required
    return user


def _unit() -> Unit:
    """The unit asked for (default: the user's own), if in the jurisdiction; else 404."""
    user, session = _user(), db.session()
    code = request.args.get("unit", "").strip() or user.unit_code
    if len(code) > _CODE_MAX or code not in scope_codes(session, user.unit_code):
        abort(404)
    unit = session.get(Unit, code)
    if unit is None:
        abort(404)
    return unit


def _editor() -> ops.Editor:
    user = _user()
    return ops.Editor(user.user_id, user.name or user.username, user.unit_code, client_address())


def _trail(session: Session, unit: Unit, top: str) -> list[tuple[str, str]]:
    """(code, name) from the user's own unit down to ``unit``."""
    trail, current = [], unit
    while current is not None:
        trail.append((current.code, current.name))
        if current.code == top or current.parent_code is None:
            break
        current = session.get(Unit, current.parent_code)
    return trail[::-1]


def _directory_page(unit: Unit, form: ChannelsForm | None = None, status: int = 200) -> tuple[str, int]:
    user, session = _user(), db.session()
    children = session.scalars(select(Unit).where(Unit.parent_code == unit.code).order_by(Unit.code)).all()
    if form is None and user.role == "admin":
        form = ChannelsForm(formdata=None, data={"phone": unit.complaint_phone, "email": unit.complaint_email,
                                                 "hours": unit.complaint_hours})
    if form is not None:
        form.next.data = url_for("console.directory", unit=unit.code)
    return render_template("console/directory.html", unit=unit, children=children, form=form,
                           history=ops.channel_history(session, unit.code), field_text=CHANNEL_TEXT,
                           trail=_trail(session, unit, user.unit_code)), status


@bp.get("/directory", endpoint="directory")
@role_required(*ROLES)
def directory() -> tuple[str, int]:
    return _directory_page(_unit())


@bp.post("/directory/channels", endpoint="directory_channels")
@role_required("admin")
@reauth_required
def channels() -> Response | tuple[str, int]:
    unit, form = _unit(), ChannelsForm()
    if form.validate_on_submit():
        try:
            changes = ops.update_channels(db.session(), unit, _editor(), phone_value=form.phone.data,
                                          email_value=form.email.data, hours_value=form.hours.data)
        except ops.DirectoryError as exc:
            db.session().rollback()
            getattr(form, exc.field or "phone").errors.append(str(exc))
        else:
            db.session().commit()
            done = f"已发布 {unit.name} 的新受理渠道，公众查询页面即时生效。"
            flash(done if changes else "没有需要保存的修改。", "info")
            return redirect(url_for("console.directory", unit=unit.code))
    return _directory_page(unit, form, 400)


# The address book.

def _registrar(unit: Unit, raw: str | None) -> Registrar:
    """The entry named by ``raw`` if it is of ``unit`` or a unit below it; else 404."""
    if not raw or not raw.isdigit() or len(raw) > 9:
        abort(404)
    registrar = db.session().get(Registrar, int(raw))
    if registrar is None or registrar.unit_code not in scope_codes(db.session(), unit.code):
        abort(404)
    return registrar


def _registrars(session: Session, unit: Unit, inactive: bool,
                limit: int = LIST_LIMIT + 1) -> list[tuple[Registrar, str]]:
    query = (select(Registrar, Unit.name).join(Unit, Unit.code == Registrar.unit_code)
             .where(Registrar.unit_code.in_(sorted(scope_codes(session, unit.code))))
             .order_by(Registrar.unit_code, Registrar.active.desc(), Registrar.name, Registrar.id)
             .limit(limit))
    if not inactive:
        query = query.where(Registrar.active.is_(True))
    return [(registrar, name) for registrar, name in session.execute(query)]


def _audit_others(rows: list[tuple[Registrar, str]], unit: Unit, what: str) -> None:
    # 等保: a view of personal data outside the user's own unit is recorded
    # (who, when, which unit's book, how many entries; never the entries).
    user = _user()
    others = [r for r, _ in rows if r.unit_code != user.unit_code]
    if others or what == "registrars_csv":
        audit_view(what, detail=f"unit={unit.code} rows={len(rows)}")


def _registrars_page(unit: Unit, form: RegistrarForm | None = None, status: int = 200) -> tuple[str, int]:
    user, session = _user(), db.session()
    inactive = request.args.get("inactive") == "1"
    rows = _registrars(session, unit, inactive)
    if user.role == "admin" and form is None:
        editing = request.args.get("edit")
        if editing:
            r = _registrar(unit, editing)
            form = RegistrarForm(formdata=None, data={
                "registrar_id": str(r.id), "name": r.name, "title": r.title, "office_phone": r.office_phone,
                "mobile": r.mobile, "email": r.email})
        else:
            form = RegistrarForm(formdata=None)
    page = url_for("console.registrars", unit=unit.code, inactive="1" if inactive else None)
    if form is not None:
        form.next.data = page
    _audit_others(rows, unit, "registrars")
    status_form = StatusForm(formdata=None, data={"next": page})
    return render_template("console/directory_registrars.html", unit=unit, rows=rows[:LIST_LIMIT],
                           more=len(rows) > LIST_LIMIT, form=form, status_form=status_form,
                           inactive=inactive, can_export=user.role in EXPORT_ROLES, limit=LIST_LIMIT,
                           trail=_trail(session, unit, user.unit_code)), status


@bp.get("/directory/registrars", endpoint="registrars")
@role_required(*ROLES)
def registrars() -> tuple[str, int]:
    return _registrars_page(_unit())


@bp.post("/directory/registrars", endpoint="registrar_save")
@role_required("admin")
@reauth_required
def registrar_save() -> Response | tuple[str, int]:
    unit, form = _unit(), RegistrarForm()
    existing = _registrar(unit, form.registrar_id.data) if form.registrar_id.data else None
    if form.validate_on_submit():
        fields = {"name": form.name.data, "title": form.title.data, "office_phone": form.office_phone.data,
                  "mobile_value": form.mobile.data, "email_value": form.email.data}
        try:
            if existing is None:
                ops.add_registrar(db.session(), unit.code, _editor(), **fields)
                message = f"已在 {unit.name} 的通讯录中添加一条记录。"
            else:
                changed = ops.edit_registrar(db.session(), existing, _editor(), **fields)
                message = "通讯录记录已保存。" if changed else "没有需要保存的修改。"
        except ops.DirectoryError as exc:
            db.session().rollback()
            getattr(form, exc.field or "name").errors.append(str(exc))
        else:
            db.session().commit()
            flash(message, "info")
            return redirect(url_for("console.registrars", unit=unit.code))
    return _registrars_page(unit, form, 400)


@bp.post("/directory/registrars/status", endpoint="registrar_status")
@role_required("admin")
@reauth_required
def registrar_status() -> Response | tuple[str, int]:
    unit, form = _unit(), StatusForm()
    if not form.validate_on_submit() or form.active.data not in ("0", "1"):
        flash("请求不完整，请在通讯录页面重新操作。", "error")
        return _registrars_page(unit, status=400)
    registrar = _registrar(unit, form.registrar_id.data)
    active = form.active.data == "1"
    changed = ops.set_registrar_active(db.session(), registrar, _editor(), active)
    db.session().commit()
    done = "已恢复该记录。" if active else "已停用该记录（保留备案，不再显示在通讯录中）。"
    flash(done if changed else "该记录本来就是这个状态。", "info")
    return redirect(url_for("console.registrars", unit=unit.code, inactive="1" if not active else None))


@bp.get("/directory/registrars.csv", endpoint="registrars_csv")
@role_required(*EXPORT_ROLES)
def registrars_csv() -> Response:
    unit, session = _unit(), db.session()
    rows = _registrars(session, unit, request.args.get("inactive") == "1", limit=EXPORT_LIMIT)
    _audit_others(rows, unit, "registrars_csv")
    header = ("单位代码", "单位", "姓名", "职务", "办公电话", "手机", "邮箱", "状态", "更新时间")
    body = [(r.unit_code, name, r.name, r.title, r.office_phone, r.mobile, r.email,
             "在岗" if r.active else "已停用", when(r.updated_at)) for r, name in rows]
    filename = f"registrars-{unit.code}.csv"
    return Response(to_csv(header, body), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
