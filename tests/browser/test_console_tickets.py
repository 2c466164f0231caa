"""A county answers a 核查单 sent down by its prefecture, in a real browser.

石家庄 (130100) is responsible for a complaint about a school it runs
itself; its handler issues a 核查单 to 长安区 (130102) from the ticket page.
长安区's handler logs in, finds the ticket in the queue, and returns the
form. Back at 石家庄 the ticket stands at 研究办理意见. The console is used
at a desk, so only the desktop viewport is run; each page on the way is kept
as a screenshot and checked against the rules of every page
(:meth:`Site.capture`: labels, contrast, no sideways scrolling, no CSP
violation).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from hotline import db
from hotline.console.accounts import create_user
from hotline.tickets.workflow import Actor, NewTicket, create_ticket
from tests.browser.live import LiveServer
from tests.browser.pages import Site

PASSWORD = "Xueji#Console2026"
PREFECTURE, COUNTY = "130100", "130102"
SCHOOL = "3413000001"  # 石家庄市第一中学, run by 石家庄市教育局 itself (市直属)
FACTS = "请核实该生 2025 年 9 月转入贵区后学籍未接续的原因。"
RESULT = "经核实，转入学校未及时办理接续，已督促补办。"


@pytest.fixture
def viewport() -> str:
    return "desktop"


@pytest.fixture(scope="module")
def people(live_server: LiveServer) -> dict[str, str]:
    with live_server.app.app_context():
        session = db.session()
        for username, unit, name, role in (("prefhandler", PREFECTURE, "市办理员", "handler"),
                                           ("countyhandler", COUNTY, "区办理员", "handler"),
                                           ("prefsupervisor", PREFECTURE, "市主管", "supervisor")):
            create_user(session, username=username, unit_code=unit, role=role, password=PASSWORD,
                        name=name)
        session.commit()
    return {"prefecture": "prefhandler", "county": "countyhandler", "supervisor": "prefsupervisor"}


@pytest.fixture
def ticket(live_server: LiveServer) -> str:
    with live_server.app.app_context():
        session = db.session()
        new = NewTicket(channel="phone", category="transfer", subject="转学后学籍未接续",
                        description="家长反映孩子转学后学籍未接续。", receiving_unit_code=PREFECTURE,
                        school_codes=[SCHOOL], complainant_name="赵家长", relation="家长",
                        phone="139 1234 5678", received_at=datetime.datetime.now(datetime.UTC))
        number = create_ticket(session, new, Actor("坐席乙", PREFECTURE)).number
        session.commit()
    return number


def log_in(site: Site, username: str) -> None:
    site.goto("/console/login")
    site.page.get_by_label("用户名").fill(username)
    site.page.get_by_label("密码").fill(PASSWORD)
    site.page.get_by_role("button", name="登录").click()
    expect(site.page.get_by_role("heading", name=re.compile("^工单队列"))).to_be_visible()


def test_a_county_answers_a_verification_form_sent_down_by_its_prefecture(
        open_site: Callable[[LiveServer], Site], live_server: LiveServer, people: dict[str, str],
        ticket: str):
    prefecture = open_site(live_server)
    page = prefecture.page
    log_in(prefecture, people["prefecture"])
    expect(page.get_by_role("row", name=re.compile(ticket))).to_contain_text("待下发核查单")
    prefecture.capture("console-queue")
    page.get_by_role("link", name=ticket).click()
    expect(page.get_by_role("heading", name=re.compile(f"^工单 {ticket}"))).to_contain_text("待下发核查单")
    prefecture.capture("console-ticket-verify-issue")
    issue = page.get_by_role("form", name="下发核查单")
    issue.get_by_label(re.compile("^核查单位")).fill(COUNTY)
    issue.get_by_label("需要核查的事项").fill(FACTS)
    issue.get_by_role("button", name="下发核查单").click()
    expect(page.get_by_role("status")).to_contain_text("已下发核查单 HC-")
    form_number = re.search(r"HC-\d{4}-\d{6}", page.get_by_role("status").inner_text())[0]
    expect(page.get_by_role("heading", name=re.compile(f"^工单 {ticket}"))).to_contain_text("核查中")

    county = open_site(live_server)
    log_in(county, people["county"])
    county.page.get_by_role("link", name=ticket).click()
    record = county.page.get_by_role("article", name=re.compile(f"核查单 {form_number}"))
    expect(record).to_contain_text(FACTS)
    expect(county.page.get_by_text("投诉人信息")).to_have_count(1)  # the note that it is not shown
    county.capture("console-ticket-county-form")
    answer = county.page.get_by_role("form", name=f"反馈核查单 {form_number}")
    answer.get_by_label("核查或办理情况").fill(RESULT)
    answer.get_by_role("button", name="反馈核查单").click()
    expect(county.page.get_by_role("status")).to_have_text(f"已反馈 {form_number}。")
    expect(record).to_contain_text("已反馈（区办理员")

    page.reload()
    expect(page.get_by_role("heading", name=re.compile(f"^工单 {ticket}"))).to_contain_text("研究办理意见")
    here = page.get_by_role("article", name=re.compile(f"核查单 {form_number}"))
    expect(here).to_contain_text(RESULT)
    expect(page.get_by_role("form", name="下发督办单")).to_be_visible()
    prefecture.capture("console-ticket-deciding")
    with page.expect_popup() as printed:
        here.get_by_role("link", name="打印").click()
    expect(printed.value.get_by_role("heading", name="群众投诉中小学生学籍管理问题核查单")).to_be_visible()
    expect(printed.value.locator("td.result")).to_have_text(RESULT)

    # The prefecture's supervisor sees the ticket waiting for its decision on the dashboard.
    supervisor = open_site(live_server)
    log_in(supervisor, people["supervisor"])
    supervisor.page.get_by_role("navigation", name="工作台栏目").get_by_role("link", name="督办看板").click()
    expect(supervisor.page.get_by_role("heading", name=re.compile("^督办看板"))).to_be_visible()
    deciding = supervisor.page.locator("table#steps tr", has_text="研究办理意见")
    expect(deciding).to_have_count(1)
    assert int(re.search(r"\d+", deciding.locator("td").first.inner_text())[0]) >= 1
    supervisor.capture("console-dashboard")
