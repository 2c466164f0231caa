"""Header values of real mail as text: RFC 2047 words, raw 8-bit bytes, addresses, ids, dates.

The email package's high-level API turns raw 8-bit header bytes into
mojibake, raises on some garbage Message-IDs and unknown charsets, and drops
encoded words that are not separated by spaces (NOTES.md). These helpers work
on the raw values ``Message.raw_items()`` returns (str, with the original
bytes kept as surrogate escapes) and never raise.
"""

from __future__ import annotations

import binascii
import datetime
import email.utils
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import NamedTuple

from mailintake.charsets import decode

# An RFC 2047 encoded word. RFC 2231 allows a language after the charset
# ("=?utf-8*zh?B?...?="), which is dropped. Words inside quoted strings and
# words glued to other text are decoded too: Foxmail and many webmails write them.
_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])|\r?\n$")
# Control characters (CR and LF above all) never survive into a value we
# might put into a reply's header: that would be header injection.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_MSGID = re.compile(r"<([^<>\s]{1,250})>")
_BARE_ID = re.compile(r"[^\s<>@]{1,200}@[^\s<>@]{1,200}")
_SIMPLE = re.compile(r"\s*(?:<([\w.+\-=/]{1,64}@[\w.\-]{1,190})>|([\w.+\-=/]{1,64}@[\w.\-]{1,190}))\s*", re.A)
_MAX_ADDRESSES = 100
_MAX_REFERENCES = 50
MAX_VALUE = 2000  # characters of a decoded header value kept


class Address(NamedTuple):
    name: str  # display name, decoded; "" when absent
    address: str  # local@domain, domain lower-cased


def _b64(text: str) -> bytes:
    # Broken padding is common (rt's new-ticket-from-gb18030 has "A===").
    core = re.sub(r"[^A-Za-z0-9+/]", "", text)
    if len(core) % 4 == 1:  # a lone trailing character carries no whole byte
        core = core[:-1]
    try:
        return binascii.a2b_base64(core + "=" * (-len(core) % 4))
    except binascii.Error:
        return b""


def _escaped(text: str) -> bool:
    return all(ch < "\x80" or "\udc80" <= ch <= "\udcff" for ch in text)


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words, joining adjacent words of one charset first.

    A multi-byte character split over two encoded words (GBK clients do this)
    is only whole once their bytes are joined.

    >>> decode_words("=?gb2312?B?suLK?= =?gb2312?B?1A==?= ok")
    '测试 ok'
    >>> decode_words("=?gb18030?B?suLK1A===?=")
    '测试'
    >>> decode_words('"=?utf-8?Q?=E5=BC=A0_=E4=B8=89?=" <a@b.cn>')
    '"张 三" <a@b.cn>'
    """
    if "=?" not in value:
        return value
    pieces: list[str | tuple[str, bytes]] = []
    position = 0
    for match in _WORD.finditer(value):
        between = value[position:match.start()]
        # Whitespace between two encoded words is no part of the text (RFC 2047 §6.2).
        if between and not (between.isspace() and pieces and isinstance(pieces[-1], tuple)):
            pieces.append(between)
        charset, kind, text = match.groups()
        if kind in "bB":
            data = _b64(text)
        else:
            data = binascii.a2b_qp(text.encode("utf-8", "surrogateescape"), header=True)
        if pieces and isinstance(pieces[-1], tuple) and pieces[-1][0] == charset.lower():
            pieces[-1] = (charset.lower(), pieces[-1][1] + data)
        else:
            pieces.append((charset.lower(), data))
        position = match.end()
    pieces.append(value[position:])
    return "".join(p if isinstance(p, str) else decode(p[1], p[0]).text for p in pieces)


def unfold(value: str) -> str:
    r"""A folded header value on one line (RFC 5322 §2.2.3: remove the line breaks).

    >>> unfold("a\r\n b\r\n")
    'a b'
    """
    return _FOLD.sub("", value)


def from_raw(value: str, charset_hint: str | None = None) -> str:
    """Raw 8-bit bytes (kept as surrogate escapes by the parser) decoded to text.

    The hint is the charset of the message's text, which clients that write
    raw bytes into headers usually also use there.

    >>> from_raw("测试".encode("gb18030").decode("ascii", "surrogateescape"), "gbk")
    '测试'
    """
    if value.isascii():
        return value
    if not _escaped(value):
        return value
    data = value.encode("ascii", "surrogateescape")
    return decode(data, charset_hint).text


def clean(value: str) -> str:
    r"""Control characters replaced by spaces, outer space stripped, length capped.

    >>> clean("Re: hi\r\nBcc: x@y")
    'Re: hi Bcc: x@y'
    """
    return _CONTROL.sub(" ", value).strip()[:MAX_VALUE]


def text(value: str | None, charset_hint: str | None = None) -> str:
    """A header value as the person who wrote it meant it: unfolded, decoded, cleaned.

    >>> text("=?GB2312?B?zsJKaWFu?= Bing")
    '温Jian Bing'
    """
    if value is None:
        return ""
    if value.isascii() and value.isprintable() and "=?" not in value:
        return value.strip()[:MAX_VALUE]  # most values: nothing to decode
    return clean(decode_words(from_raw(unfold(value), charset_hint)))


def addresses(value: str | None, charset_hint: str | None = None) -> tuple[Address, ...]:
    """The addresses of an address header; names decoded after the list is split.

    Splitting first keeps a decoded name such as "Doe, John" in one piece;
    anything without a plausible local@domain is left out.

    >>> addresses('=?utf-8?B?5byg5LiJ?= <Zhang@Example.COM>, "Doe, John" <j@x.cn>, garbage<<>>')
    (Address(name='张三', address='Zhang@example.com'), Address(name='Doe, John', address='j@x.cn'))
    """
    if not value:
        return ()
    simple = _SIMPLE.fullmatch(value)
    if simple:  # one plain address, as most From and Return-Path fields hold
        normal = normal_address(simple.group(1) or simple.group(2))
        return (Address("", normal),) if normal else ()
    raw = unfold(from_raw(value, charset_hint))
    found = []
    for name, address in email.utils.getaddresses([raw])[:_MAX_ADDRESSES]:
        normal = normal_address(address)
        if normal:
            found.append(Address(clean(decode_words(name)), normal))
    return tuple(found)


def normal_address(address: str) -> str | None:
    """``local@domain`` with the domain lower-cased, or None if it is not one.

    >>> normal_address(" Parent@QQ.com "), normal_address("no at sign"), normal_address("a b@c")
    ('Parent@qq.com', None, None)
    """
    address = address.strip().strip("<>")
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or len(address) > 254:
        return None
    if any(ch.isspace() or ch < " " or ch in "<>," for ch in address):
        return None
    return f"{local}@{domain.lower()}"


def message_id(value: str | None) -> str | None:
    """The first message id in a header, as ``<left@right>``, or None.

    >>> message_id("  <abc@x.cn> (comment)"), message_id("abc@x.cn"), message_id("[garbage")
    ('<abc@x.cn>', '<abc@x.cn>', None)
    """
    ids = message_ids(value)
    return ids[0] if ids else None


def message_ids(value: str | None) -> tuple[str, ...]:
    """Every message id in a References or In-Reply-To header, in order, without repeats.

    Only the last 50 are kept: the first and the most recent are what threading uses,
    and a hostile header must not grow without bound.

    >>> message_ids("<a@x> <b@x>\\r\\n <a@x>")
    ('<a@x>', '<b@x>')
    """
    if not value:
        return ()
    value = unfold(value)
    found = [f"<{m}>" for m in _MSGID.findall(value) if m.isascii()]
    if not found and "<" not in value:
        bare = _BARE_ID.fullmatch(value.strip())
        found = [f"<{bare.group()}>"] if bare and value.isascii() else []
    return tuple(dict.fromkeys(found))[-_MAX_REFERENCES:]


def date(value: str | None) -> datetime.datetime | None:
    """The Date header as an aware datetime (UTC when the zone is unknown), or None.

    >>> date("Fri, 01 Aug 2008 14:35:58 +0100").isoformat()
    '2008-08-01T14:35:58+01:00'
    >>> date("yesterday") is None
    True
    """
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(unfold(value).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # "-0000": the zone is unknown (RFC 5322 §3.3)
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed


class Fields(Mapping[str, str]):
    """A message's top-level fields: lower-case name → its first value, decoded when read.

    Decoding every Received and DKIM line of every message would cost more
    than the classification that reads three of them.

    >>> fields = Fields([("Subject", "=?utf-8?B?5rWL6K+V?="), ("subject", "second")])
    >>> fields["SUBJECT"], "Subject" in fields, len(fields)
    ('测试', True, 1)
    """

    __slots__ = ("_raw", "_hint")

    def __init__(self, items: Iterable[tuple[str, str]], charset_hint: str | None = None) -> None:
        raw: dict[str, str] = {}
        for name, value in items:
            raw.setdefault(str(name).strip().lower(), value)
        self._raw = raw
        self._hint = charset_hint

    def __getitem__(self, name: str) -> str:
        return text(self._raw[name.lower()], self._hint)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return f"Fields({sorted(self._raw)})"

    def raw(self, name: str) -> str | None:
        """The value as it was read (folded, encoded, raw bytes as surrogate escapes)."""
        return self._raw.get(name.lower())
