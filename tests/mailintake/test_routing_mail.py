"""What a message names decides its unit, through the one routing function (issue 6 item 3)."""

from __future__ import annotations

import datetime
import json

import pytest
from sqlalchemy import select

from hotline.tickets.models import Event, TicketStudent
from lookup.models import NumberChange
from lookup.numbers import mask_id_number
from tests.lookup.factories import id_number, j_number
from tests.mailintake.conftest import G_ID, J, message


def trace(maildesk, outcome) -> list[str]:
    return json.loads(maildesk.ticket(outcome).routing_trace)


@pytest.mark.parametrize(("body", "unit", "step"), [
    ("学校标识码 2113000001", "130102", "forwarding"),  # one school: its direct authority
    ("学校标识码 ２１１３０００００１（全角）", "130102", "forwarding"),
    ("两所学校：2113000001 和 2113000002", "130100", "forwarding"),  # two counties: the prefecture
    ("北京 2111000001，河北 2113000001", "000000", "verify_issue"),  # two provinces: the ministry
    (f"孩子的学籍号是 {J}", "130104", "forwarding"),  # a J number: the student's school
    (f"身份证号 {G_ID}", "130102", "forwarding"),  # an ID number: the student with that hash
    (f"G{G_ID}", "130102", "forwarding"),  # a G number: the ID number inside it
    ("我家在北京市海淀区，学籍号查不到", "110108", "forwarding"),  # places on one line: the deepest
    ("河北省石家庄市长安区的学校", "130102", "forwarding"),
    ("孩子在北京上学，户口在河北", "000000", "verify_issue"),  # two provinces by place
])
def test_the_unit_comes_from_what_the_message_names(maildesk, body, unit, step):
    outcome = maildesk.ingest(message(body))
    assert (outcome.outcome, outcome.unit, maildesk.ticket(outcome).step) == ("ticket", unit, step)


def test_schools_decide_and_places_are_only_noted(maildesk):
    outcome = maildesk.ingest(message("学校标识码 2113000001，我们住在北京市海淀区"))
    assert outcome.unit == "130102"
    assert "邮件提到的地名（已有学校，未用于分办）：北京市、海淀区" in trace(maildesk, outcome)


def test_an_unknown_school_code_is_shown_and_the_mail_is_triaged(maildesk):
    outcome = maildesk.ingest(message("学校标识码 2113999999"))
    assert (outcome.unit, maildesk.ticket(outcome).step) == ("000000", "triage")
    assert "邮件中的学校标识码在学籍库中不存在，未用于分办：2113999999" in trace(maildesk, outcome)


def test_an_ambiguous_place_is_shown_as_a_candidate_for_triage(maildesk):
    outcome = maildesk.ingest(message("孩子在朝阳区上学"))
    assert (outcome.unit, maildesk.ticket(outcome).step) == ("000000", "triage")
    assert any(line.startswith("邮件提到的地名有多个同名行政区，未用于分办：朝阳区（110105、")
               for line in trace(maildesk, outcome))


def test_a_place_routing_is_on_the_timeline_as_an_assignment(maildesk):
    outcome = maildesk.ingest(message("我家在北京市海淀区"))
    ticket = maildesk.ticket(outcome)
    [event] = maildesk.events(ticket, "assigned")
    assert event.text.startswith("依据邮件提到的地名分办：") and event.target_unit_code == "110108"


def test_an_old_number_is_followed_through_the_history_and_kept_without_identity_data(maildesk):
    old = j_number(7)
    maildesk.session.add(NumberChange(old_number=old, new_number=f"G{G_ID}", reason="补录身份证号",
                                      changed_on=datetime.date(2020, 9, 1)))
    maildesk.session.flush()
    outcome = maildesk.ingest(message(f"原来的学籍号 {old}"))
    assert outcome.unit == "130102"
    [student] = maildesk.ticket(outcome).students
    assert student.number == old  # not the G number: it would hold the ID number in clear


def test_an_id_number_is_kept_only_hashed_and_masked_never_in_clear(maildesk):
    unknown = id_number("110105", "20100101", 3)
    outcome = maildesk.ingest(message(f"身份证号 {G_ID}，还有一个 {unknown}", subject=f"关于 {unknown}"))
    ticket = maildesk.ticket(outcome)
    students = maildesk.session.scalars(select(TicketStudent).where(TicketStudent.ticket_id == ticket.id)
                                        .order_by(TicketStudent.id)).all()
    assert {(s.number, s.id_hash, s.id_masked) for s in students} == {
        (None, maildesk.config.hash_id(G_ID), mask_id_number(G_ID)),
        (None, maildesk.config.hash_id(unknown), mask_id_number(unknown))}
    kept = [ticket.subject, ticket.description, ticket.routing_trace,
            *maildesk.session.scalars(select(Event.text).where(Event.ticket_id == ticket.id)),
            *(a.subject + a.body_text for a in maildesk.acks(ticket))]
    for number in (G_ID, unknown):
        assert not any(number in text for text in kept)
    assert mask_id_number(unknown) in ticket.description and mask_id_number(unknown) in ticket.subject
