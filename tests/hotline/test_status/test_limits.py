"""The status checks are limited like the lookup: per client address, and per ticket number.

Issue 4, part 6: "limited like the lookup". Per client address every check
counts (page and API together); per ticket number only failed checks count,
so a few wrong contacts an hour stop anyone guessing the phone number behind
a ticket from many addresses, while the complainant is never slowed down.
"""

from __future__ import annotations

from tests.hotline.test_status.conftest import PHONE, ask_api, ask_page, file, open_office


def filed(app, **kwargs) -> str:
    with open_office(app)() as desk:
        return file(desk, **kwargs).number


def assert_limited(response) -> None:
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    if response.is_json:
        assert response.json["error"] == "rate_limited" and response.json["retry_after"] > 0
    else:
        assert "查询过于频繁" in response.get_data(as_text=True)


def test_one_address_is_stopped_after_its_allowance_page_and_api_together(make_app):
    app = make_app(lookup_client_limits="3 per minute")
    number, client = filed(app), app.test_client()
    assert ask_page(client, number, PHONE, addr="198.51.100.7").status_code == 200
    assert ask_api(client, number, PHONE, addr="198.51.100.7").status_code == 200
    assert ask_api(client, "2026-1", PHONE, addr="198.51.100.7").status_code == 400  # counts too
    assert_limited(ask_page(client, number, PHONE, addr="198.51.100.7"))
    assert_limited(ask_api(client, number, PHONE, addr="198.51.100.7"))
    # Another address still gets its answer; the form itself is never limited.
    assert ask_api(client, number, PHONE, addr="198.51.100.8").status_code == 200
    assert client.get("/status", environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 200


def test_status_checks_have_a_count_of_their_own_apart_from_the_lookup(make_app):
    app = make_app(lookup_client_limits="2 per minute")
    number, client = filed(app), app.test_client()
    for _ in range(2):
        assert ask_api(client, number, PHONE, addr="198.51.100.9").status_code == 200
    assert_limited(ask_api(client, number, PHONE, addr="198.51.100.9"))
    lookup = client.post("/api/v1/lookup", json={"name": "张三"},
                         environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert lookup.status_code == 400  # answered, not refused: a parent's lookups are not used up


def test_a_few_wrong_contacts_an_hour_stop_guessing_the_contact_of_a_ticket(make_app):
    app = make_app(lookup_identity_limits="2 per hour")
    number, client = filed(app), app.test_client()
    # Two guesses from two addresses, then even the right contact from a third is refused.
    assert ask_api(client, number, "13900000001", addr="203.0.113.1").status_code == 404
    assert ask_page(client, number, "13900000002", addr="203.0.113.2").status_code == 200  # the miss page
    assert_limited(ask_api(client, number, PHONE, addr="203.0.113.3"))
    assert_limited(ask_page(client, number, PHONE, addr="203.0.113.4"))


def test_the_per_number_limit_is_per_number(make_app):
    app = make_app(lookup_identity_limits="2 per hour")
    with open_office(app)() as desk:
        number, other = file(desk).number, file(desk).number
    client = app.test_client()
    for addr in ("203.0.113.1", "203.0.113.2"):
        assert ask_api(client, number, "13900000001", addr=addr).status_code == 404
    assert_limited(ask_api(client, number, PHONE, addr="203.0.113.5"))
    assert ask_api(client, other, PHONE, addr="203.0.113.5").status_code == 200


def test_the_complainant_checking_again_and_again_is_never_slowed_down(make_app):
    app = make_app(lookup_identity_limits="2 per hour")
    number, client = filed(app), app.test_client()
    for _ in range(5):
        assert ask_api(client, number, PHONE).status_code == 200


def test_malformed_requests_do_not_count_against_the_number(make_app):
    app = make_app(lookup_identity_limits="2 per hour")
    number, client = filed(app), app.test_client()
    for _ in range(3):
        assert ask_api(client, number, "138-abc").status_code == 400
    assert ask_api(client, number, PHONE).status_code == 200
