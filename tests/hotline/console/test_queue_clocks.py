"""The queue's clocks: overdue, due within 2 working days, most urgent first, and paging.

The clocks are built by the workflow on fixed dates; "now" is Tuesday
10 March 2026, 10:00 in Beijing. A 3-working-day clock started on Monday
2 March ran out at the end of Thursday 5 March; one started on Monday 9
March runs out at the end of Thursday 12 March, the 2nd working day after
today ("due soon"); one started today runs out on Friday 13 March.
"""

from __future__ import annotations

import re

import pytest

from hotline import db
from hotline.console import queues
from hotline.console.access import Principal
from hotline.console.queue_query import Filters, queue
from hotline.tickets.workflow import Actor, close_answered, issue_verification, pause_clock
from lookup.models import NATIONAL_CODE
from tests.hotline.console.conftest import CITY, COUNTY, log_in
from tests.hotline.console.ticket_support import BEIJING_SCHOOL, day, desk

NOW = day(3, 10)
BEIJING_COUNTY = "110105"


@pytest.fixture
def clocks(app) -> dict[str, str]:
    with desk(app) as d:
        made = {
            "已超期": d.ticket(at=day(3, 2)),
            "暂停中的超期": d.ticket(at=day(3, 2)),
            "即将到期": d.ticket(at=day(3, 9)),
            "今天收到": d.ticket(at=day(3, 10, 9)),
            "已办结": d.ticket(at=day(3, 2)),
            "北京的超期": d.ticket(BEIJING_SCHOOL, receiving=BEIJING_COUNTY, at=day(3, 2)),
        }
        for subject, ticket in made.items():
            ticket.subject = subject
        pause_clock(d.session, made["暂停中的超期"], Actor("办理人", COUNTY), reason="等待家长补充材料",
                    at=day(3, 4))
        close_answered(d.session, made["已办结"], Actor("坐席", COUNTY), answer="已答复", at=day(3, 3))
        # Beijing asks 长安区 to verify, and itself: its own clock runs late; 长安区's is paused.
        beijing = made["北京的超期"]
        issue_verification(d.session, beijing, Actor("办理人", BEIJING_COUNTY),
                           related_units=[COUNTY, BEIJING_COUNTY], facts="核实", calendar=d.calendar,
                           at=day(3, 2))
        pause_clock(d.session, beijing, Actor("办理人", COUNTY), reason="等待学校回复", at=day(3, 3))
        return {subject: ticket.number for subject, ticket in made.items()}


def shown(app, clocks: dict[str, str], unit: str, **filters) -> list[str]:
    """The subjects of the rows of ``unit``'s queue at NOW, in order (tests read like the notice)."""
    subject_of = {number: subject for subject, number in clocks.items()}
    with app.test_request_context():
        page = queue(db.session(), Principal(1, "u", "某人", unit, "supervisor"), Filters(**filters), now=NOW)
        return [subject_of.get(row.number, row.number) for row in page.rows]


def test_overdue_is_a_running_clock_past_due_and_not_paused(app, clocks):
    assert shown(app, clocks, COUNTY, overdue=True) == ["已超期"]


def test_due_soon_is_due_within_two_working_days(app, clocks):
    assert shown(app, clocks, COUNTY, soon=True) == ["即将到期"]


def test_another_units_clock_does_not_make_a_ticket_overdue_in_this_queue(app, clocks):
    assert "北京的超期" not in shown(app, clocks, COUNTY, overdue=True)
    assert "北京的超期" in shown(app, clocks, NATIONAL_CODE, overdue=True)


def test_the_most_urgent_due_date_comes_first_and_tickets_without_a_running_clock_last(app, clocks):
    assert shown(app, clocks, COUNTY) == ["已超期", "即将到期", "今天收到", "暂停中的超期", "北京的超期"]


def test_a_supervisor_above_sees_the_clocks_of_the_units_below(app, clocks):
    assert shown(app, clocks, CITY, overdue=True) == ["已超期"]
    assert shown(app, clocks, CITY, soon=True) == ["即将到期"]


def test_the_page_marks_overdue_due_soon_and_paused(app, clocks, client, make_user, monkeypatch):
    monkeypatch.setattr(queues, "now", lambda: NOW)
    make_user("countysup", COUNTY, "supervisor")
    page = log_in(client, "countysup").get("/console/queue").get_data(as_text=True)
    rows = {subject: row for row in re.findall(r"<tr[^>]*>\s*<th scope=\"row\">.*?</tr>", page, re.S)
            for subject in clocks if f">{subject}<" in row}
    assert 'class="overdue"' in rows["已超期"] and "已超期</span>" in rows["已超期"]
    assert "2026-03-05" in rows["已超期"]
    assert "即将到期</span>" in rows["即将到期"] and "2026-03-12" in rows["即将到期"]
    assert "已暂停</span>" in rows["暂停中的超期"] and 'class="overdue"' not in rows["暂停中的超期"]
    assert "即将到期</span>" not in rows["今天收到"] and "已超期</span>" not in rows["今天收到"]
    filtered = log_in(client, "countysup").get("/console/queue?overdue=1&soon=").get_data(as_text=True)
    assert ">已超期<" in filtered and ">即将到期<" not in filtered


@pytest.fixture
def many(app) -> list[str]:
    with desk(app) as d:
        return [d.ticket(at=day(3, 2 + i % 5)).number for i in range(55)]


def test_the_queue_is_paged_by_fifty(many, client, make_user):
    make_user("countyagent", COUNTY, "agent")
    log_in(client, "countyagent")
    first = client.get("/console/queue?category=complaint").get_data(as_text=True)
    assert len(re.findall(r'<th scope="row">', first)) == 50
    assert "第 1 / 2 页" in first
    assert 'href="/console/queue?category=complaint&amp;page=2" rel="next"' in first
    second = client.get("/console/queue?category=complaint&page=2").get_data(as_text=True)
    assert len(re.findall(r'<th scope="row">', second)) == 5
    assert 'href="/console/queue?category=complaint&amp;page=1" rel="prev"' in second
    beyond = client.get("/console/queue?category=complaint&page=9").get_data(as_text=True)
    assert "第 2 / 2 页" in beyond and len(re.findall(r'<th scope="row">', beyond)) == 5
    pages = re.findall(r'/console/tickets/([0-9-]+)"', first + second)
    assert sorted(pages) == sorted(many)
