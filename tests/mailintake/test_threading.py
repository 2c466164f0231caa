"""Replies join their ticket: by header, by signed address, by tag; closed tickets reopen in a window.

Issue 6 item 4.
"""

from __future__ import annotations

import datetime
import json

import pytest

from hotline.tickets import workflow
from hotline.tickets.models import Ticket
from hotline.tickets.workflow import Actor
from mailintake.classify import signed_reply_address
from tests.mailintake.conftest import MAILBOX, message

COMPLAINT = "孩子在长安区第一小学（2113000001）读书，学籍号查不到。"
QUOTED = "\n\n------------------ 原始邮件 ------------------\n发件人: 学籍技术服务中心\n我们已收到您的来信。"


@pytest.fixture
def first(maildesk):
    """A complaint received by the county itself, so that it can be answered and closed there."""
    maildesk.config.receiving_unit = "130102"
    outcome = maildesk.ingest(message(COMPLAINT, subject="学籍号查不到", message_id="<orig@qq.com>"))
    return maildesk.ticket(outcome)


def ack_of(maildesk, ticket: Ticket):
    [ack] = maildesk.acks(ticket)
    return ack


def close(maildesk, ticket: Ticket, at: datetime.datetime) -> None:
    workflow.close_answered(maildesk.session, ticket, Actor("办理人", "130102"), answer="已答复家长", at=at)
    maildesk.session.commit()


def test_a_reply_to_our_acknowledgement_joins_its_ticket_by_in_reply_to(maildesk, first):
    ack = ack_of(maildesk, first)
    outcome = maildesk.ingest(message("补充：孩子今年三年级。" + QUOTED, subject="回复：" + ack.subject,
                                      In_Reply_To=ack.message_id))
    assert (outcome.outcome, outcome.ticket, outcome.unit) == ("reply", first.number, "130102")
    [event] = maildesk.events(first, "mail_reply")
    assert "补充：孩子今年三年级。" in event.text and "原始邮件" not in event.text
    assert len(maildesk.acks()) == 1  # a reply is not acknowledged again


def test_a_reply_joins_by_references_when_in_reply_to_is_missing(maildesk, first):
    ack = ack_of(maildesk, first)
    outcome = maildesk.ingest(message("补充材料", subject="关于我的问题",
                                      References=f"<orig@qq.com> {ack.message_id}"))
    assert (outcome.outcome, outcome.ticket) == ("reply", first.number)


def test_a_follow_up_to_the_complainants_own_first_message_joins_it(maildesk, first):
    outcome = maildesk.ingest(message("又想起一件事", subject="Re: 学籍号查不到",
                                      In_Reply_To="<orig@qq.com>"))
    assert (outcome.outcome, outcome.ticket) == ("reply", first.number)


def test_a_reply_to_the_signed_address_joins_even_without_reply_headers(maildesk, first):
    address = signed_reply_address(MAILBOX, first.number, maildesk.config.reply_key)
    outcome = maildesk.ingest(message("换了个邮箱客户端写的", subject="补充", sender="家长 <other@163.com>",
                                      to=address))
    assert (outcome.outcome, outcome.ticket) == ("reply", first.number)


def test_a_tampered_signed_address_is_ignored_and_the_mail_opens_a_new_ticket(maildesk, first):
    address = signed_reply_address(MAILBOX, first.number, maildesk.config.reply_key)
    forged = address.replace(address.split(".")[1][:10], "0123456789")
    outcome = maildesk.ingest(message("我也有问题", subject="补充", sender="其他人 <x@163.com>", to=forged))
    assert outcome.outcome == "ticket" and outcome.ticket != first.number
    assert "收件地址中的工单回复地址签名无效（可能被篡改），未据此归并" in json.loads(
        maildesk.ticket(outcome).routing_trace)


def test_the_subject_tag_threads_mail_from_the_complainant(maildesk, first):
    outcome = maildesk.ingest(message("我又写了一封新邮件", subject=f"关于【学籍工单 {first.number}】的补充"))
    assert (outcome.outcome, outcome.ticket) == ("reply", first.number)


def test_the_subject_tag_from_someone_else_opens_a_new_ticket_that_names_it(maildesk, first):
    outcome = maildesk.ingest(message("冒用别人的工单号", subject=f"[学籍工单 {first.number}]",
                                      sender="陌生人 <stranger@163.com>"))
    assert outcome.outcome == "ticket" and outcome.ticket != first.number
    assert f"邮件主题中的工单编号 {first.number} 与发件人不符，未据此归并" in json.loads(
        maildesk.ticket(outcome).routing_trace)
    assert maildesk.events(first, "mail_reply") == []


def test_a_reply_to_a_ticket_closed_within_the_window_reopens_it(maildesk):
    maildesk.config.receiving_unit = "130102"
    now = datetime.datetime.now(datetime.UTC)
    first = maildesk.ticket(maildesk.received(message(COMPLAINT), now - datetime.timedelta(days=20)))
    close(maildesk, first, now - datetime.timedelta(days=maildesk.config.reopen_days - 1))
    ack = ack_of(maildesk, first)
    outcome = maildesk.ingest(message("问题还没有解决", subject="Re: 学籍号查不到",
                                      In_Reply_To=ack.message_id))
    assert (outcome.outcome, outcome.ticket) == ("reply", first.number)
    maildesk.session.refresh(first)
    assert first.step == "verify_issue"
    assert [e.kind for e in maildesk.events(first)][-2:] == ["reopened", "mail_reply"]


def test_a_reply_after_the_window_opens_a_new_ticket_linked_both_ways(maildesk):
    maildesk.config.receiving_unit = "130102"
    maildesk.config.reopen_days = 5  # XUEJI_MAIL_REOPEN_DAYS
    now = datetime.datetime.now(datetime.UTC)
    first = maildesk.ticket(maildesk.received(message(COMPLAINT), now - datetime.timedelta(days=20)))
    close(maildesk, first, now - datetime.timedelta(days=6))
    ack = ack_of(maildesk, first)
    outcome = maildesk.ingest(message("问题又出现了", subject="Re: 学籍号查不到", In_Reply_To=ack.message_id))
    assert outcome.outcome == "ticket" and outcome.ticket != first.number
    assert f"投诉人就已办结超过 5 天的工单 {first.number} 再次来信，另立新工单" in json.loads(
        maildesk.ticket(outcome).routing_trace)
    [link] = maildesk.events(first, "mail_followup")
    assert link.text == f"投诉人再次来信，已另立新工单 {outcome.ticket}"
    maildesk.session.refresh(first)
    assert first.step == "closed"
