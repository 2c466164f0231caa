"""A parent follows a ticket on /status, in a real browser, on a phone and on a desktop.

Each scenario ends with :meth:`Site.capture`: a screenshot kept as a test
artefact, and the rules every public page meets (Chinese, labelled fields,
no sideways scrolling, contrast, nothing from other origins, no console
errors or CSP violations).
"""

from __future__ import annotations

import datetime
import re

import pytest
from playwright.sync_api import expect

from hotline import db
from hotline.status.query import NOT_FOUND
from hotline.tickets.workflow import Actor, NewTicket, create_ticket
from tests.browser.live import LiveServer
from tests.browser.pages import Site

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
NAME, PHONE = "刘桂芳", "139 1234 5678"
DESCRIPTION = "孩子刘小宇转学后学籍号查询不到，请帮忙核实。"


@pytest.fixture(scope="module")
def ticket_number(live_server: LiveServer) -> str:
    """A complaint about 长安区第三小学 phoned in on 30 December 2026, whose first deadline
    falls in 2027: a year without an official holiday schedule, so it is provisional."""
    with live_server.app.app_context():
        session = db.session()
        new = NewTicket(channel="phone", category="complaint", subject="转学后学籍号查询不到",
                        description=DESCRIPTION, receiving_unit_code="130102", school_codes=["2113000003"],
                        complainant_name=NAME, relation="家长", phone=PHONE,
                        received_at=datetime.datetime(2026, 12, 30, 9, 30, tzinfo=SHANGHAI))
        number = create_ticket(session, new, Actor("坐席甲", "130102")).number
        session.commit()
    return number


def full_width(text: str) -> str:
    return text.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))


def check(site: Site, number: str, contact: str) -> int:
    """Fill in and send the status form; the HTTP status of the answer."""
    form = site.page.get_by_role("form", name="查询办理进度")
    form.get_by_label("工单编号").fill(number)
    form.get_by_label("电话号码或电子邮箱").fill(contact)
    with site.page.expect_response(lambda response: response.request.method == "POST") as answer:
        form.get_by_role("button", name="查询").click()
    return answer.value.status


def test_a_parent_follows_a_ticket_typed_on_a_chinese_phone_keyboard(site: Site, ticket_number: str):
    site.goto("/")
    page = site.page
    page.get_by_role("link", name="办理进度").click()
    expect(page.get_by_role("heading", name="工单办理进度查询")).to_be_visible()
    # Full-width digits and dash, as a Chinese input method types them, and a spaced phone number.
    assert check(site, full_width(ticket_number), PHONE) == 200
    expect(page.get_by_role("heading", name=f"工单 {ticket_number}")).to_be_visible()
    expect(page.locator("#status-step")).to_have_text("待下发核查单")
    expect(page.locator("#status-agency")).to_contain_text("长安区")
    expect(page.locator("#status-due")).to_have_text("2027年1月5日（星期二） 24:00 前（暂定）")
    expect(page.locator("#status-provisional")).to_contain_text("尚未公布 2027 年的节假日安排")
    content = page.content()
    for secret in (NAME, PHONE, "13912345678", DESCRIPTION, "刘小宇"):
        assert secret not in content, "nothing personal on the status page"
    assert ticket_number not in page.url and "139" not in page.url, "the query stays out of the URL"
    site.capture("status-found")


def test_a_wrong_phone_number_reads_like_an_unknown_ticket(site: Site, ticket_number: str):
    page, answers = site.page, []
    for number, contact in ((ticket_number, "13900000000"), (ticket_number[:5] + "999999", PHONE)):
        site.goto("/status")
        assert check(site, number, contact) == 200
        expect(page.get_by_role("heading", name="未查到该工单")).to_be_visible()
        expect(page.get_by_text(NOT_FOUND)).to_be_visible()
        answers.append(page.locator("main").inner_text())
    assert answers[0] == answers[1]
    site.capture("status-not-found")


def test_a_malformed_number_is_shown_next_to_its_field(site: Site):
    site.goto("/status")
    assert check(site, "2026-12", PHONE) == 400
    form = site.page.get_by_role("form", name="查询办理进度")
    field = form.get_by_label("工单编号")
    expect(field).to_have_attribute("aria-invalid", "true")
    # The hint and the error are read out with the field.
    expect(field).to_have_accessible_description(re.compile("工单编号应为“年份-六位序号”"))
    expect(form.get_by_label("电话号码或电子邮箱")).to_have_value(PHONE)
    site.capture("status-invalid")
