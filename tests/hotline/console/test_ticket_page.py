"""The ticket page: what it shows, to whom, what is audited, and the printable forms."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from sqlalchemy import select

from hotline import db
from hotline.console.models import AccessAudit
from hotline.tickets.models import Form
from hotline.tickets.notes import add_note
from hotline.tickets.printing import find_form
from hotline.tickets.workflow import (
    Actor,
    correct_form,
    issue_supervision,
    issue_verification,
    pause_clock,
    return_verification,
)
from tests.hotline.console.conftest import CITY, COUNTY, OTHER_CITY_COUNTY, PROVINCE, log_in
from tests.hotline.console.ticket_support import (
    BEIJING_SCHOOL,
    CITY_SCHOOL,
    COUNTY_SCHOOL,
    MASKED_STUDENT,
    STUDENT,
    TANGSHAN_SCHOOL,
    day,
    desk,
    token,
)

BEIJING_COUNTY = "110105"


def audits(app, what: str) -> list[AccessAudit]:
    with app.app_context():
        query = select(AccessAudit).where(AccessAudit.what == what).order_by(AccessAudit.id)
        rows = db.session().scalars(query)
        return [(row.user_id, row.ticket_id, row.detail) for row in rows]


@pytest.fixture
def county_ticket(app) -> tuple[str, int]:
    with desk(app) as d:
        ticket = d.ticket(email="Parent@Example.com", students=(STUDENT, MASKED_STUDENT), name="刘桂芳")
        return ticket.number, ticket.id


@pytest.fixture
def handler(client, make_user):
    user = make_user("countyhandler", COUNTY, "handler", name="王办理")
    log_in(client, "countyhandler")
    return user


def test_the_page_shows_the_header_and_units(county_ticket, client, handler):
    page = client.get(f"/console/tickets/{county_ticket[0]}").get_data(as_text=True)
    assert f"工单 {county_ticket[0]}" in page and "待下发核查单" in page
    for text in ("投诉", "电话", "长安区教育局", "学籍号查询不到", "家长反映孩子的学籍信息有误。",
                 "长安区第一小学（1301020001）"):
        assert text in page


def test_the_complainants_contact_is_masked_until_asked_for_and_asking_is_audited(app, county_ticket, client,
                                                                               handler):
    number, ticket_id = county_ticket
    page = client.get(f"/console/tickets/{number}").get_data(as_text=True)
    assert "138****8000" in page and "p****@example.com" in page and "刘**" in page
    assert "13800138000" not in page and "parent@example.com" not in page and "刘桂芳" not in page
    assert audits(app, "complainant") == []
    shown = client.post(f"/console/tickets/{number}/contact", data={"csrf_token": token(client)})
    full = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert "13800138000" in full and "parent@example.com" in full and "刘桂芳" in full
    assert audits(app, "complainant") == [(handler.id, ticket_id, "contact")]


def test_showing_the_contact_needs_the_token(app, county_ticket, client, handler):
    response = client.post(f"/console/tickets/{county_ticket[0]}/contact", data={"csrf_token": "forged"})
    assert response.status_code == 400 and "13800138000" not in response.get_data(as_text=True)
    assert audits(app, "complainant") == []


def test_students_are_shown_and_every_view_of_them_is_audited(app, county_ticket, client, handler):
    number, ticket_id = county_ticket
    page = client.get(f"/console/tickets/{number}").get_data(as_text=True)
    assert "G130102201203050015" in page and "130***********0015" in page and "刘小宇" in page
    client.get(f"/console/tickets/{number}")
    assert audits(app, "student") == [(handler.id, ticket_id, "2 名学生")] * 2


def test_a_ticket_without_students_records_no_view_of_them(app, client, handler):
    with desk(app) as d:
        number = d.ticket().number
    client.get(f"/console/tickets/{number}")
    assert audits(app, "student") == []


@pytest.mark.parametrize("number", ["2026-999999", "2026-00000１", "..%2Fadmin", "<script>", "x" * 300,
                                    "2026-000001%00", "%E2%80%AE2026-000001"])
def test_a_tampered_number_is_404(county_ticket, client, handler, number):
    response = client.get(f"/console/tickets/{number}")
    assert response.status_code == 404


def test_another_units_ticket_answers_exactly_like_a_missing_one(app, client, make_user):
    with desk(app) as d:
        tangshan = d.ticket(TANGSHAN_SCHOOL, receiving=OTHER_CITY_COUNTY).number
    make_user("countyagent", COUNTY, "agent")
    log_in(client, "countyagent")
    theirs, missing = client.get(f"/console/tickets/{tangshan}"), client.get("/console/tickets/2026-999999")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_data() == missing.get_data()
    data = {"csrf_token": token(client)}
    for action in ("contact", "note", "forward"):
        assert client.post(f"/console/tickets/{tangshan}/{action}", data=data).status_code in (403, 404)


@pytest.fixture
def beijing(app) -> str:
    """Beijing's ticket with a 核查单 addressed to 长安区, and Beijing's own internal record."""
    with desk(app) as d:
        ticket = d.ticket(BEIJING_SCHOOL, receiving=BEIJING_COUNTY, email="bj@example.com",
                          description="北京家长的详细陈述", students=(STUDENT,))
        issue_verification(d.session, ticket, Actor("北京办理人", BEIJING_COUNTY),
                           related_units=[COUNTY, BEIJING_COUNTY], facts="请核实该生学籍",
                           calendar=d.calendar, at=day(3, 3))
        add_note(d.session, ticket, Actor("北京办理人", BEIJING_COUNTY), text="北京内部备注")
        return ticket.number


def test_a_unit_that_sees_a_ticket_through_a_form_sees_its_part_only(beijing, client, handler):
    page = client.get(f"/console/tickets/{beijing}").get_data(as_text=True)
    assert "请核实该生学籍" in page and "长安区教育局" in page and "G130102201203050015" in page
    assert page.count('class="form-record"') == 1  # not the 核查单 Beijing sent itself
    for hidden in ("北京家长的详细陈述", 'id="complainant"', "b****@example.com", "北京内部备注", "分办依据",
                   "经电话受理"):
        assert hidden not in page, hidden
    assert f'action="/console/tickets/{beijing}/forms/' in page  # it can answer its form
    data = {"csrf_token": token(client)}
    assert client.post(f"/console/tickets/{beijing}/contact", data=data).status_code == 403
    assert client.post(f"/console/tickets/{beijing}/reply", data={**data, "body": "x"}).status_code == 403


def test_the_routing_trace_and_the_timeline_are_shown(county_ticket, client, handler):
    page = client.get(f"/console/tickets/{county_ticket[0]}").get_data(as_text=True)
    trace = re.search(r'<ol class="ticket-trace">(.*?)</ol>', page, re.S).group(1)
    assert "长安区第一小学" in trace
    timeline = re.search(r'<table class="timeline">(.*?)</table>', page, re.S).group(1)
    assert "经电话受理，类别：投诉" in timeline and "2026-03-02 10:00" in timeline and "坐席甲" in timeline


def test_clocks_show_the_due_date_the_provisional_mark_and_a_pause_with_its_reason(app, client, handler):
    with desk(app) as d:
        ticket = d.ticket(at=day(12, 30))
        pause_clock(d.session, ticket, Actor("王办理", COUNTY), reason="等待家长补充<材料>",
                    at=day(12, 31, 9))
        number = ticket.number
    page = client.get(f"/console/tickets/{number}").get_data(as_text=True)
    clocks = re.search(r'<table class="clocks">(.*?)</table>', page, re.S).group(1)
    assert "待下发核查单" in clocks and "长安区教育局" in clocks and "2026-12-30（3 个工作日）" in clocks
    assert "2027-01-05（暂定）" in clocks
    assert "已暂停</span> 自 2026-12-31 09:00，原因：等待家长补充&lt;材料&gt;" in clocks


def _form(session, ticket_id: int) -> Form:
    return session.scalars(select(Form).where(Form.ticket_id == ticket_id).order_by(Form.id)).first()


def test_a_stopped_clock_says_whether_it_was_on_time(app, client, make_user):
    with desk(app) as d:
        ticket = d.ticket(CITY_SCHOOL, receiving=CITY, at=day(3, 2))
        issue_verification(d.session, ticket, Actor("市办理", CITY), related_units=[COUNTY], facts="核实",
                           calendar=d.calendar, at=day(3, 9))
        return_verification(d.session, _form(d.session, ticket.id), Actor("县办理", COUNTY), result="属实",
                            calendar=d.calendar, at=day(3, 10))
        number = ticket.number
    make_user("cityhandler", CITY, "handler")
    log_in(client, "cityhandler")
    page = client.get(f"/console/tickets/{number}").get_data(as_text=True)
    clocks = re.search(r'<table class="clocks">(.*?)</table>', page, re.S).group(1)
    assert "超期完成</strong>（2026-03-09 10:00）" in clocks  # 3 working days from 2 March ended on the 5th
    assert "按时完成（2026-03-10 10:00）" in clocks
    # 研究办理意见: 5 working days from the return on 10 March, still running today.
    deciding = r"研究办理意见.*?2026-03-17</td>\s*<td><span class=\"tag tag-locked\">已超期"
    assert re.search(deciding, clocks, re.S)


@pytest.fixture
def relayed(app) -> tuple[str, str]:
    """A province's 督办单 to 长安区, relayed down as far as 石家庄 (130100)."""
    with desk(app) as d:
        ticket = d.ticket((COUNTY_SCHOOL, TANGSHAN_SCHOOL), receiving=PROVINCE, at=day(3, 2))
        province = Actor("省办理", PROVINCE)
        issue_verification(d.session, ticket, province, related_units=[COUNTY], facts="核实",
                           calendar=d.calendar, at=day(3, 3))
        return_verification(d.session, _form(d.session, ticket.id), Actor("县办理", COUNTY), result="属实",
                            calendar=d.calendar, at=day(3, 4))
        form = issue_supervision(d.session, ticket, province, handling_unit=COUNTY, opinion="请予更正",
                                 calendar=d.calendar, at=day(3, 5))
        return ticket.number, form.number


def test_forms_show_kind_receiver_return_and_where_a_supervision_form_is(relayed, client, make_user):
    make_user("citysup", CITY, "supervisor")
    log_in(client, "citysup")
    page = client.get(f"/console/tickets/{relayed[0]}").get_data(as_text=True)
    record = re.search(rf'<article class="form-record" aria-labelledby="form-{relayed[1]}">(.*?)</article>',
                       page, re.S).group(1)
    assert "督办单" in record and "<dt>发往</dt><dd>长安区教育局</dd>" in record
    assert "<dt>目前所在</dt><dd>石家庄市教育局</dd>" in record and "尚未反馈" in record
    assert f'href="/console/forms/{relayed[1]}"' in record and ">打印<" in record
    verification = re.search(r'核查单 HC-[0-9-]+.*?</article>', page, re.S).group(0)
    assert "已反馈（县办理" in verification and "属实" in verification


def _hash(style: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() + "'"


def test_a_form_prints_as_a_page_whose_policy_allows_its_own_style_only(relayed, client, make_user):
    make_user("countyhandler", COUNTY, "handler")
    log_in(client, "countyhandler")
    response = client.get(f"/console/forms/{relayed[1]}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "群众投诉中小学生学籍管理问题督办单" in page and "请予更正" in page
    policy = response.headers["Content-Security-Policy"]
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    assert f"style-src {_hash(style)};" in policy and "unsafe-inline" not in policy and "script" not in policy
    assert response.headers["Cache-Control"] == "no-store"


def test_an_earlier_version_prints_with_the_correction_notice(app, relayed, client, make_user):
    with desk(app) as d:
        correct_form(d.session, find_form(d.session, relayed[1]), Actor("省办理", PROVINCE),
                     body="请予更正并报告")
    make_user("provhandler", PROVINCE, "handler")
    log_in(client, "provhandler")
    old = client.get(f"/console/forms/{relayed[1]}?version=1").get_data(as_text=True)
    assert "本表已更正，以第 2 版为准" in old and "请予更正并报告" not in old
    page = client.get(f"/console/tickets/{relayed[0]}").get_data(as_text=True)
    assert f'href="/console/forms/{relayed[1]}?version=1"' in page and "（第 2 版）" in page


@pytest.mark.parametrize("path", [
    "/console/forms/DB-2026-999999", "/console/forms/XX-2026-000001",
    "/console/forms/DB-2026-000001?version=0", "/console/forms/DB-2026-000001?version=x",
    "/console/forms/DB-2026-000001?version=99",
    "/console/forms/DB-2026-000001?version=%EF%BC%91", "/console/forms/%3Cscript%3E",
])
def test_a_tampered_form_number_or_version_is_404(relayed, client, make_user, path):
    make_user("provhandler", PROVINCE, "handler")
    log_in(client, "provhandler")
    assert client.get(path).status_code == 404


def test_another_units_form_is_404(relayed, client, make_user):
    make_user("tangshan", OTHER_CITY_COUNTY, "supervisor")
    log_in(client, "tangshan")
    assert client.get(f"/console/forms/{relayed[1]}").status_code == 404


def test_user_text_is_escaped_on_the_ticket_page(app, client, handler):
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    with desk(app) as d:
        ticket = d.ticket(subject=evil, description=evil, email="a@example.com")
        issue_verification(d.session, ticket, Actor(evil[:60], COUNTY), related_units=[COUNTY], facts=evil,
                           calendar=d.calendar)
        number = ticket.number
    data = {"csrf_token": token(client)}
    client.post(f"/console/tickets/{number}/note", data={**data, "text": evil})
    page = client.get(f"/console/tickets/{number}").get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4  # subject, description, form, note
