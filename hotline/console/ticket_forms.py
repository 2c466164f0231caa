"""The queue's filter form and the ticket page's action forms (Flask-WTF).

The action forms carry a CSRF token each and check only length: whether a
field may be empty, and what a value must be, is the workflow's to say, in
its own words (``TicketError``), so the page and the workflow never disagree.
The queue's form is a GET form without a token: filtering changes nothing,
and its URL is meant to be bookmarked.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from hotline.tickets.intake import CATEGORY_TEXT, CHANNEL_TEXT
from hotline.tickets.models import CATEGORIES, CHANNELS, STEPS
from hotline.tickets.notes import MAX_NOTE
from hotline.tickets.outbox import MAX_BODY
from hotline.tickets.steps import STEP_TEXT

try:  # WTForms 3.3 deprecates choices given as tuples
    from wtforms.fields.choices import SelectChoice as _Choice
except ImportError:  # pragma: no cover - WTForms before 3.3
    def _Choice(value: str, label: str) -> tuple[str, str]:  # noqa: N802
        return value, label

MAX_TEXT = 4000  # a form's facts, opinion or result; a closing answer
MAX_REASON = 1000
MAX_CODES = 200  # a few unit or school codes


def _choices(pairs: list[tuple[str, str]]) -> list:
    return [_Choice(value, label) for value, label in pairs]


def _text(label: str, limit: int) -> TextAreaField:
    return TextAreaField(label, validators=[Length(max=limit, message=f"{label}不能超过 {limit} 字")])


def _line(label: str, limit: int) -> StringField:
    return StringField(label, validators=[Length(max=limit, message=f"{label}过长")])


STATUS_TEXT = {"open": "未办结", "closed": "已办结", "all": "全部"}


class QueueFilter(FlaskForm):
    """The queue's filters, read from the query string."""

    class Meta:
        csrf = False

    q = _line("工单编号或事由", 64)
    status = SelectField("状态", choices=_choices(list(STATUS_TEXT.items())), default="open",
                         validate_choice=False)
    step = SelectField("环节", choices=_choices([("", "全部环节")] + [(s, STEP_TEXT[s]) for s in STEPS]),
                       default="", validate_choice=False)
    channel = SelectField("渠道", choices=_choices([("", "全部渠道")]
                                                   + [(c, CHANNEL_TEXT[c]) for c in CHANNELS]),
                          default="", validate_choice=False)
    category = SelectField("类别", choices=_choices([("", "全部类别")]
                                                    + [(c, CATEGORY_TEXT[c]) for c in CATEGORIES]),
                           default="", validate_choice=False)
    overdue = BooleanField("已超期")
    soon = BooleanField("2 个工作日内到期")
    mine = BooleanField("仅本单位待办")


class ButtonForm(FlaskForm):
    """An action with nothing to fill in (forward, refer, resume, show the contact): the token is the form."""


class AssignForm(FlaskForm):
    schools = _line("涉及学校（学校标识码）", MAX_CODES)
    unit_code = _line("或直接指定负责单位（单位代码）", 12)
    reason = _line("指定理由", MAX_REASON)


class AnswerForm(FlaskForm):
    answer = _text("答复内容", MAX_TEXT)


class ConfirmForm(FlaskForm):
    reply = _text("告知投诉人的办理结果", MAX_TEXT)


class DisputeForm(FlaskForm):
    reason = _text("异议理由", MAX_REASON)


class ReopenForm(FlaskForm):
    reason = _text("重新办理的理由", MAX_REASON)


class PauseForm(FlaskForm):
    reason = _text("暂停原因", MAX_REASON)


class RuleForm(FlaskForm):
    responsible_code = _line("裁定的负责单位（单位代码）", 12)
    reason = _text("裁定理由", MAX_REASON)


class VerificationForm(FlaskForm):
    related_units = _line("核查单位（单位代码，多个用逗号分隔）", MAX_CODES)
    facts = _text("需要核查的事项", MAX_TEXT)


class SupervisionForm(FlaskForm):
    handling_unit = _line("承办单位（单位代码）", 12)
    opinion = _text("办理意见", MAX_TEXT)


class ResultForm(FlaskForm):
    result = _text("核查或办理情况", MAX_TEXT)


class CorrectForm(FlaskForm):
    body = _text("更正后的内容", MAX_TEXT)


class NoteForm(FlaskForm):
    text = _text("备注内容", MAX_NOTE)


class ReplyForm(FlaskForm):
    body = _text("答复内容", MAX_BODY)


# The form behind each action of hotline.console.ticket_roles.ACTION_ROLES.
ACTION_FORMS: dict[str, type[FlaskForm]] = {
    "contact": ButtonForm, "note": NoteForm, "reply": ReplyForm, "assign": AssignForm,
    "forward": ButtonForm, "refer": ButtonForm, "close_answered": AnswerForm, "confirm": ConfirmForm,
    "reopen": ReopenForm, "dispute": DisputeForm, "rule": RuleForm, "issue_verification": VerificationForm,
    "issue_supervision": SupervisionForm, "return_form": ResultForm, "relay": ButtonForm,
    "correct_form": CorrectForm, "pause": PauseForm, "resume": ButtonForm,
}
