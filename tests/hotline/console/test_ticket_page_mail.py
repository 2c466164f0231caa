"""Internal notes (append-only) and e-mail replies to the complainant (queued, threaded, escaped)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from hotline import db
from hotline.tickets.intake import Actor, TicketError
from hotline.tickets.models import Event, ImmutableRecord, Ticket
from hotline.tickets.notes import TicketNote, add_note
from hotline.tickets.outbox import MAX_REFERENCES, OutgoingMail, queue_reply, reply_address
from tests.hotline.console.conftest import COUNTY, log_in
from tests.hotline.console.ticket_support import day, desk, token

MESSAGE_ID = re.compile(r"<ticket-(?P<number>[0-9]{4}-[0-9]{6})\.(?P<serial>[0-9]+)\.[0-9a-f]{16}"
                        r"@moe\.edu\.cn>")


@pytest.fixture
def agent(client, make_user):
    make_user("countyagent", COUNTY, "agent", name="李坐席")
    return log_in(client, "countyagent")


@pytest.fixture
def ticket(app) -> str:
    with desk(app) as d:
        subject = "转学后\r\nBcc: evil@example.com 查不到学籍"
        return d.ticket(email="parent@example.com", subject=subject).number


def mails(app, number: str) -> list[OutgoingMail]:
    """The ticket's outgoing mail, oldest first, detached (readable after the context)."""
    with app.app_context():
        session = db.session()
        rows = session.scalars(select(OutgoingMail).join(Ticket, Ticket.id == OutgoingMail.ticket_id)
                               .where(Ticket.number == number).order_by(OutgoingMail.id)).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def reply(client, number: str, body: str):
    return client.post(f"/console/tickets/{number}/reply", data={"csrf_token": token(client), "body": body})


def test_a_reply_is_queued_with_the_ticket_tag_our_message_id_and_the_mailbox(app, agent, ticket):
    response = reply(agent, ticket, "您好：\n孩子的学籍已核实。")
    assert response.status_code == 302
    (mail,) = mails(app, ticket)
    assert mail.kind == "reply" and mail.to_addr == "parent@example.com"
    assert mail.subject == f"[学籍工单 {ticket}] 关于“转学后 Bcc: evil@example.com 查不到学籍”的答复"
    assert MESSAGE_ID.fullmatch(mail.message_id)["number"] == ticket
    assert MESSAGE_ID.fullmatch(mail.message_id)["serial"] == "1"
    assert mail.in_reply_to is None and mail.references is None
    with app.app_context():
        assert mail.reply_to == "66119801@moe.edu.cn" == reply_address(ticket)
    assert (mail.status, mail.attempts, mail.last_error, mail.sent_at) == ("queued", 0, None, None)
    assert mail.next_attempt_at == mail.created_at
    assert mail.body_text.startswith("您好：\n孩子的学籍已核实。\n\n——\n学籍技术服务中心")
    assert f"[学籍工单 {ticket}]" in mail.body_text


def test_the_subject_carries_no_line_break_from_the_ticket(app, agent, ticket):
    reply(agent, ticket, "您好")
    (mail,) = mails(app, ticket)
    assert "\r" not in mail.subject and "\n" not in mail.subject


def test_each_reply_answers_the_last_message_of_the_thread(app, agent, ticket):
    for text in ("第一封", "第二封", "第三封"):
        assert reply(agent, ticket, text).status_code == 302
    first, second, third = mails(app, ticket)
    assert [MESSAGE_ID.fullmatch(m.message_id)["serial"] for m in (first, second, third)] == ["1", "2", "3"]
    assert second.in_reply_to == first.message_id and second.references == first.message_id
    assert third.in_reply_to == second.message_id
    assert third.references == f"{first.message_id} {second.message_id}"
    assert len({first.message_id, second.message_id, third.message_id}) == 3


def test_an_acknowledgement_already_sent_is_part_of_the_thread(app, agent, ticket):
    with desk(app) as d:
        t = d.get(ticket)
        d.session.add(OutgoingMail(ticket_id=t.id, kind="ack", to_addr="parent@example.com", subject="已收到",
                                   body_text="已收到", message_id="<ack-1@moe.edu.cn>",
                                   reply_to="66119801@moe.edu.cn", status="sent", attempts=1,
                                   next_attempt_at=day(3, 2), created_at=day(3, 2), sent_at=day(3, 2)))
    reply(agent, ticket, "您好")
    _ack, mail = mails(app, ticket)
    assert mail.in_reply_to == "<ack-1@moe.edu.cn>" and mail.references == "<ack-1@moe.edu.cn>"
    assert MESSAGE_ID.fullmatch(mail.message_id)["serial"] == "2"


def test_references_keep_the_first_and_the_latest_messages_of_a_long_thread(app):
    with desk(app) as d:
        t = d.ticket(email="parent@example.com")
        agent = Actor("坐席", COUNTY)
        sent = [queue_reply(d.session, t, agent, body=f"第 {i} 封").message_id for i in range(15)]
        last = queue_reply(d.session, t, Actor("坐席", COUNTY), body="最后一封")
        assert last.references.split() == [sent[0], *sent[-(MAX_REFERENCES - 1):]]
        assert last.in_reply_to == sent[-1]


def test_nothing_is_queued_for_a_complainant_without_an_e_mail_address(app, agent):
    with desk(app) as d:
        number = d.ticket(phone="13800138000", email=None).number
    page = reply(agent, number, "您好").get_data(as_text=True)
    assert "投诉人没有留下电子邮箱" in page
    assert mails(app, number) == []
    page = agent.get(f"/console/tickets/{number}").get_data(as_text=True)
    assert f'action="/console/tickets/{number}/reply"' not in page and "请通过电话答复" in page


def test_the_timeline_records_the_reply_but_not_the_address(app, agent, ticket):
    reply(agent, ticket, "您好")
    with app.app_context():
        texts = db.session().scalars(select(Event.text).where(Event.kind == "replied")).all()
    assert texts == ["通过电子邮件答复投诉人（第 1 封邮件）"]


def test_a_reply_is_plain_text_in_the_mail_and_escaped_on_the_page(app, agent, ticket):
    reply(agent, ticket, "<b>已核实</b> & <script>alert(1)</script>")
    (mail,) = mails(app, ticket)
    assert mail.body_text.startswith("<b>已核实</b> & <script>alert(1)</script>")
    page = agent.get(f"/console/tickets/{ticket}").get_data(as_text=True)
    assert "&lt;b&gt;已核实&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page


def test_an_over_long_reply_is_refused(app, agent, ticket):
    response = reply(agent, ticket, "长" * 10_001)
    assert response.status_code == 400 and "答复内容不能超过 10000 字" in response.get_data(as_text=True)
    assert mails(app, ticket) == []


def test_notes_are_listed_oldest_first_with_author_and_unit(app, agent, ticket):
    for text in ("第一条备注", "第二条<备注>"):
        assert agent.post(f"/console/tickets/{ticket}/note",
                          data={"csrf_token": token(agent), "text": text}).status_code == 302
    page = agent.get(f"/console/tickets/{ticket}").get_data(as_text=True)
    notes = re.findall(r'<article class="ticket-note"><p class="note-meta">[^<]* · ([^<]*) · ([^<]*)</p>'
                       r'<p class="prewrap">([^<]*)</p>', page)
    assert notes == [("长安区教育局", "李坐席", "第一条备注"),
                     ("长安区教育局", "李坐席", "第二条&lt;备注&gt;")]


def test_a_note_is_never_changed_or_deleted(app):
    with desk(app) as d:
        note_id = add_note(d.session, d.ticket(), Actor("坐席", COUNTY), text="原话").id
    for change in (lambda s, note: setattr(note, "text", "改过"), lambda s, note: s.delete(note)):
        with desk(app) as d:
            change(d.session, d.session.get(TicketNote, note_id))
            with pytest.raises(ImmutableRecord):
                d.session.flush()
            d.session.rollback()
    with desk(app) as d:
        assert d.session.get(TicketNote, note_id).text == "原话"


@pytest.mark.parametrize(("text", "message"), [("", "请填写备注内容"), ("长" * 2001, "备注不能超过 2000 字")])
def test_an_empty_or_over_long_note_is_refused_by_the_operation(app, text, message):
    with desk(app) as d, pytest.raises(TicketError, match=message):
        add_note(d.session, d.ticket(), Actor("坐席", COUNTY), text=text)
