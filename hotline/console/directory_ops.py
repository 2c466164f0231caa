"""The directory's rules and writes: who may edit a unit's entries, what a value may be, the history.

Who may edit: an administrator (role ``admin``) of the unit or of a unit
above it — the same jurisdiction as the accounts page (hotline.console.admin).
A parent's administrator may edit the units below because the 2014 notice
(item 4) has each level publish the list of the levels below it (the
ministry the provinces', a province its prefectures' and counties'), and
many county units have no administrator account of their own. Nobody edits
a unit outside their jurisdiction: it answers 404 in the views.

Every operation flushes and never commits: the view commits (one request,
one transaction); a :class:`DirectoryError` changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.console.accounts import now
from hotline.console.directory_models import CHANNEL_FIELDS, Registrar, UnitChannelChange
from lookup.models import Unit

# One number: digits in groups joined by hyphens (010-66097315, 0311-86012345,
# 13800138000), optionally an extension (转 8). Several numbers are joined by 、.
_NUMBER = r"[0-9]{3,}(?:-[0-9]{1,})*(?:转[0-9]{1,6})?"
_PHONES = re.compile(rf"{_NUMBER}(?:、{_NUMBER}){{0,3}}")
_MOBILE = re.compile(r"1[0-9]{10}")
# The shape of an address, as the unit import checks it (lookup.registry), ASCII only.
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
LIMITS = {"phone": 64, "email": 128, "hours": 128, "name": 32, "title": 32, "office_phone": 32,
          "mobile": 16}


class DirectoryError(ValueError):
    """Input the user must correct; ``field`` names the form field, the message is shown as is."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def clean(text: str | None) -> str:
    """NFKC (full-width digits and ＠ become ASCII), control characters dropped, trimmed.

    >>> clean(" ０３１１－８６０１２３４５\\x00 ")
    '0311-86012345'
    """
    text = unicodedata.normalize("NFKC", text or "")
    return "".join(c for c in text if not unicodedata.category(c).startswith("C")).strip()


def phone(value: str | None, field: str = "phone", what: str = "电话") -> str | None:
    """A published or office phone: numbers of digits and hyphens, several joined by 、.

    >>> phone("0311-86012345、0311-86012346"), phone("0311 86012345"), phone("")
    ('0311-86012345、0311-86012346', '0311-86012345', None)
    >>> phone("<script>")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hotline.console.directory_ops.DirectoryError: 电话只能由数字和连字符组成，...
    """
    text = clean(value).replace("，", "、").replace(",", "、")
    if not text:
        return None
    if len(text) > LIMITS[field]:
        raise DirectoryError(f"{what}不能超过 {LIMITS[field]} 个字符", field)
    # A space inside a number is how people type the area code (0311 86012345): read as a hyphen.
    text = re.sub(r"\s*、\s*", "、", text)
    text = re.sub(r"(?<=[0-9])\s+(?=[0-9])", "-", text)
    if not _PHONES.fullmatch(text):
        raise DirectoryError(f"{what}只能由数字和连字符组成，多个号码用“、”分隔，例如 0311-86012345", field)
    return text


def mobile(value: str | None) -> str | None:
    """A mainland mobile number, 11 digits starting with 1 (spaces and hyphens dropped)."""
    text = re.sub(r"[\s\-]", "", clean(value))
    if not text:
        return None
    if len(text) > LIMITS["mobile"] or not _MOBILE.fullmatch(text):
        raise DirectoryError("手机号码应为以 1 开头的 11 位数字", "mobile")
    return text


def email(value: str | None) -> str | None:
    """An e-mail address of the usual shape, at most 128 characters, kept as typed (trimmed).

    >>> email("xueji@hebei.edu.cn"), email("")
    ('xueji@hebei.edu.cn', None)
    """
    text = clean(value)
    if not text:
        return None
    if len(text) > LIMITS["email"]:
        raise DirectoryError(f"邮箱不能超过 {LIMITS['email']} 个字符", "email")
    if not _EMAIL.fullmatch(text):
        raise DirectoryError("邮箱格式不正确，例如 xueji@example.edu.cn", "email")
    return text


def text(value: str | None, field: str, what: str, required: bool = False) -> str | None:
    """Free text (受理时间, 姓名, 职务) within its length; shown escaped everywhere."""
    result = clean(value)
    if not result:
        if required:
            raise DirectoryError(f"请填写{what}", field)
        return None
    if len(result) > LIMITS[field]:
        raise DirectoryError(f"{what}不能超过 {LIMITS[field]} 个字", field)
    return result


@dataclass(frozen=True)
class Editor:
    """Who writes: the account (None for a command), the name shown in the history, their unit."""

    user_id: int | None
    name: str
    unit_code: str | None
    client: str = "-"


def update_channels(session: Session, unit: Unit, editor: Editor, *, phone_value: str | None,
                    email_value: str | None, hours_value: str | None) -> list[UnitChannelChange]:
    """Check and publish a unit's channels; one history row per field that changed.

    The public directory and the routing read ``units`` directly, so the new
    values are published as soon as the view commits.
    """
    new = {"phone": phone(phone_value), "email": email(email_value),
           "hours": text(hours_value, "hours", "受理时间")}
    at, changes = now(), []
    for field in CHANNEL_FIELDS:
        column = f"complaint_{field}"
        old = getattr(unit, column)
        if old == new[field]:
            continue
        setattr(unit, column, new[field])
        changes.append(UnitChannelChange(
            unit_code=unit.code, field=field, old_value=old, new_value=new[field], changed_by=editor.user_id,
            actor=editor.name[:64], actor_unit_code=editor.unit_code, at=at, client=editor.client[:45]))
    if changes:
        unit.updated_at = at
        session.add_all(changes)
        session.flush()
    return changes


def channel_history(session: Session, unit_code: str, limit: int = 50) -> list[UnitChannelChange]:
    """The unit's channel changes, newest first."""
    return list(session.scalars(select(UnitChannelChange).where(UnitChannelChange.unit_code == unit_code)
                                .order_by(UnitChannelChange.at.desc(), UnitChannelChange.id.desc())
                                .limit(limit)))


def registrar_values(*, name: str | None, title: str | None, office_phone: str | None,
                     mobile_value: str | None, email_value: str | None) -> dict[str, str | None]:
    """A registrar's fields, checked; at least one way to reach them."""
    values = {"name": text(name, "name", "姓名", required=True), "title": text(title, "title", "职务"),
              "office_phone": phone(office_phone, "office_phone", "办公电话"),
              "mobile": mobile(mobile_value), "email": email(email_value)}
    if not (values["office_phone"] or values["mobile"] or values["email"]):
        raise DirectoryError("办公电话、手机和邮箱至少填写一项", "office_phone")
    return values


def add_registrar(session: Session, unit_code: str, editor: Editor, **fields: str | None) -> Registrar:
    values, at = registrar_values(**fields), now()
    registrar = Registrar(unit_code=unit_code, active=True, created_at=at, updated_at=at,
                          updated_by=editor.user_id, **values)
    session.add(registrar)
    session.flush()
    return registrar


def edit_registrar(session: Session, registrar: Registrar, editor: Editor, **fields: str | None) -> bool:
    """Save the checked fields; False when nothing changed."""
    values = registrar_values(**fields)
    if all(getattr(registrar, key) == value for key, value in values.items()):
        return False
    for key, value in values.items():
        setattr(registrar, key, value)
    registrar.updated_at, registrar.updated_by = now(), editor.user_id
    session.flush()
    return True


def set_registrar_active(session: Session, registrar: Registrar, editor: Editor, active: bool) -> bool:
    """Deactivate (left the post) or reactivate an entry; False when it already was so."""
    if registrar.active == active:
        return False
    registrar.active, registrar.updated_at, registrar.updated_by = active, now(), editor.user_id
    session.flush()
    return True
