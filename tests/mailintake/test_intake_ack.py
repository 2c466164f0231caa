"""Acknowledgements: limited per sender, counted in the database; safe subjects (issue 6 item 5)."""

from __future__ import annotations

import base64
import datetime

from sqlalchemy import update

from hotline.tickets.inbox import ReceivedMail
from tests.mailintake.conftest import message


def test_acknowledgements_are_limited_per_sender_and_hour_but_every_mail_is_a_ticket(maildesk):
    maildesk.config.ack_per_hour = 10  # XUEJI_MAIL_ACK_PER_HOUR
    outcomes = [maildesk.ingest(message(f"第 {i} 封")) for i in range(11)]
    assert [o.outcome for o in outcomes] == ["ticket"] * 11
    assert len(maildesk.acks()) == 10
    last = maildesk.record(outcomes[-1])
    assert (last.acked, last.reason) == (False, "该发件人一小时内已收到 10 封受理回执，本次未再发送")
    # Another sender is not held back by the first one's count.
    other = maildesk.ingest(message("另一位家长", sender="家长乙 <b@163.com>"))
    assert maildesk.record(other).acked is True


def test_the_limit_counts_the_last_hour_only(maildesk):
    maildesk.config.ack_per_hour = 2
    for i in range(3):
        maildesk.ingest(message(f"第 {i} 封"))
    assert len(maildesk.acks()) == 2
    maildesk.session.execute(update(ReceivedMail).values(
        processed_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=61)))
    maildesk.session.commit()
    assert maildesk.record(maildesk.ingest(message("一小时后"))).acked is True


def test_no_acknowledgements_at_all_when_the_limit_is_zero(maildesk):
    maildesk.config.ack_per_hour = 0
    outcome = maildesk.ingest(message("学校标识码 2113000001"))
    assert outcome.outcome == "ticket" and maildesk.acks() == []


def test_a_subject_that_tries_to_add_headers_stays_one_line_in_our_acknowledgement(maildesk):
    evil = "=?utf-8?b?" + base64.b64encode("学籍\r\nBcc: victim@example.com".encode()).decode() + "?="
    raw = message("正文").replace(b"Subject: ", b"Subject: " + evil.encode() + b" ", 1)
    outcome = maildesk.ingest(raw)
    [ack] = maildesk.acks(maildesk.ticket(outcome))
    assert "\r" not in ack.subject and "\n" not in ack.subject and "Bcc: victim" in ack.subject
