"""Handlers of logging in and out, re-entering the password, and changing it."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from hotline import db
from hotline.console import access
from hotline.console.accounts import AccountError, User, change_own_password, end_sessions
from hotline.console.blueprint import bp
from hotline.console.forms import LoginForm, PasswordChangeForm, ReauthForm
from hotline.console.login import audit, authenticate, reauthenticate

# One answer for every refused login (unknown user name, wrong password,
# locked or disabled account): the page must not tell which user names exist,
# nor, during a lockout, whether the password was right.
FAILED = ("用户名或密码不正确，或账号暂时不能登录。连续输错 {failures} 次密码，账号将锁定 {minutes} 分钟。"
          "如需帮助，请联系本单位系统管理员。")


def _next(form_value: str | None) -> str | None:
    return access.safe_next(form_value if request.method == "POST" else request.args.get("next"))


def _account() -> User:
    user = access.current_user()
    assert user is not None  # the views below are login_required
    return db.session().get(User, user.user_id)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    form = LoginForm()
    target = _next(form.next.data)
    if request.method == "GET":
        if access.current_user() is not None:
            return redirect(target or url_for("console.home"))
        form.next.data = target or ""
        return render_template("console/login.html", form=form, error=None)
    if not form.validate_on_submit():
        return render_template("console/login.html", form=form, error=None), 400
    policy = access.lockout_policy()
    user = authenticate(db.session(), form.username.data, form.password.data,
                        client=access.client_address(), lockout=policy)
    db.session().commit()  # the audit row (and any lockout) is kept whatever the answer
    if user is None:
        error = FAILED.format(failures=policy.failures, minutes=policy.minutes)
        return render_template("console/login.html", form=form, error=error)
    access.start_session(user)
    return redirect(target or url_for("console.home"))


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    if access.current_user() is not None:
        account = _account()
        # The cookie is signed, not stored: bumping the version is what makes
        # a copy of it (another tab, another machine, a thief's) stop working.
        end_sessions(account)
        audit(db.session(), "logout", client=access.client_address(), user=account)
        db.session().commit()
    access.end_session()
    flash("您已退出登录。", "info")
    return redirect(url_for("console.login"))


@bp.route("/reauth", methods=["GET", "POST"])
@access.login_required
def reauth() -> Response | str | tuple[str, int]:
    form = ReauthForm()
    target = _next(form.next.data)
    if request.method == "GET":
        form.next.data = target or ""
        return render_template("console/reauth.html", form=form, error=None)
    if not form.validate_on_submit():
        return render_template("console/reauth.html", form=form, error=None), 400
    account = _account()
    version = account.session_version
    ok = reauthenticate(db.session(), account, form.password.data, client=access.client_address(),
                        lockout=access.lockout_policy())
    db.session().commit()
    if ok:
        access.mark_reauthenticated()
        return redirect(target or url_for("console.home"))
    if account.session_version != version:
        # Too many wrong passwords: the account is locked and this session ended.
        access.end_session()
        flash("连续多次输错密码，账号已锁定，本次登录已结束。", "error")
        return redirect(url_for("console.login"))
    return render_template("console/reauth.html", form=form, error="密码不正确，请重新输入。")


@bp.route("/password", methods=["GET", "POST"])
@access.login_required
def password() -> Response | str | tuple[str, int]:
    form = PasswordChangeForm()
    if request.method == "GET":
        return render_template("console/password.html", form=form)
    if form.validate_on_submit():
        account = _account()
        try:
            change_own_password(db.session(), account, form.current.data, form.password.data,
                                client=access.client_address())
        except AccountError as exc:
            db.session().rollback()
            getattr(form, exc.field or "password").errors.append(str(exc))
        else:
            db.session().commit()
            # This session goes on under the new version (and the current
            # password just typed counts as re-entering it).
            access.start_session(account)
            flash("密码已修改。您在其他地方的登录已全部失效。", "info")
            return redirect(url_for("console.home"))
    return render_template("console/password.html", form=form), 400
