"""Complainants' contacts: checked on the way in, keyed-hashed for the public status page."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from lookup.limits import hasher

_PHONE = re.compile(r"\+?[0-9]{5,20}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s.]{1,63}")


class ContactError(ValueError):
    """A phone number or e-mail address that cannot be used (message in Chinese)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def normalize_phone(raw: str | None) -> str | None:
    """Digits only (a leading + kept), with full-width digits, spaces and hyphens tolerated.

    >>> normalize_phone("０１０-6611 9801")
    '01066119801'
    >>> normalize_phone("+86 138 0013 8000")
    '13800138000'
    >>> normalize_phone("  ") is None
    True
    """
    if raw is None:
        return None
    text = unicodedata.normalize("NFKC", raw)
    text = re.sub(r"[\s\-()（）]", "", text)
    if not text:
        return None
    if not _PHONE.fullmatch(text):
        raise ContactError("phone", "电话号码格式不正确，请只填写数字（可含区号）")
    # The country code is not part of how people type their own number back.
    return text.removeprefix("+86") if text.startswith("+86") else text


def normalize_email(raw: str | None) -> str | None:
    """
    >>> normalize_email(" Parent@Example.COM ")
    'parent@example.com'
    """
    if raw is None:
        return None
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        return None
    if not _EMAIL.fullmatch(text):
        raise ContactError("email", "电子邮箱格式不正确")
    return text.lower()


def contact_hasher() -> Callable[[str], str]:
    """The app's keyed hash (the lookup's, one key schedule per process), with a prefix
    that keeps contacts apart from ID numbers: contacts are compared, never shown."""
    hash_one = hasher()
    return lambda value: hash_one("contact:" + value)


def mask_phone(phone: str | None) -> str | None:
    """
    >>> mask_phone("13800138000")
    '138****8000'
    >>> mask_phone("66119801")
    '66****01'
    """
    if not phone:
        return phone
    keep_head = 3 if len(phone) >= 11 else 2
    keep_tail = 4 if len(phone) >= 11 else 2
    return phone[:keep_head] + "*" * (len(phone) - keep_head - keep_tail) + phone[-keep_tail:]


def mask_email(email: str | None) -> str | None:
    """
    >>> mask_email("parent@example.com")
    'p****@example.com'
    """
    if not email:
        return email
    local, _, domain = email.partition("@")
    return local[:1] + "****@" + domain
