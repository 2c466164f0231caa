"""What a message names decides its unit, through the one routing function (issue 6 item 3)."""

from __future__ import annotations

import datetime
import json
from email import policy
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from hotline.tickets.models import Event, TicketStudent
from lookup.models import NumberChange, School
from lookup.numbers import mask_id_number
from mailintake.school_match import resolve_names
from mailintake.school_names import SchoolMention
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


# Schools found by name (issue 6 item 3), with the names the registry gives them
# (as tests/lookup/factories.py and lookup/synth_schools.py write them): 长安区第一小学
# is also a school of Xi'an's 长安区, and 实验小学 is the registered name of two.
NAMED = {
    "3142000001": ("仙桃市第一中学", "429004", "429004"),  # province-administered city
    "3142000002": ("武汉市江岸区第一中学", "420102", "420102"),
    "3413000001": ("石家庄市第一中学", "130102", "130100"),  # 市直属
    "3413000002": ("河北省实验中学", "130102", "130000"),  # 省直属
    "2161000001": ("长安区第一小学", "610116", "610116"),  # 2113000001's name, in Xi'an
    "2111000009": ("北京市朝阳区实验小学", "110105", "110105"),
    "2122000009": ("朝阳区实验小学", "220104", "220104"),  # 长春's 朝阳区
    "2144000001": ("东莞市莞城中心小学", "441900", "441900"),  # prefecture without counties
    "2142000009": ("实验小学", "429004", "429004"),
    "2113000009": ("实验小学", "130104", "130104"),
    "2113000008": ("育才小学", "130104", "130104"),
    "2113000007": ("石家庄市第一中学附属小学", "130102", "130102"),
}


@pytest.fixture
def named(maildesk):
    for code, (name, division, authority) in NAMED.items():
        maildesk.session.add(School(code=code, name=name, division_code=division, authority_code=authority))
    maildesk.session.flush()
    return maildesk


@pytest.mark.parametrize(("body", "unit", "step"), [
    ("孩子在仙桃市第一中学读高二，学籍号查不到", "429004", "forwarding"),  # exactly as registered
    ("孩子在湖北仙桃第一中学读书", "429004", "forwarding"),  # a short place in the name
    ("孩子在仙桃一中读书", "429004", "forwarding"),  # the spoken short form
    ("孩子在仙桃市第１中学（全角数字）", "429004", "forwarding"),
    ("孩子在仙桃市　第一\n中学读书", "429004", "forwarding"),  # full-width space, wrapped line
    ("孩子就读的学校是“石家庄市第一中学”，谢谢", "130100", "forwarding"),  # 市直属: the prefecture
    ("【河北省实验中学】学籍问题", "130000", "forwarding"),  # 省直属: the province
    ("东莞市莞城中心小学不给转学籍", "441900", "forwarding"),
    # A bare name, with the place named elsewhere in the mail.
    ("孩子在第一中学读书，我们是湖北仙桃的", "429004", "forwarding"),
    ("我们在武汉江岸区，孩子的学校是第一中学", "420102", "forwarding"),
    # Names shared by several schools, decided by a place the mail names.
    ("我们在石家庄，孩子在长安区第一小学", "130102", "forwarding"),
    ("我们在西安市，孩子在长安区第一小学", "610116", "forwarding"),
    ("孩子在北京朝阳区实验小学", "110105", "forwarding"),
    ("孩子在长春市朝阳区实验小学", "220104", "forwarding"),
    ("我家在仙桃，孩子上实验小学", "429004", "forwarding"),
    # Two schools by name: their lowest common authority (2014 notice item 1).
    ("孩子从桥西区第一小学转到石家庄市长安区第一小学", "130100", "forwarding"),
    ("仙桃市第一中学和石家庄市第一中学", "000000", "verify_issue"),
    # A name inside a longer one the registry knows is that one: the primary school only.
    ("孩子在石家庄市第一中学附属小学读书", "130102", "forwarding"),
])
def test_a_school_named_in_the_mail_routes_it_like_its_code(named, body, unit, step):
    outcome = named.ingest(message(body))
    assert (outcome.outcome, outcome.unit, named.ticket(outcome).step) == ("ticket", unit, step)


TWO_CHANGAN = ["长安区第一小学（2113000001）", "长安区第一小学（2161000001）"]


@pytest.mark.parametrize(("body", "candidates"), [
    ("孩子在长安区第一小学读书", TWO_CHANGAN),
    ("孩子在朝阳区实验小学", ["朝阳区实验小学（2122000009）", "北京市朝阳区实验小学（2111000009）"]),
    ("孩子在实验小学读书", ["实验小学（2113000009）", "实验小学（2142000009）"]),
    # A place that lies over none of the candidates decides nothing, and does not route either.
    ("孩子在长安区第一小学，家在北京市海淀区", TWO_CHANGAN),
])
def test_a_name_of_several_schools_is_not_guessed_the_candidates_go_to_triage(named, body, candidates):
    outcome = named.ingest(message(body))
    ticket = named.ticket(outcome)
    assert (outcome.unit, ticket.step, ticket.responsible_unit_code) == ("000000", "triage", None)
    lines = trace(named, outcome)
    [line] = [line for line in lines if "对应多所学校，未用于分办" in line]
    assert all(candidate in line for candidate in candidates)
    assert "邮件中的学校名称对应多所学校，不作推测，由受理单位分办" in lines
    assert not named.events(ticket, "assigned")  # no place routing either


def test_a_school_found_by_name_is_named_in_the_trace(named):
    outcome = named.ingest(message("孩子在仙桃一中读书"))
    assert "依据邮件中的学校名称识别的学校：“仙桃一中”→仙桃市第一中学（3142000001）" in trace(named, outcome)
    assert [s.school_code for s in named.ticket(outcome).schools] == ["3142000001"]


def test_a_name_the_registry_does_not_know_is_shown_and_the_places_route(named):
    outcome = named.ingest(message("孩子在育英中学读书，家在北京市海淀区"))
    assert outcome.unit == "110108"
    assert "邮件中的学校名称在学籍库中找不到，未用于分办：“育英中学”" in trace(named, outcome)


@pytest.mark.parametrize(("body", "unit", "noted"), [
    # Codes and numbers first: a name is only noted.
    ("学校标识码 2113000002，以前在仙桃市第一中学", "130104",
     "邮件提到的学校名称（已有学校标识码或学籍号，未用于分办）：仙桃市第一中学"),
    (f"孩子的学籍号是 {J}，原来在仙桃一中", "130104",
     "邮件提到的学校名称（已有学校标识码或学籍号，未用于分办）：仙桃一中"),
    # Then names: places are only noted.
    ("孩子在仙桃市第一中学，我们现在住在北京市海淀区", "429004",
     "邮件提到的地名（已有学校，未用于分办）：仙桃市、北京市、海淀区"),
    # An unknown code does not count: the name routes.
    ("学校标识码 2113999999，仙桃市第一中学", "429004",
     "邮件中的学校标识码在学籍库中不存在，未用于分办：2113999999"),
])
def test_codes_and_numbers_come_before_names_and_names_before_places(named, body, unit, noted):
    outcome = named.ingest(message(body))
    assert outcome.unit == unit
    assert noted in trace(named, outcome)


@pytest.mark.parametrize("body", [
    "我的小学同学说学校不给转学籍，中学生都一样",
    "学校说系统里查不到，孩子学校说要等",
    "民办学校和附近的中学都不收",
])
def test_ordinary_sentences_name_no_school_and_the_mail_is_triaged(named, body):
    outcome = named.ingest(message(body))
    assert (outcome.unit, named.ticket(outcome).step) == ("000000", "triage")
    assert not any("学校名称" in line for line in trace(named, outcome))


def test_a_name_in_an_html_only_mail_is_found(named):
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "家长 <parent@qq.com>", "66119801@moe.edu.cn", "学籍问题"
    mail.set_content("<html><body><p>老师您好：</p><p>孩子在<b>石家庄市第一中学</b>&nbsp;读初二，"
                     "学籍转不过来。</p></body></html>", subtype="html")
    outcome = named.ingest(mail.as_bytes(policy=policy.SMTP))
    assert (outcome.outcome, outcome.unit) == ("ticket", "130100")


def test_a_big_mail_full_of_names_is_bounded(named):
    body = "".join(f"第{n}中学，" for n in range(1, 3000)) * 30 + "孩子在仙桃市第一中学"
    outcome = named.ingest(message(body))
    # The scan stops long before the end: nothing it found is a school, so the mail is triaged.
    assert (outcome.outcome, outcome.unit) == ("ticket", "000000")
    assert any(line.startswith("邮件中的学校名称在学籍库中找不到，未用于分办：") and line.count("“") == 10
               for line in trace(named, outcome))


def test_an_ambiguous_name_whose_candidates_include_a_school_found_otherwise_is_that_school(named):
    # Two names of one school: one decided (桥西区第一小学), one that alone could be three.
    decided = SchoolMention("桥西区第一小学", {"桥西区第一小学": 7}, 0, 7, short=False)
    vague = SchoolMention("某小学", {"桥西区第一小学": 3, "实验小学": 3}, 10, 13, short=False)
    by_name = resolve_names(named.session, [decided, vague], [])
    assert by_name.school_codes == ("2113000002",) and not by_name.ambiguous
    alone = resolve_names(named.session, [vague], [])
    assert alone.school_codes == () and alone.ambiguous


def test_the_trace_shows_only_what_the_school_name_accounts_for(named):
    # The subject runs into the first line of the text: "学籍问题" is no part of the name.
    outcome = named.ingest(message("仙桃市第一中学不给转学籍", subject="关于学籍问题"))
    line = "依据邮件中的学校名称识别的学校：“仙桃市第一中学”→仙桃市第一中学（3142000001）"
    assert line in trace(named, outcome)
