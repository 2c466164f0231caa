"""What a status request asks: a ticket number and a contact, as people type them (pure).

A parent reads the number off an acknowledgement or writes down what an
agent said on the phone, often on a phone keyboard in Chinese mode: full-width
digits, a full-width or typographic dash, spaces. All of that is accepted;
anything that is still not ``YYYY-NNNNNN`` is a field-level error, which says
nothing about whether any ticket exists.
"""

from __future__ import annotations

import re
import unicodedata

from hotline.tickets.contacts import ContactError, normalize_email, normalize_phone

# Dashes NFKC leaves alone (it already folds the full-width "－" and the small "﹣").
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})
_NUMBER = re.compile(r"([0-9]{4})-?([0-9]{6})")
# Longer input is no number or contact at all; cut before any work is done on it.
MAX_INPUT = 254


class StatusInputError(ValueError):
    """Input that is malformed in itself (message in Chinese, for the field it names)."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code
        self.message = message


def parse_number(raw: str | None) -> str:
    """The ticket number as stored (``2026-000123``).

    >>> parse_number("２０２６－０００１２３")
    '2026-000123'
    >>> parse_number(" 2026 — 000123 ")
    '2026-000123'
    >>> parse_number("2026000123")
    '2026-000123'
    >>> parse_number("26-123")
    Traceback (most recent call last):
    ...
    hotline.status.inputs.StatusInputError: 工单编号应为“年份-六位序号”，例如 2026-000123
    """
    if raw is None or not raw.strip():
        raise StatusInputError("number", "required", "请填写工单编号")
    text = unicodedata.normalize("NFKC", raw[:MAX_INPUT]).translate(_DASHES)
    match = _NUMBER.fullmatch(re.sub(r"\s+", "", text))
    if match is None:
        raise StatusInputError("number", "format", "工单编号应为“年份-六位序号”，例如 2026-000123")
    return f"{match[1]}-{match[2]}"


def parse_contact(raw: str | None) -> str:
    """The phone number or e-mail address, normalised exactly as it was when the ticket was filed.

    >>> parse_contact("１３８ ００１３ ８０００")
    '13800138000'
    >>> parse_contact(" Parent＠Example.com ")
    'parent@example.com'
    """
    if raw is None or not raw.strip():
        raise StatusInputError("contact", "required", "请填写受理时留下的电话号码或电子邮箱")
    text = raw[:MAX_INPUT]
    try:
        if "@" in unicodedata.normalize("NFKC", text):
            return normalize_email(text) or ""
        return normalize_phone(text) or ""
    except ContactError as exc:
        raise StatusInputError("contact", "format", exc.message) from None
