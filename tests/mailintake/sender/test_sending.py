"""The sender: queued mail leaves through the relay with the right headers, or is retried (issue 6 item 7).

The relay is a real aiosmtpd server on loopback (see conftest.py); what it
received is parsed and checked header by header.
"""

from __future__ import annotations

import datetime

import pytest
from sqlalchemy import update

from hotline.tickets.intake import Actor
from hotline.tickets.outbox import OutgoingMail, queue_reply
from mailintake.classify import signed_reply_address
from mailintake.sender import FIRST_RETRY, MAX_ATTEMPTS, Relay, backoff
from tests.hotline.test_serve import free_port
from tests.mailintake.conftest import MAILBOX, message
from tests.mailintake.sender.conftest import T, due, rows, send


def test_an_acknowledgement_leaves_with_its_threading_and_rfc_3834_headers(desk, relay, sink):
    assert send(desk, relay) == {"sent": 1}
    [ack] = rows(desk)
    [received] = sink.received
    assert (received.mail_from, received.rcpt_tos) == (MAILBOX, ["parent@qq.com"])
    sent = received.message
    assert sent["From"].addresses[0].display_name == "学籍技术服务中心"
    assert sent["From"].addresses[0].addr_spec == MAILBOX
    assert sent["To"] == "parent@qq.com"
    assert sent["Subject"] == ack.subject and ack.subject.startswith(f"[学籍工单 {desk.ticket_.number}]")
    assert sent["Message-ID"] == ack.message_id
    assert sent["In-Reply-To"] == "<first@qq.com>" and sent["References"] == "<first@qq.com>"
    assert sent["Reply-To"] == signed_reply_address(MAILBOX, desk.ticket_.number, desk.config.reply_key)
    assert (sent["X-Xueji-Loop"], sent["Auto-Submitted"], sent["X-Auto-Response-Suppress"]) == (
        MAILBOX, "auto-replied", "All")
    assert sent["Date"].datetime == T and sent["Date"].datetime.utcoffset() == datetime.timedelta(hours=8)
    assert desk.ticket_.number in sent.get_content()
    assert (ack.status, ack.attempts, ack.sent_at, ack.last_error) == ("sent", 1, T, None)


def test_an_agents_reply_threads_after_the_acknowledgement_and_is_not_auto_submitted(desk, relay, sink):
    ticket = desk.ticket_
    agent = Actor("王老师", ticket.current_unit_code)
    queue_reply(desk.session, ticket, agent, body="已转交学校核实。", at=T)
    desk.session.commit()
    assert send(desk, relay) == {"sent": 2}
    ack, reply = rows(desk)
    by_id = {r.message["Message-ID"]: r.message for r in sink.received}
    sent = by_id[reply.message_id]
    assert sent["In-Reply-To"] == ack.message_id
    assert sent["References"].split() == ["<first@qq.com>", ack.message_id]
    assert sent["X-Xueji-Loop"] == MAILBOX and "Auto-Submitted" not in sent
    assert "已转交学校核实。" in sent.get_content()


def test_our_sent_mail_coming_back_is_a_loop_and_an_answer_to_it_lands_on_the_ticket(desk, relay, sink):
    send(desk, relay)
    [received] = sink.received
    assert desk.ingest(received.raw).outcome == "loop"
    # A client that keeps only the Reply-To address: no tag, no In-Reply-To.
    answer = desk.ingest(message("补充材料", subject="补充", to=received.message["Reply-To"]))
    assert (answer.outcome, answer.ticket) == ("reply", desk.ticket_.number)


def test_a_temporary_refusal_is_retried_with_exponential_backoff(desk, relay, sink):
    sink.data_reply = "451 4.3.0 Please try again later"
    assert send(desk, relay) == {"retry": 1}
    [ack] = rows(desk)
    assert (ack.status, ack.attempts, ack.next_attempt_at) == ("queued", 1, T + FIRST_RETRY)
    assert ack.last_error == "发信服务器拒收（451 4.3.0 Please try again later）"
    assert send(desk, relay, T + FIRST_RETRY / 2) == {}  # not due yet
    assert send(desk, relay, T + FIRST_RETRY) == {"retry": 1}
    [ack] = rows(desk)
    assert (ack.attempts, ack.next_attempt_at) == (2, T + FIRST_RETRY + 2 * FIRST_RETRY)
    sink.data_reply = None
    assert send(desk, relay, ack.next_attempt_at) == {"sent": 1}
    [ack] = rows(desk)
    assert (ack.status, ack.attempts, ack.last_error) == ("sent", 3, None) and len(sink.received) == 1


def test_a_relay_that_is_down_is_retried_and_the_round_stops_at_the_first_failure(desk):
    desk.ingest(message("学校标识码 2113000002", sender="家长乙 <b@163.com>"))
    due(desk, T)
    down = Relay("127.0.0.1", free_port(), timeout=5.0, tls="none")
    assert send(desk, down) == {"retry": 1}
    tried, waiting = rows(desk)
    assert (tried.status, tried.attempts) == ("queued", 1)
    assert tried.last_error == f"无法连接发信服务器 127.0.0.1:{down.port}（ConnectionRefusedError）"
    assert (waiting.status, waiting.attempts, waiting.last_error) == ("queued", 0, None)


def test_mail_fails_after_the_last_attempt_and_the_ticket_says_to_phone(desk):
    down = Relay("127.0.0.1", free_port(), timeout=5.0, tls="none")
    at, waits = T, []
    for _ in range(MAX_ATTEMPTS):
        assert send(desk, down, at) in ({"retry": 1}, {"failed": 1})
        [ack] = rows(desk)
        waits.append(ack.next_attempt_at - at)
        at = ack.next_attempt_at
    assert (ack.status, ack.attempts) == ("failed", MAX_ATTEMPTS)
    assert waits[:-1] == [backoff(n) for n in range(1, MAX_ATTEMPTS)]
    assert waits[:8] == [datetime.timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 64, 120)]
    [event] = desk.events(desk.ticket_, "undeliverable")
    assert event.text == f"发给投诉人的受理回执邮件经 {MAX_ATTEMPTS} 次尝试仍未发出，请改用电话联系"
    assert send(desk, down, at + datetime.timedelta(days=30)) == {}  # never tried again


@pytest.mark.parametrize("stage, reply", [
    ("rcpt", "550 5.1.1 <parent@qq.com>: Recipient address rejected"),
    ("data", "554 5.7.1 Message rejected as spam"),
])
def test_a_permanent_refusal_fails_at_once_and_is_noted_on_the_ticket(desk, relay, sink, stage, reply):
    setattr(sink, f"{stage}_reply", reply)
    assert send(desk, relay) == {"failed": 1}
    [ack] = rows(desk)
    assert (ack.status, ack.attempts, ack.last_error) == ("failed", 1, f"发信服务器拒收（{reply}）")
    [event] = desk.events(desk.ticket_, "undeliverable")
    assert event.text == "发给投诉人的受理回执邮件被拒收，请改用电话联系"
    assert sink.received == []


def test_a_permanent_refusal_of_one_message_does_not_hold_up_the_next(desk, relay, sink):
    desk.ingest(message("学校标识码 2113000002", sender="家长乙 <b@163.com>"))
    due(desk, T)
    desk.session.execute(update(OutgoingMail).where(OutgoingMail.to_addr == "parent@qq.com")
                         .values(to_addr="nobody@invalid.example"))
    desk.session.commit()

    async def refuse_one(server, session, envelope, address, options):
        if address == "nobody@invalid.example":
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"
    sink.handle_RCPT = refuse_one
    assert send(desk, relay) == {"failed": 1, "sent": 1}
    assert [r.rcpt_tos for r in sink.received] == [["b@163.com"]]
