"""The one pipeline: every message ends in exactly one recorded outcome (issue 6 items 1, 5, 8)."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from hotline.tickets.inbox import ReceivedMail
from hotline.tickets.models import Complainant, Ticket
from hotline.tickets.outbox import OutgoingMail
from mailintake.ack import sent_headers
from mailintake.intake import deliver
from mailintake.parsing import Limits
from tests.mailintake.conftest import MAILBOX, message


def test_a_complaint_naming_a_school_becomes_a_ticket_at_its_authority_with_an_acknowledgement(maildesk):
    raw = message("孩子在长安区第一小学（学校标识码 2113000001）读书，学籍一直转不过来。",
                  subject="学籍转不过来", message_id="<first@qq.com>")
    outcome = maildesk.ingest(raw)
    assert (outcome.outcome, outcome.unit) == ("ticket", "130102")
    ticket = maildesk.ticket(outcome)
    assert (ticket.channel, ticket.category, ticket.subject) == ("email", "other", "学籍转不过来")
    assert [s.school_code for s in ticket.schools] == ["2113000001"]
    complainant = maildesk.session.get(Complainant, ticket.id)
    assert (complainant.name, complainant.email) == ("家长", "parent@qq.com")
    [ack] = maildesk.acks(ticket)
    assert ack.to_addr == "parent@qq.com" and ack.status == "queued"
    assert ack.subject.startswith(f"[学籍工单 {ticket.number}] 已收到您的来信：学籍转不过来")
    assert ack.in_reply_to == "<first@qq.com>" and ack.message_id.startswith(f"<ticket-{ticket.number}.1.")
    assert ticket.number in ack.body_text
    row = maildesk.record(outcome)
    assert (row.outcome, row.ticket_id, row.acked) == ("ticket", ticket.id, True)
    assert row.message_id == "<first@qq.com>"
    assert (maildesk.spool.root / row.raw_path).read_bytes() == raw


def test_acknowledgements_are_sent_as_automatic_replies_with_our_loop_header():
    assert sent_headers("ack", MAILBOX) == {"X-Xueji-Loop": MAILBOX, "Auto-Submitted": "auto-replied",
                                            "X-Auto-Response-Suppress": "All"}
    assert sent_headers("reply", MAILBOX) == {"X-Xueji-Loop": MAILBOX}


def test_mail_that_names_nothing_routable_waits_in_the_receiving_units_triage(maildesk):
    outcome = maildesk.ingest(message("请问怎么查询学籍号？"))
    ticket = maildesk.ticket(outcome)
    assert (outcome.outcome, outcome.unit, ticket.step) == ("ticket", "000000", "triage")
    line = "邮件未提到可识别的学校标识码、学籍号、身份证号或地名，由受理单位分办"
    assert line in json.loads(ticket.routing_trace)


def test_the_receiving_unit_is_a_setting(maildesk):
    maildesk.config.receiving_unit = "130000"
    outcome = maildesk.ingest(message("请问怎么查询学籍号？"))
    assert (outcome.unit, maildesk.ticket(outcome).receiving_unit_code) == ("130000", "130000")


def test_an_auto_reply_makes_no_ticket_and_no_acknowledgement(maildesk):
    outcome = maildesk.ingest(message("我正在休假，将于下周回复。", subject="自动回复：学籍问题",
                                      Auto_Submitted="auto-replied"))
    assert (outcome.outcome, outcome.ticket) == ("auto", None)
    assert maildesk.count(Ticket) == 0 and maildesk.acks() == []
    assert "Auto-Submitted" in maildesk.record(outcome).reason


def test_our_own_mail_coming_back_is_a_loop(maildesk):
    outcome = maildesk.ingest(message("回执", X_Xueji_Loop=MAILBOX))
    assert (outcome.outcome, outcome.ticket) == ("loop", None)
    assert maildesk.count(Ticket) == 0 and maildesk.acks() == []


def test_a_permanent_bounce_of_our_acknowledgement_marks_the_contact_undeliverable(maildesk):
    first = maildesk.ingest(message("孩子学籍号查不到。", sender="家长 <nobody@qq.com>"))
    [ack] = maildesk.acks()
    bounce = message("Delivery to the following recipient failed permanently:\n\n    nobody@qq.com\n\n"
                     "550 5.1.1 user unknown\n\n----- Original message -----\n"
                     f"Message-ID: {ack.message_id}\n",
                     subject="Undelivered Mail Returned to Sender", sender="MAILER-DAEMON@qq.com")
    outcome = maildesk.ingest(bounce)
    assert (outcome.outcome, outcome.ticket) == ("bounce", first.ticket)
    ticket = maildesk.ticket(first)
    [event] = maildesk.events(ticket, "undeliverable")
    assert "永久性失败" in event.text and "nobody@qq.com" not in event.text
    assert maildesk.count(Ticket) == 1 and len(maildesk.acks()) == 1


def test_a_bounce_of_someone_elses_mail_is_only_recorded(maildesk):
    outcome = maildesk.ingest(message("550 5.1.1 user unknown\nMessage-ID: <other@example.com>",
                                      subject="Undelivered Mail", sender="MAILER-DAEMON@qq.com"))
    assert (outcome.outcome, outcome.ticket) == ("bounce", None)
    assert "不是本系统发出的" in maildesk.record(outcome).reason


def test_mail_over_a_limit_is_quarantined_with_the_raw_kept_and_the_reason(maildesk):
    maildesk.config.limits = Limits(max_bytes=2000)
    raw = message("很长的来信。" * 400)
    outcome = maildesk.ingest(raw)
    assert (outcome.outcome, outcome.ticket) == ("quarantine", None)
    row = maildesk.record(outcome)
    assert row.reason.startswith("too_large：") and (maildesk.spool.root / row.raw_path).read_bytes() == raw
    waiting = maildesk.session.execute(text("SELECT id, reason FROM quarantine")).all()
    assert waiting == [(row.id, row.reason)]


def test_mail_without_a_usable_sender_is_quarantined(maildesk):
    outcome = maildesk.ingest(message("没有发件人", sender="undisclosed-recipients:;"))
    assert outcome.outcome == "quarantine" and maildesk.record(outcome).reason.startswith("no_sender")


def test_an_error_while_processing_one_message_quarantines_it_instead_of_stopping_the_worker(maildesk):
    maildesk.config.receiving_unit = "999999"  # no such unit: create_ticket refuses
    raw = message("请问怎么查询学籍号？")
    outcome = deliver(maildesk.session, raw, source="spool", source_key="k1", settings=maildesk.config,
                      raw_path="cur/k1")
    assert outcome.outcome == "quarantine"
    assert maildesk.record(outcome).reason == "error：处理时出错（TicketError），已隔离待人工处理"
    assert maildesk.count(Ticket) == 0 and maildesk.count(OutgoingMail) == 0


def test_every_message_gets_exactly_one_row_with_one_outcome(maildesk):
    raws = [message("学校标识码 2113000001"), message("自动回复", Auto_Submitted="auto-generated"),
            message("回流", X_Xueji_Loop=MAILBOX), message("")]
    outcomes = [maildesk.ingest(raw) for raw in raws]
    rows = maildesk.session.scalars(select(ReceivedMail).order_by(ReceivedMail.id)).all()
    assert [r.outcome for r in rows] == [o.outcome for o in outcomes] == ["ticket", "auto", "loop", "ticket"]
