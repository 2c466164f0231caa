"""The parts of a parsed message: which are its text, which are attachments, what a report says.

Works on the ``email.message.Message`` tree that :mod:`mailintake.parsing`
builds with the raw-header policy below, so every header value and parameter
still holds the bytes the sender wrote (as surrogate escapes) and is decoded
here with the charset rules of :mod:`mailintake.charsets`.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from email.policy import Compat32
from typing import TYPE_CHECKING, NamedTuple

from mailintake import headers
from mailintake.charsets import decode
from mailintake.text import split_uuencoded

if TYPE_CHECKING:
    from mailintake.parsing import Limits

_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9_:.\-]{1,40})""", re.I)
_REPORT_PARTS = frozenset({"message/delivery-status", "text/rfc822-headers",
                           "message/disposition-notification", "message/feedback-report"})


class RawPolicy(Compat32):
    """compat32, but header values are returned as they were read.

    compat32 wraps a value holding 8-bit bytes in a ``Header`` of unknown
    charset, which is where raw Chinese headers turn into mojibake; we decode
    them ourselves. The parse itself is compat32's, which is several times
    faster than ``policy.default`` on large messages (NOTES.md).
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value

    def fold_binary(self, name: str, value: str) -> bytes:
        # Writing an enclosed message back out (a forwarded .eml): the value
        # still holds its original folding and bytes; re-folding it would
        # cost more than parsing it did, and could change it.
        return f"{name}: {value}{self.linesep}".encode("ascii", "surrogateescape")


RAW = RawPolicy()


class Attachment(NamedTuple):
    filename: str
    content_type: str
    data: bytes


class DeliveryStatus(NamedTuple):
    """One recipient's line of a delivery status notification (RFC 3464)."""

    recipient: str
    action: str  # failed, delayed, delivered, relayed, expanded
    status: str  # e.g. 5.1.1


@dataclass(frozen=True)
class Report:
    """What a multipart/report says about a message we sent."""

    report_type: str
    statuses: tuple[DeliveryStatus, ...]
    original_message_id: str | None


class TooMuch(Exception):
    """An attachment limit was passed; carries the reason code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass
class Contents:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    report: Report | None = None
    charset: str | None = None  # the first charset label of a text part
    notes: list[str] = field(default_factory=list)  # defects, and the charsets we had to guess
    total: int = 0


def param(part: Message, name: str, header: str = "content-type", hint: str | None = None) -> str | None:
    """A parameter of a header, RFC 2231 and RFC 2047 decoded.

    >>> part = Message(policy=RAW)
    >>> part["Content-Disposition"] = "attachment; filename*=gbk''%B2%E2%CA%D4.txt"
    >>> param(part, "filename", "content-disposition")
    '测试.txt'
    """
    value = part.get_param(name, header=header)
    if value is None:
        return None
    if isinstance(value, tuple):  # RFC 2231: (charset, language, bytes as latin-1)
        charset, _language, text = value
        return headers.clean(decode(text.encode("latin-1", "surrogateescape"), charset).text)
    return headers.text(value, hint)


def safe_filename(name: str | None, content_type: str, number: int) -> str:
    """A file name that is only a name: no folders, no control characters, at most 255 characters.

    >>> safe_filename("..\\\\..\\\\成绩单.pdf", "application/pdf", 1)
    '成绩单.pdf'
    >>> safe_filename(None, "image/png", 2)
    'attachment-2.png'
    """
    name = headers.clean(re.split(r"[/\\]", name or "")[-1]).strip(" .")
    if not name:
        return f"attachment-{number}{mimetypes.guess_extension(content_type) or '.bin'}"
    if len(name) > 255:
        stem, dot, extension = name.rpartition(".")
        name = (stem[:240] + dot + extension[:14]) if dot and len(extension) <= 14 else name[:255]
    return name


def _text_charset(part: Message, data: bytes, html: bool) -> str | None:
    label = part.get_param("charset")
    if isinstance(label, tuple):
        label = label[2]
    if not label and html:
        sniffed = _META_CHARSET.search(data[:4096])
        label = sniffed.group(1).decode("ascii") if sniffed else None
    return label


def _decode_text(part: Message, data: bytes, html: bool, contents: Contents) -> str:
    label = _text_charset(part, data, html)
    if label and contents.charset is None:
        contents.charset = label
    decoded = decode(data, label)
    if decoded.how != "label":
        contents.notes.append(f"charset-{decoded.how}:{label or 'none'}->{decoded.encoding}")
    return decoded.text


def _add(contents: Contents, limits: Limits, name: str | None, content_type: str, data: bytes) -> None:
    if len(contents.attachments) >= limits.max_attachments:
        raise TooMuch("too_many_attachments", f"附件超过 {limits.max_attachments} 个")
    if len(data) > limits.max_attachment_bytes:
        raise TooMuch("attachment_too_large", f"单个附件超过 {limits.max_attachment_bytes} 字节")
    contents.total += len(data)
    if contents.total > limits.max_total_attachment_bytes:
        raise TooMuch("attachments_too_large", f"附件合计超过 {limits.max_total_attachment_bytes} 字节")
    filename = safe_filename(name, content_type, len(contents.attachments) + 1)
    contents.attachments.append(Attachment(filename, content_type, data))


def _payload(part: Message, limits: Limits | None = None) -> bytes:
    """The decoded payload; for an attachment (``limits`` given) only if it can be within them."""
    raw = part.get_payload()
    if limits is None:
        data = part.get_payload(decode=True)
        return data if isinstance(data, bytes) else b""
    # Check the encoded size first: base64 decodes to 3/4 of it, anything
    # else to at most its own size, so nothing over the limit is ever decoded.
    encoded = len(raw) if isinstance(raw, str | bytes) else 0
    cte = str(part.get("content-transfer-encoding", "")).strip().lower()
    estimate = encoded * 3 // 4 if cte == "base64" else encoded
    if estimate > limits.max_attachment_bytes + 4:
        raise TooMuch("attachment_too_large", f"单个附件超过 {limits.max_attachment_bytes} 字节")
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _enclosed_bytes(part: Message) -> bytes:
    inner = part.get_payload()
    if isinstance(inner, list) and inner:
        try:
            return inner[0].as_bytes(policy=RAW)
        except (ValueError, TypeError, LookupError, UnicodeError):
            return b""
    return inner.encode("ascii", "surrogateescape") if isinstance(inner, str) else b""


def _original_id(part: Message, content_type: str) -> str | None:
    if content_type == "text/rfc822-headers":
        data = part.get_payload(decode=True) or b""
        fields = HeaderParser(policy=RAW).parsestr(data.decode("ascii", "surrogateescape"))
        return headers.message_id(fields.get("message-id"))
    inner = part.get_payload()
    if isinstance(inner, list) and inner:
        return headers.message_id(inner[0].get("message-id"))
    return None


def _statuses(part: Message) -> list[DeliveryStatus]:
    blocks = part.get_payload()
    if not isinstance(blocks, list):
        return []
    found = []
    for block in blocks[1:]:  # the first block is about the reporting server
        recipient = str(block.get("final-recipient") or block.get("original-recipient") or "")
        recipient = headers.clean(recipient.rpartition(";")[2])
        action = headers.clean(str(block.get("action", ""))).lower()
        status = headers.clean(str(block.get("status", ""))).split(" ")[0]
        if recipient or action or status:
            found.append(DeliveryStatus(recipient, action, status))
    return found


def collect(message: Message, limits: Limits) -> Contents:
    """Walk the tree once: text parts in order, attachments within the limits, the report.

    A multipart/report may sit at the top or inside a multipart/mixed (as
    Exchange sends it); the message it returns is not an attachment.
    """
    contents = Contents()
    statuses: list[DeliveryStatus] = []
    original: str | None = None
    report_type: str | None = None
    stack: list[tuple[Message, bool]] = [(message, False)]
    while stack:
        part, in_report = stack.pop()
        contents.notes += [type(defect).__name__ for defect in part.defects]
        content_type = part.get_content_type()
        if part.is_multipart() and not content_type.startswith("message/"):
            if content_type == "multipart/report":
                report_type = report_type or (param(part, "report-type") or "").lower()
                in_report = True
            stack.extend((child, in_report) for child in reversed(part.get_payload()))
            continue
        if content_type in _REPORT_PARTS or in_report and content_type == "message/rfc822":
            if content_type == "message/delivery-status":
                statuses += _statuses(part)
            elif content_type in ("message/rfc822", "text/rfc822-headers"):
                original = original or _original_id(part, content_type)
            continue
        disposition = part.get_content_disposition()
        name = param(part, "filename", "content-disposition") or param(part, "name")
        if content_type.startswith("message/"):
            subject = ""
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                subject = headers.text(inner[0].get("subject"))[:80]
            _add(contents, limits, name or (subject or "message") + ".eml", content_type,
                 _enclosed_bytes(part))
            continue
        textual = content_type in ("text/plain", "text/html") or content_type.startswith("multipart/")
        if textual and disposition != "attachment" and not name:
            html = content_type == "text/html"
            text = _decode_text(part, _payload(part), html, contents)
            if html:
                contents.html.append(text)
            else:
                text, files = split_uuencoded(text)
                contents.plain.append(text)
                for filename, data in files:
                    _add(contents, limits, filename, mimetypes.guess_type(filename)[0]
                         or "application/octet-stream", data)
            continue
        _add(contents, limits, name, content_type, _payload(part, limits))
    if report_type is not None:
        contents.report = Report(report_type, tuple(statuses), original)
    return contents
