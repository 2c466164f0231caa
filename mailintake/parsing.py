"""Raw mail bytes → :class:`Parsed`, or :class:`Refused` with the reason: never an exception.

The first pure step of the mail intake (DESIGN.md, "Mail intake"): no
database, no network. The email package's cost grows faster than the
message (NOTES.md: 20k MIME parts take 3.5 s with ``policy.default``), and it
has no limits of its own, so every limit is checked before the parse (size,
lines, the top header section) or while it runs (parts, nesting, each part's
header section), and the parser stops at the first one passed.

>>> parsed = parse(b"From: =?gb2312?B?zfXI/Q==?= <p@qq.com>\\r\\nSubject: hi\\r\\n\\r\\nbody")
>>> parsed.from_name, parsed.from_addr, parsed.text
('王三', 'p@qq.com', 'body')
>>> parse(b"").reason
'empty'
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.feedparser import BytesFeedParser
from email.message import Message

from mailintake import headers
from mailintake.headers import Address
from mailintake.parts import RAW, Attachment, Contents, DeliveryStatus, Report, TooMuch, collect
from mailintake.text import html_to_text, reply_part, sanitise_html

log = logging.getLogger(__name__)

# The header section as email.feedparser sees it: an optional mbox "From "
# line, then lines that start a field or continue one.
_HEADER_SECTION = re.compile(rb"(?:From [^\n]*\n)?(?:[\x21-\x39\x3b-\x7e]*:[^\n]*\n|[ \t][^\n]*\n)*")
_FIELD_START = re.compile(rb"^[^ \t]", re.M)
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Limits:
    """What one message may hold. The defaults fit real mail with a wide margin."""

    max_bytes: int = 25 * 1024 * 1024  # as the SMTP receiver's default (XUEJI_MAIL_MAX_BYTES)
    max_lines: int = 1_000_000  # parse time grows with lines: 8M short lines take 3 s
    max_header_bytes: int = 100_000  # one header section (Postfix: header_size_limit 102400)
    max_headers: int = 500  # lines of one header section
    max_parts: int = 300
    max_depth: int = 20
    max_attachments: int = 50
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_total_attachment_bytes: int = 20 * 1024 * 1024


@dataclass(frozen=True)
class Refused:
    """A message the intake will not parse; the pipeline quarantines it with this reason."""

    reason: str  # empty, too_large, too_many_lines, header_too_large, too_many_headers,
    # too_many_parts, too_deep, too_many_attachments, attachment_too_large,
    # attachments_too_large, unreadable
    message: str  # for the console, in Chinese


@dataclass(frozen=True)
class Parsed:
    """What the intake needs of a message; every string already decoded and cleaned."""

    message_id: str | None  # "<left@right>", or None when absent or unusable
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    from_addr: str | None
    from_name: str
    reply_to: str | None
    return_path: str | None  # "" for the null reverse path "<>", None when absent
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    date: datetime.datetime | None  # aware
    text: str  # the whole body as text (HTML-only mail converted)
    html_sanitised: str | None  # the HTML body, safe to display, when there is one
    reply_text: str  # text without quoted earlier mail and client signatures
    attachments: tuple[Attachment, ...]
    headers: Mapping[str, str]  # every top-level field: lower-case name → first value, decoded
    defects: tuple[str, ...]
    content_sha256: str
    content_type: str
    report: Report | None  # a multipart/report (delivery status notification)


class _Over(Exception):
    def __init__(self, refused: Refused) -> None:
        super().__init__(refused.reason)
        self.refused = refused


class _LimitedParser(BytesFeedParser):
    # Counting in the feed parser's own hooks is what lets a 20k-part bomb
    # stop at part 301 instead of being parsed whole first. These two methods
    # have been the feed parser's structure since Python 2.4.
    def __init__(self, limits: Limits) -> None:
        super().__init__(policy=RAW)
        self._limits = limits
        self._parts = 0

    def _new_message(self) -> None:
        self._parts += 1
        if self._parts > self._limits.max_parts:
            raise _Over(Refused("too_many_parts", f"邮件的 MIME 部分超过 {self._limits.max_parts} 个"))
        super()._new_message()
        if len(self._msgstack) > self._limits.max_depth:
            raise _Over(Refused("too_deep", f"邮件的 MIME 嵌套超过 {self._limits.max_depth} 层"))

    def _parse_headers(self, lines: list[str]) -> None:
        _check_header_section(len(lines), sum(map(len, lines)), self._limits)
        super()._parse_headers(lines)


def _check_header_section(count: int, size: int, limits: Limits) -> None:
    if size > limits.max_header_bytes:
        raise _Over(Refused("header_too_large", f"邮件头超过 {limits.max_header_bytes} 字节"))
    if count > limits.max_headers:
        raise _Over(Refused("too_many_headers", f"邮件头超过 {limits.max_headers} 行"))


def _precheck(raw: bytes, limits: Limits) -> None:
    if not raw or raw.isspace():
        raise _Over(Refused("empty", "邮件内容为空"))
    if len(raw) > limits.max_bytes:
        raise _Over(Refused("too_large", f"邮件大小 {len(raw)} 字节，超过上限 {limits.max_bytes} 字节"))
    if raw.count(b"\n") > limits.max_lines:
        raise _Over(Refused("too_many_lines", f"邮件超过 {limits.max_lines} 行"))
    # The top section before anything is parsed; the parser checks the
    # sections of the parts. The match stops at the first line that is no
    # header, as the parser's does, and never looks past the limit.
    window = raw[:limits.max_header_bytes + 1]
    section = _HEADER_SECTION.match(window)
    end = section.end() if section else 0
    if end > limits.max_header_bytes:
        raise _Over(Refused("header_too_large", f"邮件头超过 {limits.max_header_bytes} 字节"))
    _check_header_section(len(_FIELD_START.findall(window, 0, end)), end, limits)


def _body(contents: Contents) -> tuple[str, str | None]:
    plain = "\n\n".join(t.strip("\r\n") for t in contents.plain if t.strip())
    joined_html = "\n".join(contents.html)
    html_sanitised = sanitise_html(joined_html) if joined_html.strip() else None
    if plain:
        return plain.replace("\r\n", "\n"), html_sanitised
    return (html_to_text(joined_html) if joined_html else ""), html_sanitised


def _build(message: Message, raw: bytes, limits: Limits) -> Parsed:
    try:
        contents = collect(message, limits)
    except TooMuch as over:
        raise _Over(Refused(over.reason, over.detail)) from None
    hint = contents.charset
    fields = headers.Fields(message.raw_items(), hint)
    sender = headers.addresses(fields.raw("from"), hint)
    reply_to = headers.addresses(fields.raw("reply-to"), hint)
    return_path = fields.raw("return-path")
    if return_path is not None:
        return_path = "" if headers.unfold(return_path).strip() in ("<>", "") else next(
            (a.address for a in headers.addresses(return_path)), None)
    text, html_sanitised = _body(contents)
    return Parsed(
        message_id=headers.message_id(fields.raw("message-id")),
        in_reply_to=headers.message_id(fields.raw("in-reply-to")),
        references=headers.message_ids(fields.raw("references")),
        subject=headers.text(fields.raw("subject"), hint),
        from_addr=sender[0].address if sender else None,
        from_name=sender[0].name if sender else "",
        reply_to=reply_to[0].address if reply_to else None,
        return_path=return_path,
        to=tuple(a for value in message.get_all("to", []) for a in headers.addresses(value, hint)),
        cc=tuple(a for value in message.get_all("cc", []) for a in headers.addresses(value, hint)),
        date=headers.date(fields.raw("date")),
        text=text,
        html_sanitised=html_sanitised,
        reply_text=reply_part(text),
        attachments=tuple(contents.attachments),
        headers=fields,
        defects=tuple(dict.fromkeys(contents.notes))[:50],
        content_sha256=hashlib.sha256(raw).hexdigest(),
        content_type=message.get_content_type(),
        report=contents.report,
    )


def parse(raw: bytes, *, limits: Limits = Limits()) -> Parsed | Refused:
    """Parse one message as received; Refused when it passes a limit or cannot be read."""
    try:
        _precheck(raw, limits)
        parser = _LimitedParser(limits)
        # Fed in pieces, the parser works through each before the next is
        # split into lines, so a bomb is stopped before most of it is held
        # as line objects (fed whole, 720 kB of parts took 9 MB at once).
        view = memoryview(raw)
        for start in range(0, len(raw), _CHUNK):
            parser.feed(bytes(view[start:start + _CHUNK]))
        message = parser.close()
        return _build(message, raw, limits)
    except _Over as over:
        return over.refused
    except Exception as exc:
        # A message that breaks the parser must not become a crash loop in
        # the worker: it is quarantined like any refused one (Mailman's shunt
        # queue). Only the exception's type is logged: its text may quote the mail.
        log.error("mail refused: %s while parsing", type(exc).__name__)
        return Refused("unreadable", "邮件无法解析，已隔离待人工处理")


__all__ = ["Address", "Attachment", "DeliveryStatus", "Limits", "Parsed", "Refused", "Report", "parse"]
