"""An agent logs a call with the keyboard alone, in a real browser: fill in, preview, save.

The console is used at a desk, so only the desktop viewport (1280×800) is
run. The preview page is kept as a screenshot and checked against the rules
of every page (:meth:`Site.capture`: labels, contrast, no sideways
scrolling, no CSP violation).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from hotline import db
from hotline.console.accounts import create_user
from tests.browser.live import LiveServer
from tests.browser.pages import Site
from tests.browser.seeded import ZHANG

AGENT, PASSWORD = "callagent", "Xueji#Console2026"
SCHOOL = "2113000003"  # 长安区第三小学, run by 长安区 (130102)


@pytest.fixture
def viewport() -> str:
    return "desktop"


@pytest.fixture(scope="module")
def agent(live_server: LiveServer) -> str:
    with live_server.app.app_context():
        session = db.session()
        create_user(session, username=AGENT, unit_code="130102", role="agent", password=PASSWORD,
                    name="坐席甲")
        session.commit()
    return AGENT


def test_an_agent_logs_a_call_with_the_keyboard_alone(site: Site, agent: str):
    page, keyboard = site.page, site.page.keyboard
    site.goto("/console/login?next=/console/calls/new")
    # The user name field has the focus (autofocus); typing before the page
    # has given it would lose the first keys (seen on a cold Chromium in CI).
    expect(page.get_by_role("textbox", name="用户名")).to_be_focused()
    keyboard.type(agent)
    keyboard.press("Tab")
    keyboard.type(PASSWORD)
    keyboard.press("Enter")
    expect(page.get_by_role("heading", name="来电登记")).to_be_visible()

    expect(page.locator("#caller_name")).to_be_focused()
    keyboard.type("刘桂芳")
    keyboard.press("Tab")  # relation: 家长, as it is
    keyboard.press("Tab")
    keyboard.type("139 1234 5678")
    keyboard.press("Tab")  # e-mail: none
    keyboard.press("Tab")
    keyboard.press("ArrowDown")  # category: 技术咨询 → 投诉
    keyboard.press("Tab")
    keyboard.type(SCHOOL)
    keyboard.press("Tab")
    keyboard.type(ZHANG.name)
    keyboard.press("Tab")
    keyboard.type(ZHANG.id_number)
    for _ in range(3):  # the second student's two fields, empty
        keyboard.press("Tab")
    keyboard.type("转学后学籍号查询不到")
    keyboard.press("Tab")
    keyboard.type("孩子转学后学籍号查询不到，请帮忙核实。")
    keyboard.press("Tab")
    expect(page.locator("#call-preview")).to_be_focused()
    keyboard.press("Enter")

    expect(page.locator("#preview-unit")).to_have_text("长安区教育局")
    expect(page.locator("#preview-say")).to_contain_text("由我们（长安区教育局）负责处理")
    expect(page.locator("#preview")).to_contain_text(ZHANG.number)  # the lookup found the student
    expect(page.locator("#category")).to_have_value("complaint")
    site.capture("console-call-preview")

    # Saving takes one key: the focus is back on the first field, and Enter submits the
    # form's default button, which is now 保存.
    expect(page.locator("#caller_name")).to_be_focused()
    keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/console/tickets/\d{4}-\d{6}$"))
    number = page.url.rsplit("/", 1)[1]
    expect(page.locator(".flash-ticket")).to_have_text(f"已受理，工单号 {number}")
