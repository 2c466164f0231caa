"""The status page (/status): the step in words, the responsible unit, the deadline, nothing personal.

Issue 4, part 6: "the ticket number plus the phone or e-mail given when it
was filed → the current step, responsible unit, and due date (marked
provisional when it is); nothing personal".
"""

from __future__ import annotations

import pytest

from hotline import db
from hotline.status.query import NOT_FOUND, STEP_NOTE
from hotline.tickets import workflow as wf
from hotline.tickets.steps import STEP_TEXT
from lookup.models import Unit
from tests.hotline.test_status.conftest import (
    COUNTY,
    EMAIL,
    PAUSE_REASON,
    PHONE,
    SECRETS,
    ask_page,
    at_step,
    file,
)
from tests.hotline.tickets.conftest import actor, at_day

# Each step of the 2014 notice's workflow (items 2-3) and the running clock's
# deadline (None: no clock runs at that step).
STEPS = [
    ("triage", None),        # no school named: the receiving unit (the county) triages
    ("forwarding", None),    # received by the province, going down to the county
    ("verify_issue", "2026年3月5日（星期四） 24:00 前"),    # 3 working days from Monday 2 March
    ("verifying", "2026年3月11日（星期三） 24:00 前"),      # 5 from the 核查单 of 4 March
    ("deciding", "2026年3月17日（星期二） 24:00 前"),       # 5 from its return on 10 March
    ("handling", "2026年3月19日（星期四） 24:00 前"),       # 5 from the 督办单 of 12 March
    ("confirming", None),
    ("closed", None),
]


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def unit_name(app) -> str:
    with app.app_context():
        return db.session().get(Unit, COUNTY).name


def test_the_form_asks_for_the_number_and_the_contact_with_a_csrf_token(client):
    page = text(client.get("/status?number=2026-000123"))
    assert 'name="csrf_token"' in page and 'name="number"' in page and 'name="contact"' in page
    assert 'value="2026-000123"' in page  # a link in an acknowledgement may carry the number


@pytest.mark.parametrize(("step", "due"), STEPS, ids=[s[0] for s in STEPS])
def test_each_step_is_shown_in_words_with_its_unit_and_deadline(client, office, unit_name, step, due):
    with office() as desk:
        ticket = at_step(desk, step)
    page = text(ask_page(client, ticket.number, PHONE))
    assert f'<strong id="status-step">{STEP_TEXT[step]}</strong>' in page
    assert STEP_NOTE[step] in page
    assert unit_name in page
    assert "受理时间</dt><dd>2026年3月2日 10:00" in page
    if due is None:
        assert 'id="status-due"' not in page
    else:
        assert f'id="status-due">{due}</dd>' in page
    assert "（暂定）" not in page and 'id="status-paused"' not in page


def test_a_ticket_in_triage_names_the_receiving_unit_as_sorting_it_out(client, office, unit_name):
    with office() as desk:
        ticket = at_step(desk, "triage")
    page = text(ask_page(client, ticket.number, PHONE))
    assert f"受理单位</dt>\n    <dd id=\"status-agency\">{unit_name}（正在分办）" in page


def test_the_responsible_units_published_channels_are_shown(client, office):
    # The seeded county has published nothing: the nearest unit that has (the ministry) is given.
    with office() as desk:
        ticket = file(desk)
    page = text(ask_page(client, ticket.number, PHONE))
    assert 'href="tel:010-66119801"' in page and "教育部公布" in page


def test_a_deadline_in_a_year_without_an_official_schedule_is_marked_provisional(client, office):
    # Received Wednesday 30 December 2026: the third working day falls in 2027, whose
    # holiday schedule the State Council has not published (chinese-calendar 1.11 stops at 2026).
    with office() as desk:
        ticket = file(desk, at=at_day(2026, 12, 30))
    page = text(ask_page(client, ticket.number, PHONE))
    assert 'id="status-due">2027年1月5日（星期二） 24:00 前（暂定）</dd>' in page
    assert "国务院办公厅尚未公布 2027 年的节假日安排" in page


def test_a_paused_clock_is_shown_as_paused_without_its_reason(client, office):
    with office() as desk:
        ticket = file(desk)
        wf.pause_clock(desk.session, ticket, actor(COUNTY), reason=PAUSE_REASON, at=at_day(2026, 3, 3))
    page = text(ask_page(client, ticket.number, PHONE))
    assert "本环节自 2026年3月3日 10:00 起暂停计时" in page
    assert PAUSE_REASON not in page and "补充" not in page


def test_a_closed_ticket_says_so_and_when(client, office):
    with office() as desk:
        ticket = at_step(desk, "closed")
    page = text(ask_page(client, ticket.number, PHONE))
    assert '<strong id="status-step">已办结</strong>' in page
    assert 'id="status-closed">2026年3月17日 15:00</dd>' in page
    assert "最近更新</dt><dd>2026年3月17日 15:00" in page


@pytest.mark.parametrize("contact", [PHONE, "13800138000", "+86 138-0013-8000", "１３８００１３８０００"])
@pytest.mark.parametrize("typed", ["{n}", " {n} ", "{n_wide}", "{digits}"])
def test_number_and_phone_are_accepted_as_people_type_them(client, office, typed, contact):
    with office() as desk:
        ticket = file(desk)
    number = ticket.number
    wide = number.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))
    asked = typed.format(n=number, n_wide=wide, digits=number.replace("-", ""))
    assert 'id="status-step"' in text(ask_page(client, asked, contact))


def test_an_email_given_at_filing_finds_the_ticket_in_any_case(client, office):
    with office() as desk:
        ticket = file(desk, phone=None, channel="email", email=EMAIL)
    assert 'id="status-step"' in text(ask_page(client, ticket.number, EMAIL.upper()))
    assert 'id="status-step"' not in text(ask_page(client, ticket.number, PHONE))


def test_an_unknown_number_and_a_wrong_contact_get_byte_identical_pages(client, office):
    with office() as desk:
        ticket = file(desk)
        other = file(desk, phone="139 0000 0000")
    year = ticket.number[:4]
    misses = [
        ask_page(client, f"{year}-999999", PHONE),           # no such ticket
        ask_page(client, ticket.number, "13900000001"),      # wrong phone
        ask_page(client, ticket.number, "13900000000"),      # another ticket's phone
        ask_page(client, other.number, PHONE),               # this phone, another ticket
        ask_page(client, ticket.number, EMAIL),              # an e-mail never given
    ]
    assert {(r.status_code, r.data) for r in misses} == {(misses[0].status_code, misses[0].data)}
    assert NOT_FOUND in text(misses[0])


@pytest.mark.parametrize(("number", "contact", "field"), [
    ("", PHONE, "number"),
    ("2026-12345", PHONE, "number"),
    ("26-000123", PHONE, "number"),
    ("2026-000123", "", "contact"),
    ("2026-000123", "138-abc", "contact"),
    ("2026-000123", "parent@", "contact"),
])
def test_malformed_input_is_refused_with_the_field_named(client, number, contact, field):
    response = ask_page(client, number, contact)
    assert response.status_code == 400
    assert f'id="status-{field}" name="{field}"' in text(response)
    assert 'aria-invalid="true"' in text(response).split(f'id="status-{field}"')[1].split(">")[0]


def test_a_post_without_csrf_token_is_refused(client, office):
    with office() as desk:
        ticket = file(desk)
    response = client.post("/status", data={"number": ticket.number, "contact": PHONE})
    assert response.status_code == 400
    assert "页面已过期" in text(response) and 'id="status-step"' not in text(response)


@pytest.mark.parametrize("step", [s[0] for s in STEPS])
def test_nothing_personal_is_in_the_answer(client, office, step):
    with office() as desk:
        ticket = at_step(desk, step)
        if step == "verify_issue":
            wf.pause_clock(desk.session, ticket, actor(COUNTY), reason=PAUSE_REASON, at=at_day(2026, 3, 3))
    page = text(ask_page(client, ticket.number, PHONE))
    assert 'id="status-step"' in page
    for secret in SECRETS:
        assert secret not in page
    assert "核实学籍" not in page and "补录学籍" not in page  # what the forms carry stays inside


def test_the_answer_is_never_cached(client, office):
    with office() as desk:
        ticket = file(desk)
    assert ask_page(client, ticket.number, PHONE).headers["Cache-Control"] == "no-store"


def test_the_status_page_is_in_the_navigation(client):
    assert '<a href="/status">办理进度</a>' in text(client.get("/"))
