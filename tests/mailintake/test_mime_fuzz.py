"""Hostile and broken MIME never raises and never passes the limits.

Hypothesis builds messages the way broken clients and attackers do: random
boundaries (empty, with spaces, reused), truncated parts, deep nesting,
oversized headers, raw 8-bit and bogus encoded words, invalid transfer
encodings, and plain random bytes. Whatever comes in, ``parse`` returns
Parsed or Refused with a known reason, and never "unreadable" (that would be
a bug of ours hidden behind the quarantine).
"""

from __future__ import annotations

import base64
import email
import tracemalloc

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailintake.classify import bounce_info, classify
from mailintake.parsing import Limits, Parsed, Refused, parse

LIMITS = Limits(max_bytes=200_000, max_lines=5_000, max_header_bytes=3_000, max_headers=40, max_parts=25,
                max_depth=6, max_attachments=4, max_attachment_bytes=3_000, max_total_attachment_bytes=6_000)
REASONS = {"empty", "too_large", "too_many_lines", "header_too_large", "too_many_headers", "too_many_parts",
           "too_deep", "too_many_attachments", "attachment_too_large", "attachments_too_large"}
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

charsets = st.sampled_from(["utf-8", "gb2312", "gbk", "GB18030", "big5", "iso-8859-1", "x-unknown", "",
                            "utf-7", "hz-gb-2312", "base64", '"', "koi8-r", "unicode-1-1-utf-7"])
chinese = st.text(st.sampled_from("学籍号王堃喆镕昇測試，。、“”ａ１ "), max_size=20)
texts = st.one_of(st.text(max_size=40), chinese)


@st.composite
def header_values(draw) -> bytes:
    kind = draw(st.integers(0, 4))
    text = draw(texts)
    if kind == 0:
        return text.encode("utf-8", "surrogatepass")
    if kind == 1:  # raw 8-bit in some encoding
        return text.encode(draw(st.sampled_from(["gb18030", "utf-8", "latin-1"])), "replace")
    if kind == 2:  # an encoded word, maybe with broken base64
        data = base64.b64encode(text.encode("gb18030", "replace"))
        data = data[:draw(st.integers(0, len(data)))] + draw(st.sampled_from([b"", b"=", b"===", b"?"]))
        return b"=?" + draw(charsets).encode() + b"?B?" + data + b"?="
    if kind == 3:  # folded over lines
        more = draw(texts).encode("utf-8", "surrogatepass")
        return text.encode("utf-8", "surrogatepass") + b"\r\n\t" + more
    return draw(st.binary(max_size=60)).replace(b"\n", b" ")


@st.composite
def header_block(draw, content_type: bytes) -> bytes:
    names = st.sampled_from([b"From", b"To", b"Cc", b"Reply-To", b"Return-Path", b"Subject", b"Message-ID",
                             b"In-Reply-To", b"References", b"Date", b"Auto-Submitted", b"Precedence",
                             b"Content-Disposition", b"Content-Transfer-Encoding", b"X-Random", b"List-Id"])
    lines = [b"Content-Type: " + content_type]
    for _ in range(draw(st.integers(0, 8))):
        lines.append(draw(names) + b": " + draw(header_values()))
    if draw(st.booleans()):
        lines.append(b"Content-Transfer-Encoding: " + draw(st.sampled_from(
            [b"base64", b"quoted-printable", b"8bit", b"x-uuencode", b"binary", b"bogus", b"BASE64"])))
    if draw(st.integers(0, 9)) == 0:  # an oversized header
        lines.append(b"X-Huge: " + b"a" * draw(st.integers(1_000, 5_000)))
    draw(st.randoms()).shuffle(lines)
    newline = draw(st.sampled_from([b"\r\n", b"\n"]))
    return newline.join(lines) + newline + newline


def bodies() -> st.SearchStrategy[bytes]:
    return st.one_of(
        texts.map(lambda t: t.encode("gb18030", "replace")),
        st.binary(max_size=300),
        st.binary(max_size=200).map(base64.encodebytes),
        st.just(b"begin 644 a.txt\n#86)C\n`\nend\n"),
        st.integers(0, 5_000).map(lambda n: b"A" * n),
    )


def parts(depth: int) -> st.SearchStrategy[bytes]:
    leaf = st.builds(lambda ct, cs, body: (ct, cs, body),
                     st.sampled_from([b"text/plain", b"text/html", b"application/pdf", b"image/png",
                                      b"message/delivery-status", b"text/rfc822-headers", b""]),
                     charsets, bodies())

    @st.composite
    def build(draw, level: int) -> bytes:
        if level >= depth or draw(st.integers(0, 2)) == 0:
            content_type, charset, body = draw(leaf)
            content_type += b"; charset=" + charset.encode() + b"; name=x.bin"
            return draw(header_block(content_type)) + body
        if draw(st.integers(0, 4)) == 0:  # an enclosed message
            return draw(header_block(b"message/rfc822")) + draw(build(level + 1))
        boundary = draw(st.sampled_from([b"b", b"", b" sp ace", b"=_x", b"b" * 70, b"--"]))
        subtype = draw(st.sampled_from([b"mixed", b"alternative", b"report; report-type=delivery-status",
                                        b"related", b"digest"]))
        children = draw(st.lists(build(level + 1), max_size=6))
        body = b"".join(b"\r\n--" + boundary + b"\r\n" + child for child in children)
        if draw(st.booleans()):
            body += b"\r\n--" + boundary + b"--\r\n"
        return draw(header_block(b"multipart/" + subtype + b'; boundary="' + boundary + b'"')) + body

    return build(0)


@st.composite
def messages(draw) -> bytes:
    raw = draw(parts(depth=draw(st.integers(1, 9))))
    if draw(st.booleans()):  # truncated in transit
        raw = raw[:draw(st.integers(0, len(raw)))]
    return raw


def check(raw: bytes, limits: Limits = LIMITS) -> Parsed | Refused:
    result = parse(raw, limits=limits)
    assert isinstance(result, Parsed | Refused)
    if isinstance(result, Refused):
        assert result.reason in REASONS, result
        return result
    assert len(result.attachments) <= limits.max_attachments
    assert all(len(a.data) <= limits.max_attachment_bytes for a in result.attachments)
    assert sum(len(a.data) for a in result.attachments) <= limits.max_total_attachment_bytes
    for value in (result.subject, result.from_name, *(a.filename for a in result.attachments)):
        assert not any(ch in value for ch in "\r\n\x00")
    assert not any(ch in a.filename for a in result.attachments for ch in "/\\")
    kind = classify(result)
    if kind.name == "bounce":
        bounce_info(result)
    return result


@FUZZ
@given(st.binary(max_size=3_000))
def test_random_bytes_never_raise(raw):
    check(raw)


@FUZZ
@given(messages())
def test_malformed_mime_never_raises_and_respects_the_limits(raw):
    result = check(raw)
    if isinstance(result, Parsed):
        # Whatever was parsed is within the part and depth limits, counted by
        # the email package itself.
        bare = email.message_from_bytes(raw)
        assert sum(1 for _ in bare.walk()) <= LIMITS.max_parts


@FUZZ
@given(st.lists(st.binary(min_size=1, max_size=200), min_size=1, max_size=60), st.booleans())
def test_header_soup_never_raises(lines, crlf):
    newline = b"\r\n" if crlf else b"\n"
    check(newline.join(line.replace(b"\n", b" ") for line in lines) + newline * 2 + b"body")


def test_a_part_bomb_is_refused_with_little_memory():
    raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + \
        b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" * 20_000 + b"--b--\r\n"
    tracemalloc.start()
    try:
        result = parse(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(result, Refused) and result.reason == "too_many_parts"
    assert peak < 4 * len(raw), peak
