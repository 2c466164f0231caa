"""The work queue: a unit's jurisdiction, filters and search as a bookmarkable GET, paging, escaping."""

from __future__ import annotations

import re

import pytest

from hotline.tickets.workflow import Actor, close_answered, issue_verification
from tests.hotline.console.conftest import CITY, COUNTY, OTHER_CITY_COUNTY, OTHER_COUNTY, log_in
from tests.hotline.console.ticket_support import (
    BEIJING_SCHOOL,
    COUNTY_SCHOOL,
    OTHER_COUNTY_SCHOOL,
    TANGSHAN_SCHOOL,
    day,
    desk,
)

BEIJING_COUNTY = "110105"


def numbers(page: str) -> list[str]:
    """The ticket numbers of the queue's rows, in order."""
    return re.findall(r'<th scope="row"><a href="/console/tickets/[^"]+">([^<]+)</a></th>', page)


def subjects(page: str) -> list[str]:
    return re.findall(r'</a></th>\s*<td>([^<]*)</td>', page)


@pytest.fixture
def world(app) -> dict[str, str]:
    """Tickets of several units, steps, channels and categories; subject → number."""
    with desk(app) as d:
        made = {
            "长安区投诉": d.ticket(COUNTY_SCHOOL),
            "长安区咨询已办结": d.ticket(COUNTY_SCHOOL, channel="email", category="consultation",
                                  phone=None, email="a@example.com"),
            "桥西区网站查询": d.ticket(OTHER_COUNTY_SCHOOL, receiving=OTHER_COUNTY, channel="web",
                                 category="lookup"),
            "市里转办中": d.ticket(COUNTY_SCHOOL, receiving=CITY),
            "唐山投诉": d.ticket(TANGSHAN_SCHOOL, receiving=OTHER_CITY_COUNTY),
            "北京投诉核查长安区": d.ticket(BEIJING_SCHOOL, receiving=BEIJING_COUNTY),
        }
        for subject, ticket in made.items():
            ticket.subject = subject
        close_answered(d.session, made["长安区咨询已办结"], Actor("坐席", COUNTY), answer="已答复",
                       at=day(3, 3))
        issue_verification(d.session, made["北京投诉核查长安区"], Actor("办理人", BEIJING_COUNTY),
                           related_units=[COUNTY], facts="核实学籍状态", calendar=d.calendar, at=day(3, 3))
        return {subject: ticket.number for subject, ticket in made.items()}


@pytest.fixture
def city_agent(client, make_user):
    make_user("cityagent", CITY, "agent", name="市坐席")
    return log_in(client, "cityagent")


def test_a_queue_holds_the_jurisdictions_open_tickets_and_nothing_else(world, city_agent):
    page = city_agent.get("/console/queue").get_data(as_text=True)
    assert set(subjects(page)) == {"长安区投诉", "桥西区网站查询", "市里转办中", "北京投诉核查长安区"}


def test_a_county_queue_holds_its_tickets_and_those_with_a_form_addressed_to_it(world, client, make_user):
    make_user("countyhandler", COUNTY, "handler")
    page = log_in(client, "countyhandler").get("/console/queue").get_data(as_text=True)
    assert set(subjects(page)) == {"长安区投诉", "市里转办中", "北京投诉核查长安区"}


@pytest.mark.parametrize(("query", "expected"), [
    ("status=closed", {"长安区咨询已办结"}),
    ("status=all", {"长安区投诉", "长安区咨询已办结", "桥西区网站查询", "市里转办中", "北京投诉核查长安区"}),
    ("step=forwarding", {"市里转办中"}),
    ("step=verifying", {"北京投诉核查长安区"}),
    ("step=closed&status=all", {"长安区咨询已办结"}),
    ("channel=web", {"桥西区网站查询"}),
    ("channel=email&status=all", {"长安区咨询已办结"}),
    ("category=lookup", {"桥西区网站查询"}),
    ("category=complaint&channel=phone", {"长安区投诉", "市里转办中", "北京投诉核查长安区"}),
    ("mine=1", {"市里转办中"}),
    ("q=转办", {"市里转办中"}),
    ("q=长安区", {"长安区投诉", "北京投诉核查长安区"}),
    ("q=%25", set()),  # a LIKE wildcard is searched for as itself
    ("q=_", set()),
])
def test_filters_narrow_the_queue(world, city_agent, query, expected):
    page = city_agent.get(f"/console/queue?{query}").get_data(as_text=True)
    assert set(subjects(page)) == expected


def test_a_ticket_number_is_found_as_typed_on_a_chinese_keyboard(world, city_agent):
    number = world["桥西区网站查询"]
    full_width = number.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))
    for typed in (number, full_width, f" {number} ", number[-3:]):
        page = city_agent.get("/console/queue", query_string={"q": typed}).get_data(as_text=True)
        assert numbers(page) == [number], typed


def test_the_filter_form_is_a_bookmarkable_get_without_a_token(world, city_agent):
    page = city_agent.get("/console/queue?step=forwarding&overdue=1").get_data(as_text=True)
    form = re.search(r'<form class="filters queue-filters" method="get"[^>]*>(.*?)</form>', page, re.S)[1]
    assert "csrf_token" not in form
    assert re.search(r'<option selected value="forwarding">', form)
    assert '<input checked id="overdue" name="overdue" type="checkbox" value="1">' in form
    assert '<input id="soon" name="soon" type="checkbox" value="1">' in form


@pytest.mark.parametrize("query", ["step=<script>", "status=nonsense", "page=-1", "page=abc",
                                   "page=99999999999999", "channel=%00", "category=" + "x" * 500,
                                   "q=" + "长" * 500])
def test_odd_filter_values_are_ignored_never_an_error(world, city_agent, query):
    response = city_agent.get(f"/console/queue?{query}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<script>" not in page
    if not query.startswith("q="):
        assert "部分筛选条件无效，已忽略" in page


def test_subjects_are_escaped(app, city_agent):
    with desk(app) as d:
        d.ticket(subject='<script>alert("x")</script><b>粗</b>')
    page = city_agent.get("/console/queue").get_data(as_text=True)
    assert "<script>alert" not in page and "<b>粗</b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;粗&lt;/b&gt;" in page


def test_a_row_shows_step_unit_due_date_and_the_provisional_mark(app, city_agent):
    with desk(app) as d:
        # Received on 30 December 2026: its 3 working days end in 2027, whose schedule is unknown.
        d.ticket(subject="跨年", at=day(12, 30))
    page = city_agent.get("/console/queue").get_data(as_text=True)
    row = re.search(r"<tr[^>]*>\s*<th scope=\"row\">.*?</tr>", page, re.S).group(0)
    assert "待下发核查单" in row and "长安区教育局" in row
    assert "2027-01-05（暂定）" in row


def test_the_home_page_is_the_queue(world, city_agent):
    page = city_agent.get("/console/").get_data(as_text=True)
    assert "工单队列" in page and set(subjects(page)) >= {"长安区投诉"}


def test_the_queue_needs_a_login(client):
    response = client.get("/console/queue?step=closed")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/login?next=/console/queue")
