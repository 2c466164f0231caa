"""The forms of call logging (来电登记) and of the console's student lookup (Flask-WTF, CSRF).

Fields are checked here for presence, length and the values a select may
take, with the messages in Chinese. What needs the registry (which school a
name means, whether a 学校标识码 exists, whether a student is found) is
checked by :mod:`hotline.console.call_preview`, which adds its errors to the
same fields.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import AnyOf, InputRequired, Length, Optional

from hotline.tickets.contacts import ContactError, normalize_email, normalize_phone
from hotline.tickets.intake import CATEGORY_TEXT
from lookup.inputs import MAX_FIELD

# Who is calling, as the complainant record keeps it (complainants.relation).
RELATIONS = ("家长", "学生本人", "学校", "其他")
STUDENT_ROWS = 2  # most calls are about one child; siblings are the second row
MAX_SCHOOLS_TEXT = 600  # twenty 学校标识码 with separators, or a few names
MAX_DESCRIPTION = 4000

try:  # WTForms 3.3 deprecates choices given as tuples
    from wtforms.fields.choices import SelectChoice

    def _choices(pairs: list[tuple[str, str]]) -> list:
        return [SelectChoice(value, label) for value, label in pairs]
except ImportError:  # pragma: no cover - WTForms before 3.3
    def _choices(pairs: list[tuple[str, str]]) -> list:
        return pairs


def _too_long(what: str, limit: int) -> Length:
    return Length(max=limit, message=f"{what}不能超过 {limit} 个字")


class StudentEntry(Form):
    """One student the caller names: a plain WTForms form inside the call form (one CSRF token)."""

    name = StringField("学生姓名", validators=[Optional(), _too_long("学生姓名", MAX_FIELD)])
    id_number = StringField("身份证号", validators=[Optional(), _too_long("身份证号", MAX_FIELD)])


class CallForm(FlaskForm):
    """Everything an agent takes down during a call, in the order the call usually goes."""

    caller_name = StringField("来电人姓名", validators=[Optional(), _too_long("来电人姓名", 64)])
    # validate_choice=False: a tampered value gets the Chinese message of AnyOf, not WTForms' English one.
    relation = SelectField("与学生的关系", choices=_choices([(r, r) for r in RELATIONS]),
                           default=RELATIONS[0], validate_choice=False,
                           validators=[AnyOf(RELATIONS, message="请选择来电人与学生的关系")])
    phone = StringField("联系电话", validators=[_too_long("联系电话", 32)])
    email = StringField("电子邮箱", validators=[_too_long("电子邮箱", 254)])
    category = SelectField("问题类别", choices=_choices(list(CATEGORY_TEXT.items())), default="consultation",
                           validate_choice=False,
                           validators=[AnyOf(tuple(CATEGORY_TEXT), message="请选择问题类别")])
    schools = StringField("涉及的学校", validators=[Optional(), _too_long("涉及的学校", MAX_SCHOOLS_TEXT)])
    students = FieldList(FormField(StudentEntry), min_entries=STUDENT_ROWS, max_entries=STUDENT_ROWS)
    subject = StringField("事由", validators=[InputRequired("请填写事由"), _too_long("事由", 200)])
    description = TextAreaField("问题描述", validators=[InputRequired("请填写问题描述"),
                                                    _too_long("问题描述", MAX_DESCRIPTION)])
    # Offered on the preview only, when a lower unit with a published channel is responsible.
    refer = BooleanField("已告知来电人下级单位的受理电话和邮箱：登记后工单即办结，不再逐级转办")
    # What the preview showed, as a keyed fingerprint (hotline.console.call_preview.fingerprint).
    previewed = HiddenField()

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Each row's labels say which student they are about (the fields' accessible names).
        for number, entry in enumerate(self.students, start=1):
            entry.form.name.label.text = f"学生 {number} 姓名"
            entry.form.id_number.label.text = f"学生 {number} 身份证号"

    def validate_phone(self, field: StringField) -> None:
        try:
            phone = normalize_phone(field.data)
        except ContactError as exc:
            raise ValidationError(exc.message) from None
        if phone is None and not (self.email.data or "").strip():
            # The complainant is told the result through one of them (hotline.tickets.intake).
            raise ValidationError("请至少留下一种联系方式：电话或电子邮箱")

    def validate_email(self, field: StringField) -> None:
        try:
            normalize_email(field.data)
        except ContactError as exc:
            raise ValidationError(exc.message) from None


class StudentLookupForm(FlaskForm):
    """The console's lookup of a student by name and ID number (POST: the number stays out of URLs)."""

    name = StringField("学生姓名", validators=[InputRequired("请输入学生姓名"),
                                             _too_long("学生姓名", MAX_FIELD)])
    id_number = StringField("身份证号", validators=[InputRequired("请输入身份证号"),
                                                  _too_long("身份证号", MAX_FIELD)])
