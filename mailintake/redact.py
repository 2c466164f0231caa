"""ID numbers in mail text, masked before the text is kept on a ticket.

DESIGN.md ("Public lookup"): minors' identity data are sensitive, and an ID
number is stored keyed-hashed and masked everywhere (issue 6 item 3 says the
same of mail). The raw message keeps what was sent; what the console shows
(subject, description, timeline) holds ``110***********002X`` instead.

The rule itself lives in :mod:`lookup.privacy`, where the logs' last line of
defence (``hotline.logs``) uses it too: a number is masked when it has an ID
number's shape and a real birth date, even if its check character is wrong.
"""

from __future__ import annotations

from lookup.privacy import mask_id_numbers


def redact(text: str) -> str:
    """``text`` with every ID number masked.

    >>> redact("身份证 11010519491231002x，电话 13800138000")
    '身份证 110***********002X，电话 13800138000'
    >>> redact("号码 110105 19491231 0021（校验位错了也要遮住）")
    '号码 110***********0021（校验位错了也要遮住）'
    """
    return mask_id_numbers(text)
