"""The public lookup as a parent uses it, in a real browser, on a phone and on a desktop.

Every test ends its scenario with :meth:`Site.capture`: a screenshot kept as
a test artefact, and the rules every page must meet (Chinese, labelled
fields, no sideways scrolling, contrast, nothing loaded from other origins,
no console errors or CSP violations).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urljoin
from urllib.request import urlopen

import pytest
from playwright.sync_api import Locator, expect

from lookup.operations import KIND_TEXT, NOT_FOUND
from tests.browser.live import CLIENT_LIMIT, LiveServer
from tests.browser.pages import FOCUS_RING, Site
from tests.browser.seeded import (
    CHEN,
    CHEN_OLD_NUMBER,
    CHEN_SHOWN_NUMBER,
    LI,
    UNKNOWN_ID,
    WANG,
    ZHANG,
    ZHAO,
    Seeded,
    wrong_check_character,
)


def by_id_form(site: Site) -> Locator:
    # Found by its accessible name: the form is labelled by its heading.
    return site.page.get_by_role("form", name="用身份证号查询")


def look_up_by_id(site: Site, name: str, id_number: str) -> int:
    """Fill in and send the form of the lookup by ID number; the status of the answer."""
    site.goto("/")
    form = by_id_form(site)
    form.get_by_label("学生姓名").fill(name)
    form.get_by_label("学生居民身份证号").fill(id_number)
    with site.page.expect_response(lambda response: response.request.method == "POST") as answer:
        form.get_by_role("button", name="查询").click()
    return answer.value.status


def test_a_lookup_by_id_number_shows_the_g_number_and_what_it_means(site):
    # The hint promises that spaces are fine, as a parent copies them from the 户口簿.
    spaced = f"{ZHANG.id_number[:6]} {ZHANG.id_number[6:14]} {ZHANG.id_number[14:]}"
    assert look_up_by_id(site, ZHANG.name, spaced) == 200
    page = site.page
    expect(page.get_by_role("heading", name="查到学籍号")).to_be_visible()
    expect(page.locator("#student-number")).to_have_text(ZHANG.number)
    expect(page.get_by_text(KIND_TEXT["G"])).to_be_visible()
    assert ZHANG.id_number not in page.url and "name" not in page.url, "the query stays out of the URL"
    site.capture("found-g")


def test_a_lookup_that_finds_nothing_never_says_which_field_was_wrong(site):
    page, answers = site.page, []
    for name, id_number in ((ZHANG.name + "明", ZHANG.id_number), (ZHANG.name, UNKNOWN_ID)):
        assert look_up_by_id(site, name, id_number) == 200
        expect(page.get_by_role("heading", name="未查询到")).to_be_visible()
        expect(page.get_by_text(NOT_FOUND)).to_be_visible()
        expect(page.locator("[aria-invalid], .error")).to_have_count(0)
        assert id_number not in page.content(), "what was typed is not shown back"
        answers.append(page.locator("main").inner_text())
    assert answers[0] == answers[1], "a wrong name and an unknown ID number must read the same"
    site.capture("not-found")


def test_a_typo_in_the_check_character_is_shown_next_to_the_field(site):
    typo = wrong_check_character(ZHANG.id_number)
    assert look_up_by_id(site, ZHANG.name, typo) == 400
    form = by_id_form(site)
    field = form.get_by_label("学生居民身份证号")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_value(typo)  # kept, to be corrected rather than retyped
    # The message sits in the field's own block and is read out with the field.
    block = form.locator(".field", has=site.page.get_by_label("学生居民身份证号"))
    expect(block.locator(".error")).to_contain_text("校验位")
    expect(field).to_have_accessible_description(re.compile("校验位"))
    expect(form.get_by_label("学生姓名")).not_to_have_attribute("aria-invalid", "true")
    expect(site.page.get_by_role("heading", name="未查询到")).to_have_count(0)
    site.capture("typo-check-character")


@pytest.mark.parametrize("student", [LI, WANG], ids=["J", "L"])
def test_a_child_without_an_id_number_is_found_by_birth_date_and_school(site, student: Seeded):
    site.goto("/")
    page = site.page
    page.get_by_text("孩子没有身份证号？").click()
    form = page.get_by_role("form", name="用出生日期和学校标识码查询")
    form.get_by_label("学生姓名").fill(student.name)
    form.get_by_label("出生日期").fill(student.birth_date)
    form.get_by_label("学校标识码").fill(student.school_code)
    if student.kind == "J":
        site.capture("birth-form")
    form.get_by_role("button", name="查询").click()
    expect(page.locator("#student-number")).to_have_text(student.number)
    expect(page.get_by_text(KIND_TEXT[student.kind])).to_be_visible()
    site.capture(f"found-{student.kind.lower()}")


def test_checking_an_old_number_shows_the_number_that_replaced_it(site):
    site.goto("/check")
    page = site.page
    page.get_by_label("学生姓名").fill(CHEN.name)
    page.get_by_label("全国学籍号").fill(CHEN_OLD_NUMBER.lower())
    site.capture("check-form")
    page.get_by_role("button", name="核对").click()
    expect(page.get_by_role("heading", name="该学籍号已变更")).to_be_visible()
    expect(page.get_by_text(CHEN_OLD_NUMBER).first).to_be_visible()
    expect(page.locator("#student-number")).to_have_text(CHEN_SHOWN_NUMBER)
    assert CHEN.id_number not in page.content(), "a number check never shows a whole ID number"
    site.capture("check-replaced")


def test_too_many_lookups_from_one_address_get_the_chinese_429_page(
        open_site: Callable[[LiveServer], Site], limited_server: LiveServer):
    site = open_site(limited_server)
    page = site.page
    statuses = [look_up_by_id(site, ZHAO.name, ZHAO.id_number) for _ in range(CLIENT_LIMIT + 1)]
    assert statuses == [200] * CLIENT_LIMIT + [429]
    expect(page.get_by_role("heading", name=re.compile("查询过于频繁"))).to_be_visible()
    expect(page.get_by_text("010-66119801").first).to_be_visible()
    site.capture("rate-limited")


def test_a_lookup_can_be_made_with_the_keyboard_alone(site):
    site.goto("/")
    page, keys = site.page, site.page.keyboard

    def focused() -> str:
        return page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")

    keys.press("Tab")
    assert focused() == "跳到正文", "the first Tab reaches the skip link"
    expect(page.get_by_role("link", name="跳到正文")).to_be_in_viewport()
    keys.press("Enter")
    keys.press("Tab")
    assert focused() == "id-name", "after the skip link, Tab goes straight to the form"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid", "the focused field shows a focus ring"
    keys.type(ZHAO.name)
    keys.press("Tab")
    assert focused() == "id-id_number"
    keys.type(ZHAO.id_number)
    keys.press("Enter")
    expect(page.locator("#student-number")).to_have_text(ZHAO.number)
    site.capture("keyboard-found")


def test_a_missing_page_answers_in_chinese_with_a_way_back(site):
    assert site.goto("/no-such-page").status == 404
    expect(site.page.get_by_text("您访问的页面不存在")).to_be_visible()
    expect(site.page.get_by_role("link", name="返回学籍号查询")).to_be_visible()
    site.capture("404")


def test_the_site_serves_the_icon_browsers_ask_for(live_server: LiveServer):
    # Without a <link rel="icon">, every browser asks for /favicon.ico on each page.
    with urlopen(live_server.url + "/") as response:
        icon = re.search(r'<link rel="[^"]*\bicon\b[^"]*" href="([^"]+)"', response.read().decode())
    href = icon.group(1) if icon else "/favicon.ico"
    if not href.startswith("data:"):
        urlopen(urljoin(live_server.url, href)).close()  # raises HTTPError on a 404


def test_every_focus_ring_stands_out_from_its_background(site):
    site.goto("/")
    rings = []
    for _ in range(30):  # more than the page's focusable elements
        site.page.keyboard.press("Tab")
        ring = site.page.evaluate(FOCUS_RING)
        if ring is None or (rings and ring["element"] == rings[0]["element"]):
            break  # past the last element, or round to the first again
        rings.append(ring)
    assert len(rings) > 5, rings
    weak = [ring for ring in rings if ring["style"] == "none" or ring["ratio"] < 3]
    assert not weak, f"focus rings below 3:1: {weak}"
