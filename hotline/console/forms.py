"""The console's account forms (Flask-WTF: each carries and checks its CSRF token).

Fields are checked for presence and length here; what a value must be (a
user name's shape, the password policy, a unit in the administrator's
jurisdiction) is checked by the operation, which says so in Chinese.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import EqualTo, InputRequired, Length, Optional

from hotline.console.models import ROLE_TEXT, ROLES
from hotline.console.passwords import MAX_LENGTH

try:  # WTForms 3.3 deprecates choices given as tuples
    from wtforms.fields.choices import SelectChoice

    _ROLE_CHOICES: list = [SelectChoice(role, ROLE_TEXT[role]) for role in ROLES]
except ImportError:  # pragma: no cover - WTForms before 3.3
    _ROLE_CHOICES = [(role, ROLE_TEXT[role]) for role in ROLES]


def _required(what: str) -> InputRequired:
    return InputRequired(f"请填写{what}")


def _password(label: str) -> PasswordField:
    return PasswordField(label, validators=[_required(label), Length(max=MAX_LENGTH, message=f"{label}过长")])


def _confirm(label: str = "确认新密码") -> PasswordField:
    return PasswordField(label, validators=[_required(label), EqualTo("password", "两次输入的密码不一致")])


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[_required("用户名"), Length(max=64, message="用户名过长")])
    password = _password("密码")
    next = HiddenField()


class ReauthForm(FlaskForm):
    password = _password("密码")
    next = HiddenField()


class PasswordChangeForm(FlaskForm):
    current = _password("当前密码")
    password = _password("新密码")
    confirm = _confirm()


class _AccountFields(FlaskForm):
    name = StringField("姓名", validators=[Optional(), Length(max=64, message="姓名不能超过 64 个字")])
    unit_code = StringField("单位代码", validators=[_required("单位代码"),
                                                    Length(max=12, message="单位代码过长")])
    # A tampered value is refused by the operation, in Chinese (WTForms would answer in English).
    role = SelectField("角色", choices=_ROLE_CHOICES, validate_choice=False)
    next = HiddenField()


class CreateUserForm(_AccountFields):
    username = StringField("用户名", validators=[_required("用户名"),
                                                Length(max=32, message="用户名不能超过 32 个字符")])
    password = _password("初始密码")
    confirm = _confirm("确认初始密码")


class EditUserForm(_AccountFields):
    pass


class ResetPasswordForm(FlaskForm):
    password = _password("新密码")
    confirm = _confirm()
    next = HiddenField()


class ActionForm(FlaskForm):
    """A button that changes something (disable, enable, unlock, log out): the token is the form."""

    next = HiddenField()
