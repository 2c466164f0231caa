"""ID numbers in mail text, masked before the text is kept on a ticket.

DESIGN.md ("Public lookup"): minors' identity data are sensitive, and an ID
number is stored keyed-hashed and masked everywhere (issue 6 item 3 says the
same of mail). The raw message keeps what was sent; what the console shows
(subject, description, timeline) holds ``110***********002X`` instead.

A number is masked when it has an ID number's shape and a real birth date,
even if its check character is wrong: a mistyped ID number is still one.
"""

from __future__ import annotations

import re
import unicodedata

from lookup.numbers import NumberError, id_check_char, mask_id_number, parse_id_number

# ASCII and full-width digits, with the spaces and dashes people put in
# numbers; an optional X (or its full-width form, or ×) at the end.
_DIGIT = "[0-9\uff10-\uff19]"
_SEP = "[ \t\\-\u2010-\u2015\u2212\uff0d]"
_CANDIDATE = re.compile(
    f"(?<![0-9\uff10-\uff19]){_DIGIT}(?:{_SEP}{{0,2}}{_DIGIT}){{14,17}}(?:{_SEP}{{0,2}}[Xx\uff38\uff58\u00d7])?"
    f"(?![0-9\uff10-\uff19])")
_DROP = re.compile(r"[ \t\-\u2010-\u2015\u2212]")


def _masked(match: re.Match[str]) -> str:
    written = match.group()
    number = _DROP.sub("", unicodedata.normalize("NFKC", written)).replace("\u00d7", "X").upper()
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


def redact(text: str) -> str:
    """``text`` with every ID number masked.

    >>> redact("身份证 11010519491231002x，电话 13800138000")
    '身份证 110***********002X，电话 13800138000'
    >>> redact("号码 110105 19491231 0021（校验位错了也要遮住）")
    '号码 110***********0021（校验位错了也要遮住）'
    >>> redact("订单 123456789012345678")
    '订单 123456789012345678'
    """
    return _CANDIDATE.sub(_masked, text)
