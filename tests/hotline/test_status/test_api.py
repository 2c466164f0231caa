"""GET /api/v1/tickets/<number>?contact=…: the status as JSON, Open311 GeoReport v2 field names.

Issue 4, part 6: "field names after Open311 GeoReport v2 where they fit
(service_request_id, status, status_notes, agency_responsible,
requested_datetime, updated_datetime, expected_datetime)".
"""

from __future__ import annotations

import json

import pytest

from hotline.status.openapi import SCHEMAS
from hotline.status.query import NOT_FOUND
from hotline.tickets import workflow as wf
from hotline.tickets.steps import STEP_TEXT
from tests.hotline.test_status.conftest import (
    COUNTY,
    EMAIL,
    PAUSE_REASON,
    PHONE,
    SECRETS,
    ask_api,
    at_step,
    file,
)
from tests.hotline.tickets.conftest import actor, at_day

# The step, Open311's status, and expected_datetime: 24:00 Beijing time of the
# running clock's last day, written as 00:00 of the next day.
STEPS = [
    ("triage", "open", None),
    ("forwarding", "open", None),
    ("verify_issue", "open", "2026-03-06T00:00:00+08:00"),
    ("verifying", "open", "2026-03-12T00:00:00+08:00"),
    ("deciding", "open", "2026-03-18T00:00:00+08:00"),
    ("handling", "open", "2026-03-20T00:00:00+08:00"),
    ("confirming", "open", None),
    ("closed", "closed", None),
]


@pytest.mark.parametrize(("step", "status", "expected"), STEPS, ids=[s[0] for s in STEPS])
def test_each_step_is_answered_with_open311_fields(client, office, step, status, expected):
    with office() as desk:
        ticket = at_step(desk, step)
    response = ask_api(client, ticket.number, PHONE)
    assert response.status_code == 200
    body = response.json
    assert body["service_request_id"] == ticket.number
    assert (body["status"], body["step"], body["status_notes"]) == (status, step, STEP_TEXT[step])
    assert (body["service_code"], body["service_name"]) == ("complaint", "投诉")
    assert body["agency_responsible"].startswith("长安区")
    assert body["requested_datetime"] == "2026-03-02T10:00:00+08:00"
    assert body["expected_datetime"] == expected
    assert body["expected_provisional"] is False and body["paused"] is False


def test_updated_datetime_follows_the_last_change(client, office):
    with office() as desk:
        ticket = at_step(desk, "closed")
    assert ask_api(client, ticket.number, PHONE).json["updated_datetime"] == "2026-03-17T15:00:00+08:00"


def test_a_provisional_deadline_is_flagged(client, office):
    with office() as desk:
        ticket = file(desk, at=at_day(2026, 12, 30))
    body = ask_api(client, ticket.number, PHONE).json
    assert body["expected_datetime"] == "2027-01-06T00:00:00+08:00"
    assert body["expected_provisional"] is True


def test_a_paused_clock_is_flagged_without_its_reason(client, office):
    with office() as desk:
        ticket = file(desk)
        wf.pause_clock(desk.session, ticket, actor(COUNTY), reason=PAUSE_REASON, at=at_day(2026, 3, 3))
    response = ask_api(client, ticket.number, PHONE)
    assert response.json["paused"] is True
    assert PAUSE_REASON not in response.get_data(as_text=True)


def test_the_published_channels_of_the_responsible_unit_come_with_it(client, office):
    with office() as desk:
        ticket = file(desk)
    assert ask_api(client, ticket.number, PHONE).json["agency_contact"] == {
        "unit": "教育部", "phone": "010-66119801", "email": "66119801@moe.edu.cn"}


def test_an_unknown_number_and_a_wrong_contact_get_identical_json(client, office):
    with office() as desk:
        ticket = file(desk)
        other = file(desk, phone="139 0000 0000")
    misses = [ask_api(client, f"{ticket.number[:4]}-999999", PHONE),
              ask_api(client, ticket.number, "13900000001"),
              ask_api(client, other.number, PHONE),
              ask_api(client, ticket.number, EMAIL)]
    assert {(r.status_code, r.data) for r in misses} == {(404, misses[0].data)}
    assert misses[0].json == {"error": "not_found", "message": NOT_FOUND}


@pytest.mark.parametrize(("number", "contact"), [
    ("２０２６－{serial}", "１３８００１３８０００"),
    ("2026 {serial}", "+86 138 0013 8000"),
    ("2026{serial}", "(138)0013-8000"),
])
def test_normalised_input_finds_the_ticket(client, office, number, contact):
    with office() as desk:
        ticket = file(desk)
    serial = ticket.number[5:]
    wide = serial.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    asked = number.format(serial=wide if "２" in number else serial)
    assert ask_api(client, asked, contact).json["service_request_id"] == ticket.number


def test_an_email_contact_is_compared_case_insensitively(client, office):
    with office() as desk:
        ticket = file(desk, phone=None, channel="email", email=EMAIL)
    assert ask_api(client, ticket.number, " Wang.Parent@EXAMPLE.com ").status_code == 200


@pytest.mark.parametrize(("number", "contact", "field", "code"), [
    ("2026-000001", None, "contact", "required"),
    ("2026-000001", "  ", "contact", "required"),
    ("2026-000001", "138 abc", "contact", "format"),
    ("2026-000001", "a@b", "contact", "format"),
    ("2026-1", PHONE, "number", "format"),
    ("26-000001", PHONE, "number", "format"),
    ("abcd-efghij", PHONE, "number", "format"),
    ("2026-0000011", PHONE, "number", "format"),
])
def test_malformed_input_is_a_400_naming_the_field(client, number, contact, field, code):
    response = ask_api(client, number, contact)
    assert response.status_code == 400
    assert response.json["error"] == "invalid"
    assert (response.json["field"], response.json["code"]) == (field, code)
    assert response.json["message"]


@pytest.mark.parametrize("step", [s[0] for s in STEPS])
def test_nothing_personal_is_in_the_json(client, office, step):
    with office() as desk:
        ticket = at_step(desk, step)
        if step == "verify_issue":
            wf.pause_clock(desk.session, ticket, actor(COUNTY), reason=PAUSE_REASON, at=at_day(2026, 3, 3))
    response = ask_api(client, ticket.number, PHONE)
    assert response.status_code == 200
    answer = json.dumps(response.json, ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in answer


def test_the_json_answer_is_never_cached(client, office):
    with office() as desk:
        ticket = file(desk)
    response = ask_api(client, ticket.number, PHONE)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"


def test_the_answer_has_exactly_the_documented_fields(client, office):
    with office() as desk:
        ticket = file(desk)
    assert set(ask_api(client, ticket.number, PHONE).json) == set(SCHEMAS["TicketStatus"]["required"])
    missing = ask_api(client, ticket.number, "13900000009").json
    assert set(missing) == set(SCHEMAS["TicketNotFound"]["required"])


def test_the_route_is_described_for_the_openapi_document(app):
    from hotline.status.openapi import PATHS

    rules = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("status_api.")}
    assert rules == {"/api/v1/tickets/<number>"}
    assert list(PATHS) == ["/api/v1/tickets/{number}"] and list(PATHS["/api/v1/tickets/{number}"]) == ["get"]
    assert app.extensions["xueji.openapi"][0]["paths"] is PATHS
