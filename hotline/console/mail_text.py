"""Reading a quarantined raw message for people: headers and text, bounded, masked, never executed.

Quarantined mail is by definition what the mail pipeline would not parse:
too large, too deep, broken. So this reads only a bounded prefix of the
file (the header section for the list; the first BODY_BYTES for the detail
view), with the email package's lenient compat32 policy (it records defects
instead of raising), walks at most MAX_PARTS parts, and catches whatever a
hostile message still makes it raise. Nothing in the message is ever
rendered or followed: HTML is shown as its escaped source, and links and
images are never fetched.

What a person sees is masked with the project's rules (lookup.privacy):
resident ID numbers as ``110***********1234``, phone numbers as
``138****8000``, e-mail addresses as ``p****@qq.com`` (our own mailbox
excepted), and the sender's name as ``刘**``. Whoever must have everything
downloads the raw message, and that is audited.
"""

from __future__ import annotations

import codecs
import email.header
import email.utils
import itertools
import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path

from hotline.tickets.contacts import mask_email
from lookup.privacy import mask_contacts, mask_id_numbers

HEAD_BYTES = 64 * 1024  # the header section is read up to this (the pipeline's limit is 100,000)
BODY_BYTES = 512 * 1024  # the detail view parses this much of the message at most
BODY_CHARS = 20_000  # of the text shown
HEADER_CHARS = 1_000  # of one header value shown
MAX_HEADERS = 200
MAX_PARTS = 200

# GB2312 and GBK labels are decoded as GB18030, their superset, as browsers do
# (a GBK-only character such as 堃 labelled gb2312 would otherwise be lost).
_CHARSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "csgb2312": "gb18030",
             "cp936": "gb18030", "euc-cn": "gb18030", "big5": "big5hkscs"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]+")
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text from a charset label that may be wrong, unknown or missing; never raises.

    >>> decode_bytes("堃".encode("gb18030"), "gb2312"), decode_bytes("学籍".encode(), None)
    ('堃', '学籍')
    >>> decode_bytes("学籍".encode("gbk"), "x-unknown")
    '学籍'
    """
    label = (charset or "").strip().strip('"').lower()
    codec = _CHARSETS.get(label, label)
    try:
        codecs.lookup(codec)
    except (LookupError, ValueError):
        codec = ""
    if codec and codec not in ("us-ascii", "ascii", "unknown-8bit"):
        return data.decode(codec, "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", "replace")


def _raw_8bit(value: str) -> str:
    # The bytes parser keeps undecodable header bytes as surrogates: they are
    # the raw 8-bit bytes a careless client sent, most often UTF-8 or GBK.
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    return decode_bytes(value.encode("utf-8", "surrogateescape"), None)


def header_text(value: str, limit: int = HEADER_CHARS) -> str:
    """A header value as a person reads it: RFC 2047 words decoded, one line, at most ``limit`` characters.

    >>> header_text("=?gb2312?B?0afJ+rXEx+m/9g==?= (=?utf-8?q?abc?=)")
    '学生的情况 (abc)'
    >>> header_text("=?x-unknown?q?abc?= \\r\\n\\tnext"), header_text("\\udcd1\\udca7\\udcbc\\udcae")
    ('abc next', '学籍')
    """
    value = _raw_8bit(_FOLD.sub("", value))
    if "=?" in value:
        try:
            chunks = email.header.decode_header(value)
        except Exception:  # a broken encoded word: show it as it came
            chunks = [(value, None)]
        value = "".join(chunk if isinstance(chunk, str)
                        else decode_bytes(chunk, charset) if charset
                        else chunk.decode("raw-unicode-escape", "replace")
                        for chunk, charset in chunks)
    return " ".join(_CONTROL.sub(" ", value).split())[:limit]


def masked(text: str, keep: tuple[str, ...] = ()) -> str:
    """``text`` with ID numbers, phone numbers and e-mail addresses masked, except our own addresses.

    >>> masked("家长 zhangsan@qq.com（身份证 11010519491231002X，电话 13800138000）致 66119801@moe.edu.cn",
    ...        keep=("66119801@moe.edu.cn",))
    '家长 z****@qq.com（身份证 110***********002X，电话 138****8000）致 66119801@moe.edu.cn'
    """
    if not keep:
        return mask_contacts(mask_id_numbers(text))
    ours = re.compile("(" + "|".join(re.escape(address) for address in keep) + ")", re.IGNORECASE)
    # split() with a group: our addresses are at the odd positions.
    return "".join(piece if index % 2 else mask_contacts(mask_id_numbers(piece))
                   for index, piece in enumerate(ours.split(text)))


# Headers that name people: their names are masked like their addresses.
ADDRESS_HEADERS = frozenset({
    "from", "sender", "reply-to", "to", "cc", "bcc", "return-path", "delivered-to", "x-original-to",
    "errors-to", "disposition-notification-to", "resent-from", "resent-sender", "resent-to", "resent-cc"})
UNREADABLE_ADDRESS = "（地址格式有误，已隐藏，请下载原始邮件查看）"


def _person(name: str, address: str, keep: tuple[str, ...] = ()) -> str:
    name = " ".join(name.split())
    shown_name = name[:1] + "*" * (len(name) - 1) if name else ""
    if address.lower() in keep:
        shown_address = address
    elif "@" in address:
        shown_address = mask_email(address)
    else:  # not an address: perhaps a name, so masked like one
        shown_address = address[:1] + "*" * (len(address) - 1)
    return f"{shown_name} <{shown_address}>" if shown_name else shown_address


def sender_text(value: str) -> str:
    """The From header as the list shows it: the name and the address, both masked.

    >>> sender_text("=?utf-8?b?5byg5LiJ?= <zhangsan@qq.com>"), sender_text("bare@163.com")
    ('张* <z****@qq.com>', 'b****@163.com')
    >>> sender_text("")
    ''
    """
    name, address = email.utils.parseaddr(header_text(value))
    return _person(name, address) if name or address else ""


def addresses_text(value: str, keep: tuple[str, ...] = ()) -> str:
    """A decoded address header with every name and address masked, ours (``keep``) excepted.

    >>> addresses_text("张三 <zhangsan@qq.com>, 66119801@moe.edu.cn", keep=("66119801@moe.edu.cn",))
    '张* <z****@qq.com>, 66119801@moe.edu.cn'
    >>> addresses_text("张三"), addresses_text("<<>>") == UNREADABLE_ADDRESS
    ('张*', True)
    """
    people = [(name, address) for name, address in email.utils.getaddresses([value]) if name or address]
    if not people:
        return UNREADABLE_ADDRESS if value.strip() else ""
    return ", ".join(_person(name, address, keep) for name, address in people)


def read_head(path: Path, limit: int = HEAD_BYTES) -> bytes:
    """The header section of the file (at most ``limit`` bytes)."""
    with path.open("rb") as raw:
        data = raw.read(limit)
    end = min((i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if i >= 0), default=len(data))
    return data[:end]


def headers(head: bytes) -> list[tuple[str, str]]:
    """(name, decoded value) of the top-level headers, at most MAX_HEADERS of them."""
    message = BytesHeaderParser(policy=policy.compat32).parsebytes(head)
    return [(header_text(name, 100), header_text(str(value)))
            for name, value in itertools.islice(message.raw_items(), MAX_HEADERS)]


@dataclass(frozen=True)
class Summary:
    subject: str
    sender: str


def summary(path: Path) -> Summary:
    """Subject and sender for the list, masked."""
    found = {name.lower(): value for name, value in reversed(headers(read_head(path)))}
    return Summary(masked(found.get("subject", "")[:200]), sender_text(found.get("from", "")))


@dataclass(frozen=True)
class Part:
    content_type: str
    filename: str
    size: int


@dataclass
class Detail:
    """What the detail view shows of one raw message."""

    headers: list[tuple[str, str]]
    body: str = ""
    body_kind: str = ""  # "text", "html" (its source, escaped by the template), or "" for none
    parts: list[Part] = field(default_factory=list)
    truncated: bool = False  # only the first BODY_BYTES were read
    more_parts: bool = False
    problem: str = ""  # what could not be read, in Chinese


def _payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _text(part: Message) -> str:
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return decode_bytes(_payload(part), charset)


def detail(path: Path, keep: tuple[str, ...] = ()) -> Detail:
    """Headers, the structure and the text of the raw message, masked."""
    with path.open("rb") as raw:
        data = raw.read(BODY_BYTES + 1)
    truncated = len(data) > BODY_BYTES
    data = data[:BODY_BYTES]
    shown = [(name, addresses_text(value, keep) if name.lower() in ADDRESS_HEADERS else masked(value, keep))
             for name, value in headers(read_head(path))]
    view = Detail(shown, truncated=truncated)
    try:
        message = BytesParser(policy=policy.compat32).parsebytes(data)
        body = html = None
        walked = list(itertools.islice(message.walk(), MAX_PARTS + 1))
        view.more_parts = len(walked) > MAX_PARTS
        for part in walked[:MAX_PARTS]:
            if part.is_multipart():
                continue
            kind, filename = part.get_content_type(), header_text(part.get_filename() or "", 200)
            view.parts.append(Part(kind, masked(filename, keep), len(_payload(part))))
            attached = filename or str(part.get("Content-Disposition", "")).lower().startswith("attachment")
            if kind == "text/plain" and body is None and not attached:
                body = part
            elif kind == "text/html" and html is None and not attached:
                html = part
    except Exception as error:  # a hostile message must not break the page: say so instead
        view.problem = f"邮件正文无法解析（{type(error).__name__}），请下载原始邮件查看"
        return view
    chosen = body if body is not None else html
    if chosen is not None:
        view.body_kind = "text" if chosen is body else "html"
        text = _text(chosen)
        view.truncated = view.truncated or len(text) > BODY_CHARS
        view.body = masked(text[:BODY_CHARS], keep)
    return view
