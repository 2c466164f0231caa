"""Keyed hashing of identity data (what we store instead of a minor's ID number), and the
masking of personal data in text (what we keep or log instead of it)."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Callable

from lookup.numbers import NumberError, id_check_char, mask_id_number, parse_id_number


def hash_id_number(key: bytes, id_number: str) -> str:
    """The HMAC-SHA256 of a normalised ID number under the service's key, in hex.

    Without the key the stored value cannot be reversed by enumerating the
    (small) space of ID numbers, which a plain hash would allow.

    >>> hash_id_number(b"k", "11010519491231002X") == hash_id_number(b"k", "11010519491231002X")
    True
    >>> hash_id_number(b"k", "11010519491231002X") == hash_id_number(b"j", "11010519491231002X")
    False
    """
    return id_hasher(key)(id_number)


def id_hasher(key: bytes) -> Callable[[str], str]:
    """``hash_id_number`` with the key schedule done once, for imports of millions of rows.

    >>> id_hasher(b"k")("11010519491231002X") == hash_id_number(b"k", "11010519491231002X")
    True
    """
    keyed = hmac.new(key, digestmod=hashlib.sha256)

    def hash_one(id_number: str) -> str:
        mac = keyed.copy()
        mac.update(id_number.encode())  # UTF-8: ASCII numbers hash as before
        return mac.hexdigest()

    return hash_one


# --- Masking personal data in text -------------------------------------------
#
# One rule for every place that keeps or writes text people sent us: mail
# kept on a ticket (mailintake.redact) and, as the last line of defence,
# every log record (hotline.logs).

# ASCII and full-width digits, with the spaces and dashes people put in
# numbers; an optional X (or its full-width form, or ×) at the end.
_DIGIT = "[0-9\uff10-\uff19]"
_SEP = "[ \t\\-\u2010-\u2015\u2212\uff0d]"
_ID_CANDIDATE = re.compile(
    f"(?<![0-9\uff10-\uff19]){_DIGIT}(?:{_SEP}{{0,2}}{_DIGIT}){{14,17}}(?:{_SEP}{{0,2}}[Xx\uff38\uff58\u00d7])?"
    f"(?![0-9\uff10-\uff19])")
_ID_DROP = re.compile(r"[ \t\-\u2010-\u2015\u2212]")
# Mainland mobile numbers (with or without +86, grouped 3-4-4 or not) and
# landline numbers written with their area code.
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[ -]?)?(1[3-9][0-9])[ -]?([0-9]{4})[ -]?([0-9]{4})(?![0-9])")
_LANDLINE = re.compile(r"(?<![0-9])(0[1-9][0-9]{1,2})-([0-9]{2})([0-9]{3,4})([0-9]{2})(?![0-9])")
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9])[A-Za-z0-9._%+-]*@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})")
# Every ID or phone number above has at least seven digits in a row, give or
# take the separators people write.
_SEVEN_DIGITS = re.compile(f"(?:{_DIGIT}{_SEP}{{0,2}}){{7}}")
# Keyed hashes and tokens in hex: left alone, or a run of digits inside one
# could be taken for a number (flask-limiter logs the identity limits' keys).
_HEX_DIGEST = re.compile(r"((?<![0-9A-Za-z])[0-9a-fA-F]{32,}(?![0-9A-Za-z]))")


def _masked_id(match: re.Match[str]) -> str:
    written = match.group()
    number = _ID_DROP.sub("", unicodedata.normalize("NFKC", written)).replace("\u00d7", "X").upper()
    if len(number) == 18:
        # Checked with the right check character: only the shape and the date count here.
        probe = number[:17] + id_check_char(number[:17]) if number[:17].isdigit() else number
    elif len(number) == 15 and number.isdigit():
        probe = number
    else:
        return written
    try:
        parse_id_number(probe)
    except NumberError:
        return written
    return mask_id_number(number)


def mask_id_numbers(text: str) -> str:
    """``text`` with every resident ID number masked.

    A number is masked when it has an ID number's shape and a real birth
    date, even if its check character is wrong: a mistyped ID number is
    still one.

    >>> mask_id_numbers("身份证 11010519491231002x，电话 13800138000")
    '身份证 110***********002X，电话 13800138000'
    >>> mask_id_numbers("号码 110105 19491231 0021（校验位错了也要遮住）")
    '号码 110***********0021（校验位错了也要遮住）'
    >>> mask_id_numbers("订单 123456789012345678")
    '订单 123456789012345678'
    """
    return _ID_CANDIDATE.sub(_masked_id, text)


def mask_contacts(text: str) -> str:
    """``text`` with mobile and landline numbers and e-mail addresses masked.

    >>> mask_contacts("请回电 138 0013 8000 或 +8613900139000，座机 010-66119801")
    '请回电 138****8000 或 139****9000，座机 010-66****01'
    >>> mask_contacts("来信 zhang.san@example.com 已收到")
    '来信 z****@example.com 已收到'
    >>> mask_contacts("工单 2026-000123，学校 1301020001")
    '工单 2026-000123，学校 1301020001'
    """
    text = _MOBILE.sub(lambda m: f"{m[1]}****{m[3]}", text)
    text = _LANDLINE.sub(lambda m: f"{m[1]}-{m[2]}{'*' * len(m[3])}{m[4]}", text)
    return _EMAIL.sub(lambda m: f"{m[1]}****@{m[2]}", text)


def redact_personal(text: str) -> str:
    """``text`` with ID numbers, phone numbers and e-mail addresses masked; hex digests kept.

    >>> redact_personal("lookup for 11010519491231002X by 13800138000 <p@qq.com>")
    'lookup for 110***********002X by 138****8000 <p****@qq.com>'
    >>> digest = "5f1c2a9e44d0" + "110105194912310021" + "ab" * 10
    >>> redact_personal(f"key {digest}") == f"key {digest}"
    True
    """
    if "@" not in text and not _SEVEN_DIGITS.search(text):
        return text  # most log lines: nothing that could be an ID, a phone number or an address
    pieces = _HEX_DIGEST.split(text)
    # split() with a group: the digests are at the odd positions.
    return "".join(piece if index % 2 else mask_contacts(mask_id_numbers(piece))
                   for index, piece in enumerate(pieces))
