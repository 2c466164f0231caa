"""The sent message is safe and exact: no header injection, Chinese round-trips, ids never encoded."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from hotline.tickets.outbox import OutgoingMail
from mailintake.sender import Relay
from tests.hotline.test_serve import free_port
from tests.mailintake.sender.conftest import Sink, rows, send

INJECTION = "\r\nBcc: victim@example.com\r\nX-Evil: 1"


def put(maildesk, **values) -> None:
    """Write a queued row's columns directly, as a careless caller could have queued them."""
    maildesk.session.execute(update(OutgoingMail).values(**values))
    maildesk.session.commit()


def test_a_subject_with_line_breaks_is_sent_on_one_line_to_the_one_recipient(desk, relay, sink):
    put(desk, subject="学籍问题" + INJECTION)
    assert send(desk, relay) == {"sent": 1}
    [received] = sink.received
    sent = received.message
    assert received.rcpt_tos == ["parent@qq.com"]
    assert "Bcc" not in sent and "X-Evil" not in sent
    assert sent["Subject"] == "学籍问题 Bcc: victim@example.com X-Evil: 1"


def test_message_ids_with_line_breaks_lose_everything_but_the_ids(desk, relay, sink):
    put(desk, in_reply_to="<first@qq.com>" + INJECTION, references="<a@qq.com>" + INJECTION + " <b@qq.com>")
    assert send(desk, relay) == {"sent": 1}
    sent = sink.received[0].message
    assert (sent["In-Reply-To"], sent["References"]) == ("<first@qq.com>", "<a@qq.com> <b@qq.com>")
    assert "Bcc" not in sent and "X-Evil" not in sent


@pytest.mark.parametrize("address", [
    "parent@qq.com" + INJECTION,
    "parent@qq.com, victim@example.com",
    "家长 <parent@qq.com>",
    "parent",
])
def test_a_recipient_that_is_not_one_plain_address_is_never_sent_to(desk, relay, sink, address):
    put(desk, to_addr=address)
    assert send(desk, relay) == {"failed": 1}
    [ack] = rows(desk)
    assert (ack.status, ack.last_error) == ("failed", "收件地址无效")
    assert sink.received == []


def test_a_long_chinese_subject_round_trips_through_rfc_2047(desk, relay, sink):
    subject = ("[学籍工单 2026-000001] 关于“孩子从河北转学到北京以后学籍迟迟没有转过来，"
               "学校说要等省里审批”的答复")
    put(desk, subject=subject, body_text="您好：\n学籍已转入。")
    send(desk, relay)
    raw = sink.received[0].raw
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and b"=?utf-8?" in head
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    sent = sink.received[0].message
    assert sent["Subject"] == subject
    assert sent.get_content() == "您好：\r\n学籍已转入。\r\n"  # text in canonical form (RFC 2046 4.1.1)
    assert sent.get_content_charset() == "utf-8"


def test_a_long_foreign_message_id_is_folded_never_encoded(desk, relay, sink):
    gmail = "<CAHk" + "x" * 90 + "@mail.gmail.com>"
    put(desk, in_reply_to=gmail, references=f"<a@qq.com> {gmail}")
    send(desk, relay)
    raw = sink.received[0].raw
    assert f"In-Reply-To: {gmail}\r\n".encode() in raw
    assert f"References: <a@qq.com>\r\n {gmail}\r\n".encode() in raw
    sent = sink.received[0].message
    assert (sent["In-Reply-To"], sent["References"].split()) == (gmail, ["<a@qq.com>", gmail])


def test_a_chinese_address_goes_out_with_smtputf8(desk, relay, sink):
    put(desk, to_addr="家长@例子.中国")
    assert send(desk, relay) == {"sent": 1}
    [received] = sink.received
    assert received.rcpt_tos == ["家长@例子.中国"]
    assert received.message["To"] == "家长@例子.中国"


def test_a_chinese_address_fails_for_good_when_the_relay_lacks_smtputf8(desk):
    plain = Sink(port=free_port())
    controller = Controller(plain, hostname="127.0.0.1", port=plain.port, enable_SMTPUTF8=False)
    controller.start()
    try:
        put(desk, to_addr="家长@例子.中国")
        assert send(desk, Relay("127.0.0.1", plain.port, timeout=5.0, tls="none")) == {"failed": 1}
    finally:
        controller.stop()
    [ack] = rows(desk)
    assert ack.last_error == "发信服务器不支持中文邮箱地址（SMTPUTF8）" and plain.received == []
