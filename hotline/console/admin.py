"""The administrators' accounts page: list, create, change, disable, enable, unlock, reset.

Only the ``admin`` role, only for accounts of the administrator's unit and
the units below it (another unit's account answers 404), and every page and
action only with the password re-entered in the last 5 minutes (等保 level 3).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from hotline import db
from hotline.console import accounts
from hotline.console.access import (
    Principal,
    client_address,
    current_user,
    reauth_required,
    role_required,
    scope_codes,
)
from hotline.console.accounts import AccountError, User
from hotline.console.blueprint import bp
from hotline.console.forms import ActionForm, CreateUserForm, EditUserForm, ResetPasswordForm
from hotline.console.models import LoginAudit
from lookup.models import Unit

LIST_LIMIT = 300
OUTCOME_TEXT = {
    "success": "登录成功", "bad_password": "密码错误", "unknown_user": "用户名不存在", "locked": "账号锁定中",
    "lockout": "连续失败，账号锁定", "disabled": "账号已停用", "logout": "退出登录", "timeout": "超时退出",
    "reauth": "再次确认密码", "reauth_failed": "再次确认密码失败",
}


def _admin() -> Principal:
    user = current_user()
    assert user is not None  # role_required
    return user


def _list_page(create: CreateUserForm, status: int = 200) -> tuple[str, int]:
    admin, session = _admin(), db.session()
    unit = accounts.printable(request.args.get("unit", "")).strip()[:12] or admin.unit_code
    if unit not in scope_codes(session, admin.unit_code):
        flash(f"单位代码 {unit} 不存在或不在您的管辖范围内，已显示本单位及下级单位的账号。", "error")
        unit = admin.unit_code
    search = request.args.get("q", "").strip()[:32]
    users = accounts.list_users(session, unit, search=search, limit=LIST_LIMIT + 1)
    units = _unit_names(session, {u.unit_code for u in users} | {unit})
    create.next.data = url_for("console.admin_users")
    if not create.unit_code.data:
        create.unit_code.data = admin.unit_code
    return render_template("console/admin/users.html", users=users[:LIST_LIMIT],
                           more=len(users) > LIST_LIMIT, units=units, unit=unit, search=search,
                           create=create, limit=LIST_LIMIT), status


def _unit_names(session: Session, codes: set[str]) -> dict[str, str]:
    rows = session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(sorted(codes))))
    return {code: name for code, name in rows}


def _target(user_id: int) -> User:
    user = accounts.managed(db.session(), _admin(), user_id)
    if user is None:
        abort(404)
    return user


def _account_page(target: User, status: int = 200, **forms: FlaskForm) -> tuple[str, int]:
    session = db.session()
    page = url_for("console.admin_user", user_id=target.id)
    edit = forms.get("edit") or EditUserForm(data={"name": target.name, "unit_code": target.unit_code,
                                                   "role": target.role})
    reset = forms.get("reset") or ResetPasswordForm()
    action = ActionForm()
    for form in (edit, reset, action):
        form.next.data = page
    recent = session.scalars(select(LoginAudit).where(LoginAudit.user_id == target.id)
                             .order_by(LoginAudit.id.desc()).limit(20)).all()
    unit_name = _unit_names(session, {target.unit_code}).get(target.unit_code, "")
    return render_template("console/admin/user.html", target=target, edit=edit, reset=reset, action=action,
                           recent=recent, outcome_text=OUTCOME_TEXT, unit_name=unit_name), status


def _refused(form: FlaskForm, exc: AccountError) -> None:
    db.session().rollback()
    field = getattr(form, exc.field, None) if exc.field else None
    (field.errors if field is not None else form.form_errors).append(str(exc))


@bp.get("/admin/users", endpoint="admin_users")
@role_required("admin")
@reauth_required
def users() -> tuple[str, int]:
    return _list_page(CreateUserForm(formdata=None))


@bp.post("/admin/users", endpoint="admin_create")
@role_required("admin")
@reauth_required
def create() -> Response | tuple[str, int]:
    form = CreateUserForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                db.session(), username=form.username.data, unit_code=form.unit_code.data,
                role=form.role.data, password=form.password.data, name=form.name.data,
                actor=_admin(), client=client_address())
        except AccountError as exc:
            _refused(form, exc)
        else:
            db.session().commit()
            flash(f"已创建账号 {user.username}。", "info")
            return redirect(url_for("console.admin_user", user_id=user.id))
    return _list_page(form, 400)


@bp.get("/admin/users/<int:user_id>", endpoint="admin_user")
@role_required("admin")
@reauth_required
def account(user_id: int) -> tuple[str, int]:
    return _account_page(_target(user_id))


@bp.post("/admin/users/<int:user_id>/edit", endpoint="admin_edit")
@role_required("admin")
@reauth_required
def edit(user_id: int) -> Response | tuple[str, int]:
    target, form = _target(user_id), EditUserForm()
    if form.validate_on_submit():
        try:
            changes = accounts.update_user(db.session(), target, name=form.name.data,
                                           unit_code=form.unit_code.data, role=form.role.data,
                                           actor=_admin(), client=client_address())
        except AccountError as exc:
            _refused(form, exc)
        else:
            db.session().commit()
            flash("账号信息已保存。" if changes else "没有需要保存的修改。", "info")
            return redirect(url_for("console.admin_user", user_id=target.id))
    return _account_page(target, 400, edit=form)


@bp.post("/admin/users/<int:user_id>/password", endpoint="admin_reset")
@role_required("admin")
@reauth_required
def reset(user_id: int) -> Response | tuple[str, int]:
    target, form = _target(user_id), ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(db.session(), target, form.password.data, actor=_admin(),
                                    client=client_address())
        except AccountError as exc:
            _refused(form, exc)
        else:
            db.session().commit()
            flash(f"已重置 {target.username} 的密码，其所有登录已失效。请通过安全渠道告知本人。", "info")
            return redirect(url_for("console.admin_user", user_id=target.id))
    return _account_page(target, 400, reset=form)


def _action(name: str, operation: Callable[..., bool], done: str, nothing: str) -> None:
    def view(user_id: int) -> Response | tuple[str, int]:
        target = _target(user_id)
        try:
            changed = operation(db.session(), target, actor=_admin(), client=client_address())
        except AccountError as exc:
            db.session().rollback()
            flash(str(exc), "error")
            return _account_page(target, 400)
        db.session().commit()
        flash((done if changed else nothing).format(username=target.username), "info")
        return redirect(url_for("console.admin_user", user_id=target.id))

    view.__name__ = f"admin_{name}"
    bp.post(f"/admin/users/<int:user_id>/{name}", endpoint=f"admin_{name}")(
        role_required("admin")(reauth_required(view)))


_action("disable", accounts.disable_user, "已停用账号 {username}，其所有登录已立即失效。",
        "账号 {username} 已是停用状态。")
_action("enable", accounts.enable_user, "已启用账号 {username}。", "账号 {username} 本来就是启用状态。")
_action("unlock", accounts.unlock_user, "已解除账号 {username} 的锁定。", "账号 {username} 没有被锁定。")
