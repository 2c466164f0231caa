"""A queued ``outgoing_mail`` row as the message we hand to the relay (issue 6 items 4, 5 and 7).

Pure: a :class:`Queued` row in, an :class:`email.message.EmailMessage` out,
or :class:`Unsendable` when the row cannot become a safe message. Every
header value that reached the row from the public (the complainant's
subject, their address, the Message-IDs of their mail) is checked here
again, at the last moment, so that no line break can add a header to our
mail (header injection), whichever code queued the row.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.utils import format_datetime

from hotline.calendar import SHANGHAI
from hotline.tickets.outbox import one_line
from mailintake.ack import sent_headers
from mailintake.classify import signed_reply_address

# The display name of our From (the centre's name, as in the footer of every message).
SENDER_NAME = "学籍技术服务中心"
# RFC 5322 section 3.6.4 msg-id, loosely: printable ASCII between angle
# brackets, no space, no bracket inside. Real Message-IDs stray from the
# grammar (quotes, IP literals), and threading only needs them byte-exact.
_MSG_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]{1,250}>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


class Unsendable(ValueError):
    """The row cannot become a safe message; sending it again would not help."""


@dataclass(frozen=True)
class Queued:
    """What the sender read of one claimed row (plain values: no session needed to send)."""

    id: int
    ticket_number: str
    kind: str
    to_addr: str
    subject: str
    body_text: str
    message_id: str
    in_reply_to: str | None
    references: str | None
    reply_to: str
    attempts: int


class _MessageIds(UnstructuredHeader):
    """Message-ID, In-Reply-To, References: folded between ids, never RFC 2047-encoded.

    The default policy folds a long token of an unstructured header into
    encoded words (``=?utf-8?q?=3CCAHk...?=``), and a receiver can then no
    longer match the id: Gmail's and Outlook's ids are long enough for that.
    The value has been reduced to valid msg-ids, so folding at the spaces
    between them is always possible.
    """

    def fold(self, *, policy: policy.Policy) -> str:  # type: ignore[override]
        return f"{self.name}: " + f"{policy.linesep} ".join(str(self).split()) + policy.linesep


_HEADERS = HeaderRegistry()
for _name in ("message-id", "in-reply-to", "references"):
    _HEADERS.map_to_type(_name, _MessageIds)
POLICY = policy.SMTP.clone(header_factory=_HEADERS)


def message_ids(value: str | None) -> list[str]:
    """The valid msg-ids of a header value, in order; anything else is dropped.

    >>> message_ids("<a@qq.com> junk <b@x>\\r\\nBcc: evil@example.com")
    ['<a@qq.com>', '<b@x>']
    """
    return _MSG_ID.findall(value or "")


def recipient(address: str) -> Address:
    """The complainant's address as a To header, or :class:`Unsendable`.

    An address with a line break or any other control character is refused
    outright rather than cleaned: cleaning would send mail to an address
    nobody typed.

    >>> str(recipient("parent@qq.com"))
    'parent@qq.com'
    >>> recipient("parent@qq.com\\r\\nBcc: evil@example.com")
    Traceback (most recent call last):
    ...
    mailintake.compose.Unsendable: 收件地址无效
    """
    if _CONTROL.search(address) or address.count("@") != 1 or any(c in address for c in ' <>,;"'):
        raise Unsendable("收件地址无效")
    address = address.strip()
    try:
        if address.isascii():
            parsed = Address(addr_spec=address)
        else:
            # RFC 6531 (SMTPUTF8): the parser refuses a non-ASCII local part,
            # which the checks above have already made safe.
            username, _, domain = address.partition("@")
            parsed = Address(username=username, domain=domain)
    except (ValueError, IndexError):
        raise Unsendable("收件地址无效") from None
    if not parsed.username or not parsed.domain:
        raise Unsendable("收件地址无效")
    return parsed


def compose(mail: Queued, *, mail_from: str, reply_key: bytes, at: datetime.datetime) -> EmailMessage:
    """The message for ``mail``, as the relay receives it."""
    own = message_ids(mail.message_id)
    if len(own) != 1 or own[0] != mail.message_id.strip():
        # Ours, written by new_message_id: a bad one is a bug, not the public's input.
        raise Unsendable("邮件的 Message-ID 无效")
    message = EmailMessage(policy=POLICY)
    message["From"] = Address(SENDER_NAME, addr_spec=mail_from)
    message["To"] = recipient(mail.to_addr)
    # Issue 6 "Bad input": a name or subject typed by the public stays on one line.
    message["Subject"] = one_line(mail.subject, 255) or "（无主题）"
    message["Date"] = format_datetime(at.astimezone(SHANGHAI))
    message["Message-ID"] = own[0]
    parents = message_ids(mail.in_reply_to)
    if parents:
        message["In-Reply-To"] = parents[0]
    references = message_ids(mail.references)
    if references:
        message["References"] = " ".join(references)
    # Issue 6 item 4: clients that drop In-Reply-To and the subject's tag
    # still reply to the ticket's own signed address.
    message["Reply-To"] = signed_reply_address(mail.reply_to or mail_from, mail.ticket_number, reply_key)
    # Item 5: the loop header on everything, Auto-Submitted on acknowledgements.
    for name, value in sent_headers(mail.kind, mail_from).items():
        message[name] = value
    message.set_content(_CONTROL.sub(lambda m: m.group() if m.group() in "\n\t" else "", mail.body_text))
    return message
