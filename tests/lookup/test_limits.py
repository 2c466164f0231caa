"""The lookup limits, through the app: per client address and per queried child.

The issue: limits "per client address (with a configurable list of trusted
proxies ...) and per queried identity (the keyed hash of the identity), so
that a distributed enumeration of one child is stopped too", failed lookups
only counting towards the latter; "a Chinese 429 page with Retry-After"; and
every refused request audited as ``limited``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from hotline.app import create_app, limiter
from hotline.config import load_settings
from lookup.models import LookupAudit
from lookup.privacy import hash_id_number
from tests.conftest import ID_KEY
from tests.lookup.conftest import csrf_token
from tests.lookup.factories import id_number

# The ``registry`` fixture (tests/lookup/conftest.py) has 张三, a G student with this ID
# number, and 李四, a J student born 2013-07-01 at school 2113000003.
NAME = "张三"
ID_NUMBER = id_number(sequence=1)
OTHER_ID = id_number(sequence=3)  # a valid ID number nobody in the registry has


@pytest.fixture
def make_app(database_url: str, connection: Connection, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build an app like the ``app`` fixture, with settings overridden (limits, proxies, storage)."""
    apps: list[Flask] = []

    def make(**overrides: object) -> Flask:
        settings = load_settings({}, env="testing", database_url=database_url, secret_key="test-secret",
                                 id_hash_key=ID_KEY, instance_path=str(tmp_path / "instance"), **overrides)
        app = create_app(settings)
        # One Limiter serves every app of the process (hotline.app.limiter), and
        # flask-limiter keeps "the storage is dead" and its back-off on it, not
        # per app: a test that upset the storage would leave the next app on the
        # in-memory fallback. Start each app with a healthy storage.
        limiter._storage_dead = False
        limiter._Limiter__check_backend_count = 0
        app.extensions["xueji.sessionmaker"] = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["xueji.engine"].dispose()


def api(client, body: dict, addr: str = "198.51.100.1", path: str = "/api/v1/lookup", **headers):
    return client.post(path, json=body, headers=headers, environ_base={"REMOTE_ADDR": addr})


def page(client, form: dict, addr: str = "198.51.100.1", path: str = "/lookup"):
    """Post the lookup form as a browser does: with the CSRF token of the page it came from."""
    return client.post(path, data={"csrf_token": csrf_token(client), "way": "id", **form},
                       environ_base={"REMOTE_ADDR": addr})


def by_id(name: str = NAME, number: str = ID_NUMBER) -> dict:
    return {"name": name, "id_number": number}


def audits(session: Session, **where) -> list[LookupAudit]:
    session.expire_all()
    query = select(LookupAudit).filter_by(**where).order_by(LookupAudit.id)
    return list(session.scalars(query))


def identity_of(key: str) -> str:
    """The audit's identity for an identity key (lookup.inputs.identity_keys)."""
    return hash_id_number(ID_KEY.encode(), key)


# Per client address -------------------------------------------------------------------------------


def test_default_client_limit_is_shared_by_the_page_and_the_api(app, client, registry):
    # 10 per minute: five through the page and five through the API use it up,
    # and then neither answers. Found lookups, so no identity budget is touched.
    for _ in range(5):
        assert page(client, by_id()).status_code == 200
        assert api(client, by_id()).status_code == 200
    assert api(client, by_id()).status_code == 429
    assert page(client, by_id()).status_code == 429
    # Another address still has its own budget.
    assert api(client, by_id(), addr="198.51.100.2").status_code == 200


def test_the_api_answers_429_in_json_with_retry_after(make_app, registry):
    client = make_app(lookup_client_limits="2 per minute").test_client()
    for _ in range(2):
        assert api(client, by_id()).status_code == 200
    response = api(client, by_id())
    assert response.status_code == 429
    assert response.mimetype == "application/json"
    body = response.get_json()
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 60
    assert body == {"error": "rate_limited", "message": f"查询过于频繁，请在 {wait} 秒后再试。",
                    "retry_after": wait}
    assert response.headers["Cache-Control"] == "no-store"


def test_the_page_answers_a_chinese_429_page_with_retry_after(make_app, registry):
    client = make_app(lookup_client_limits="1 per minute").test_client()
    assert page(client, by_id()).status_code == 200
    response = page(client, by_id())
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 60
    html = response.get_data(as_text=True)
    assert "<h1>查询过于频繁</h1>" in html
    assert f"查询过于频繁，请在 {wait} 秒后再试。" in html
    assert "010-66119801" in html
    assert NAME not in html and ID_NUMBER not in html


def test_a_long_wait_is_told_in_minutes(make_app, registry):
    client = make_app(lookup_client_limits="1 per day").test_client()
    assert api(client, by_id()).status_code == 200
    response = api(client, by_id())
    wait = int(response.headers["Retry-After"])
    assert 86_000 < wait <= 86_400
    assert response.get_json()["message"] == f"查询过于频繁，请在 约 {-(-wait // 60)} 分钟后再试。"


def test_the_limit_counts_lookups_only_not_the_pages_around_them(make_app, registry):
    client = make_app(lookup_client_limits="1 per minute").test_client()
    for _ in range(3):
        assert client.get("/").status_code == 200
        assert client.get("/check").status_code == 200
    assert api(client, by_id()).status_code == 200
    assert api(client, by_id()).status_code == 429
    assert client.get("/").status_code == 200  # the form itself stays reachable


def test_an_oversized_request_does_not_reset_the_budgets(make_app, registry, caplog):
    client = make_app(lookup_client_limits="2 per minute").test_client()
    for _ in range(2):
        assert api(client, by_id()).status_code == 200
    oversized = client.post("/api/v1/lookup", data=b'{"name": "' + b"x" * (1024 * 1024) + b'"}',
                            content_type="application/json", environ_base={"REMOTE_ADDR": "203.0.113.1"})
    assert oversized.status_code == 413
    assert api(client, by_id()).status_code == 429
    assert not [r for r in caplog.records if r.name == "flask-limiter" and r.levelno >= logging.WARNING]


def test_invalid_requests_count_against_the_client(make_app, registry):
    # Otherwise a script could probe the validator (and load the site) for free.
    client = make_app(lookup_client_limits="2 per minute").test_client()
    assert api(client, {"name": NAME}).status_code == 400
    assert api(client, {"name": NAME}).status_code == 400
    assert api(client, by_id()).status_code == 429


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(make_app, registry, session):
    client = make_app(lookup_client_limits="2 per minute", trusted_proxies=("10.0.0.1",)).test_client()
    first, second = "198.51.100.1", "198.51.100.2"
    for _ in range(2):
        assert api(client, by_id(), addr="10.0.0.1", **{"X-Forwarded-For": first}).status_code == 200
    assert api(client, by_id(), addr="10.0.0.1", **{"X-Forwarded-For": first}).status_code == 429
    # A spoofed entry to the left of what our proxy added does not buy a new budget.
    spoofed = {"X-Forwarded-For": f"203.0.113.99, {first}"}
    assert api(client, by_id(), addr="10.0.0.1", **spoofed).status_code == 429
    for _ in range(2):
        assert api(client, by_id(), addr="10.0.0.1", **{"X-Forwarded-For": second}).status_code == 200
    # The audit names the real clients, never the proxy.
    assert {row.client for row in audits(session)} == {first, second}


def test_behind_the_tls_proxy_the_form_posts_with_the_referer_browsers_send(make_app, registry):
    """nginx terminates TLS: the app sees HTTPS and Flask-WTF wants a same-origin
    Referer, which our Referrer-Policy lets the browser send (and only to us)."""
    client = make_app(trusted_proxies=("10.0.0.1",)).test_client()
    proxied = {"REMOTE_ADDR": "10.0.0.1"}
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
    page = client.get("/", base_url="https://xueji.example", environ_base=proxied, headers=headers)
    assert page.headers["Referrer-Policy"] == "same-origin"
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    form = {"csrf_token": token, "name": NAME, "id_number": registry.g_id}
    answer = client.post("/lookup", data=form, base_url="https://xueji.example", environ_base=proxied,
                         headers={**headers, "Referer": "https://xueji.example/"})
    assert answer.status_code == 200 and registry.g_id in answer.get_data(as_text=True)
    # What Flask-WTF does with a Referer of another site (or none) over HTTPS.
    stranger = client.post("/lookup", data=form, base_url="https://xueji.example", environ_base=proxied,
                           headers={**headers, "Referer": "https://evil.example/"})
    assert stranger.status_code == 400


def test_from_an_untrusted_peer_forwarded_for_does_not_help(make_app, registry, session):
    client = make_app(lookup_client_limits="2 per minute", trusted_proxies=("10.0.0.1",)).test_client()
    for n in range(2):
        forwarded = {"X-Forwarded-For": f"198.51.100.{n + 1}"}
        assert api(client, by_id(), addr="203.0.113.5", **forwarded).status_code == 200
    forwarded = {"X-Forwarded-For": "198.51.100.3"}
    assert api(client, by_id(), addr="203.0.113.5", **forwarded).status_code == 429
    assert {row.client for row in audits(session)} == {"203.0.113.5"}


# Per queried child ---------------------------------------------------------------------------------


def test_a_distributed_enumeration_of_one_child_is_stopped_after_five_failures(app, client, registry,
                                                                              session):
    # Six addresses, one guess each at the name that goes with one ID number:
    # every address is far below its own limit, but the child's budget is 5.
    guesses = ["李一", "李二", "王三", "赵四", "钱五"]
    for n, name in enumerate(guesses):
        assert api(client, by_id(name), addr=f"198.51.100.{n + 1}").status_code == 404
    response = api(client, by_id("孙六"), addr="198.51.100.6")
    assert response.status_code == 429
    assert response.get_json()["error"] == "rate_limited"
    # Now even the right name, from a fresh address and through the page, is refused:
    # the attacker cannot tell a correct guess from a wrong one any more.
    assert api(client, by_id(), addr="198.51.100.7").status_code == 429
    assert page(client, by_id(), addr="198.51.100.8").status_code == 429
    # A different child is not affected.
    assert api(client, by_id("李一", OTHER_ID), addr="198.51.100.9").status_code == 404


def test_the_identity_limit_also_covers_the_number_check(make_app, registry):
    # A G number contains the ID number: checking it names the same child.
    client = make_app(lookup_identity_limits="2 per hour").test_client()
    for n, name in enumerate(["李一", "李二"]):
        assert api(client, by_id(name), addr=f"198.51.100.{n + 1}").status_code == 404
    check = api(client, {"name": NAME, "number": "G" + ID_NUMBER}, addr="198.51.100.3",
                path="/api/v1/check")
    assert check.status_code == 429


def test_the_name_and_birth_date_is_an_identity_of_its_own(make_app, registry):
    # Guessing ID numbers for a known name and birthday (only the sequence
    # digits vary) is stopped by the second key, name + birth date.
    client = make_app(lookup_identity_limits="3 per hour").test_client()
    for sequence in (11, 12, 13):
        assert api(client, by_id(number=id_number(sequence=sequence)),
                   addr=f"198.51.100.{sequence}").status_code == 404
    assert api(client, by_id(), addr="198.51.100.99").status_code == 429


def test_birth_lookups_are_limited_by_school_and_birth_date(make_app, registry):
    client = make_app(lookup_identity_limits="2 per hour").test_client()

    def by_birth(name: str, addr: str):
        return api(client, {"name": name, "birth_date": "2013-07-01", "school_code": "2113000003"}, addr=addr)

    assert by_birth("王一", "198.51.100.1").status_code == 404
    assert by_birth("王二", "198.51.100.2").status_code == 404
    assert by_birth("李四", "198.51.100.3").status_code == 429


def test_successful_lookups_do_not_use_up_the_identity_budget(make_app, registry):
    client = make_app(lookup_client_limits="1000 per minute").test_client()
    for n in range(8):
        assert api(client, by_id(), addr=f"198.51.100.{n + 1}").status_code == 200
    # The five failures the child's budget allows are all still there.
    for n in range(5):
        assert api(client, by_id("李一"), addr=f"198.51.100.{n + 1}").status_code == 404
    assert api(client, by_id("李一")).status_code == 429


def test_the_identity_limit_is_configurable(make_app, registry):
    client = make_app(lookup_identity_limits="1 per hour").test_client()
    assert api(client, by_id("李一"), addr="198.51.100.1").status_code == 404
    assert api(client, by_id("李二"), addr="198.51.100.2").status_code == 429


# The audit of refused requests ----------------------------------------------------------------------


def test_requests_refused_by_the_identity_limit_are_audited_as_limited(make_app, registry, session):
    client = make_app(lookup_identity_limits="1 per hour").test_client()
    assert api(client, by_id("李一"), addr="198.51.100.1").status_code == 404
    assert api(client, by_id("李二"), addr="198.51.100.2").status_code == 429
    assert page(client, by_id(), addr="198.51.100.3").status_code == 429
    rows = audits(session)
    assert [(r.outcome, r.channel, r.client, r.kind) for r in rows] == [
        ("not_found", "api", "198.51.100.1", "id"),
        ("limited", "api", "198.51.100.2", "id"),
        ("limited", "web", "198.51.100.3", "id"),
    ]
    # One child, one identity: the keyed hash of its ID number, never the number itself.
    assert {r.identity for r in rows} == {identity_of(f"id:{ID_NUMBER}")}
    for row in rows:
        values = [str(getattr(row, column.key)) for column in LookupAudit.__table__.columns]
        assert not any(ID_NUMBER in value or NAME in value or "李" in value for value in values)


def test_requests_refused_by_the_client_limit_are_audited_as_limited(make_app, registry, session):
    client = make_app(lookup_client_limits="1 per minute").test_client()
    assert api(client, by_id()).status_code == 200
    assert api(client, {"name": "李四", "birth_date": "2013-07-01", "school_code": "2113000003"}
               ).status_code == 429
    assert [(r.outcome, r.kind, r.client) for r in audits(session)] == [
        ("found", "id", "198.51.100.1"), ("limited", "birth", "198.51.100.1")]
    assert audits(session, outcome="limited")[0].identity == identity_of("sb:2113000003|2013-07-01")


def test_a_refused_request_logs_one_line_without_personal_data(make_app, registry, caplog):
    client = make_app(lookup_identity_limits="1 per hour").test_client()
    with caplog.at_level("INFO", logger="xueji.lookup"):
        api(client, by_id("李一"), addr="198.51.100.1")
        api(client, by_id("李二"), addr="198.51.100.2")
    lines = [r.getMessage() for r in caplog.records if r.name == "xueji.lookup"]
    assert len(lines) == 2
    assert "outcome=not_found" in lines[0] and "outcome=limited" in lines[1]
    assert f"identity={identity_of(f'id:{ID_NUMBER}')[:12]}" in lines[1]
    assert not any(ID_NUMBER in text or "李" in text for text in caplog.text.splitlines())
