"""/metrics: requests, lookups by outcome, mail and queues, overdue tickets; for allowed addresses only.

Issue 7 item 2: "Prometheus metrics (prometheus-client, at /metrics,
reachable only from configured addresses in production) for requests,
lookups by outcome, mail outcomes, queue lengths, overdue tickets".
"""

from __future__ import annotations

import datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hotline.tickets.inbox import ReceivedMail
from hotline.tickets.models import Clock
from hotline.tickets.outbox import OutgoingMail
from tests.hotline.console.ticket_support import desk
from tests.hotline.ops.conftest import target_of, through
from tests.lookup.conftest import registry
from tests.lookup.test_limits import ID_NUMBER, api, by_id, make_app

__all__ = ["make_app", "registry"]  # fixtures

NOW = datetime.datetime.now(datetime.UTC)


def scrape(client, addr: str = "127.0.0.1") -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": addr})
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/plain"
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# (XUEJI_METRICS_ALLOW or None for the default, XUEJI_TRUSTED_PROXIES, peer, X-Forwarded-For, allowed)
ACCESS = [
    (None, (), "127.0.0.1", None, True),
    (None, (), "::1", None, True),
    (None, (), "10.1.2.3", None, False),
    (("10.0.0.0/8",), (), "10.1.2.3", None, True),
    (("10.0.0.0/8",), (), "127.0.0.1", None, False),
    # Through our nginx on the same machine: the client is who nginx says it is.
    (None, ("127.0.0.1",), "127.0.0.1", "203.0.113.5", False),
    (("192.0.2.10",), ("127.0.0.1",), "127.0.0.1", "192.0.2.10", True),
    # A client that is not a proxy cannot claim to be the monitoring host.
    (None, ("10.9.9.9",), "203.0.113.5", "127.0.0.1", False),
]


@pytest.mark.parametrize(("allow", "proxies", "peer", "forwarded", "allowed"), ACCESS)
def test_only_allowed_addresses_see_the_metrics_others_get_a_404(make_app, allow, proxies, peer, forwarded,
                                                                 allowed):
    overrides = {"trusted_proxies": proxies} | ({"metrics_allow": allow} if allow else {})
    client = make_app(**overrides).test_client()
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    response = client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": peer})
    if allowed:
        assert response.status_code == 200 and b"xueji_http_requests_total" in response.data
    else:
        assert response.status_code == 404 and "您访问的页面不存在" in response.get_data(as_text=True)


def test_requests_are_counted_by_endpoint_and_status_class_with_their_latency(client):
    before = scrape(client)
    for _ in range(3):
        client.get("/healthz")
    client.get("/no-such-page")
    after = scrape(client)
    healthz = {"endpoint": "public.healthz", "status": "2xx"}
    assert value(after, "xueji_http_requests_total", **healthz) - value(before, "xueji_http_requests_total",
                                                                       **healthz) == 3
    unmatched = {"endpoint": "unmatched", "status": "4xx"}
    assert value(after, "xueji_http_requests_total", **unmatched) - value(
        before, "xueji_http_requests_total", **unmatched) == 1
    count = "xueji_http_request_duration_seconds_count"
    healthz_only = {"endpoint": "public.healthz"}
    assert value(after, count, **healthz_only) - value(before, count, **healthz_only) == 3
    buckets = "xueji_http_request_duration_seconds_bucket"
    assert value(after, buckets, endpoint="public.healthz", le="+Inf") >= 3


def test_lookups_are_counted_by_outcome_as_audited_without_personal_data(make_app, registry):
    client = make_app(lookup_client_limits="4 per minute").test_client()
    before = scrape(client)
    assert api(client, by_id()).status_code == 200
    assert api(client, by_id(name="李四")).status_code == 404
    assert api(client, {"name": "张三"}).status_code == 400
    assert api(client, by_id()).status_code == 200
    assert api(client, by_id()).status_code == 429
    after = scrape(client)
    counted = {outcome: value(after, "xueji_lookups_total", channel="api", outcome=outcome)
               - value(before, "xueji_lookups_total", channel="api", outcome=outcome)
               for outcome in ("found", "not_found", "invalid", "limited", "replaced")}
    assert counted == {"found": 2, "not_found": 1, "invalid": 1, "limited": 1, "replaced": 0}
    text = client.get("/metrics").get_data(as_text=True)
    assert ID_NUMBER not in text and "张三" not in text and "李四" not in text


def _received(outcome: str, at: datetime.datetime, n: int, *, replayed_by: int | None = None) -> ReceivedMail:
    return ReceivedMail(source="spool", source_key=f"{outcome}-{n}-{at.timestamp()}",
                        content_sha256=f"{n:064x}",
                        message_id=None, raw_path=f"cur/{outcome}-{n}", size=100, received_at=at,
                        processed_at=at, outcome=outcome, replayed_by=replayed_by)


def test_mail_queues_and_overdue_tickets_are_read_from_the_database(app, client):
    with desk(app) as d:
        on_time = d.ticket(at=NOW - datetime.timedelta(hours=1))
        late = d.ticket(at=NOW - datetime.timedelta(hours=2))
        session = d.session
        # Mail of the last 24 hours by outcome; older mail is not counted.
        for n, outcome in enumerate(["ticket", "ticket", "reply", "quarantine", "quarantine", "duplicate"]):
            session.add(_received(outcome, NOW - datetime.timedelta(hours=n + 1), n))
        session.add(_received("ticket", NOW - datetime.timedelta(hours=30), 99))
        for n, status in enumerate(["queued", "queued", "queued", "sending", "sent", "failed"]):
            session.add(OutgoingMail(ticket_id=on_time.id, kind="reply", to_addr="p@example.com", subject="s",
                                     body_text="b", message_id=f"<m{n}@x>", reply_to="r@x", status=status,
                                     attempts=0, next_attempt_at=NOW, created_at=NOW))
        session.flush()
        # One quarantined message was replayed: it no longer waits.
        replayed = session.query(ReceivedMail).filter_by(outcome="quarantine").first()
        replayed.replayed_by = session.query(ReceivedMail).filter_by(outcome="reply").one().id
        # The late ticket's running clock is past due; a paused one past due does not count.
        clock = session.query(Clock).filter_by(ticket_id=late.id, stopped_at=None).one()
        clock.due_at = NOW - datetime.timedelta(minutes=5)
        paused = session.query(Clock).filter_by(ticket_id=on_time.id, stopped_at=None).one()
        paused.due_at, paused.paused_at = NOW - datetime.timedelta(days=1), NOW - datetime.timedelta(days=2)
        step = clock.step
    samples = scrape(client)
    assert value(samples, "xueji_database_up") == 1
    assert {o: value(samples, "xueji_mail_received_24h", outcome=o)
            for o in ("ticket", "reply", "quarantine", "duplicate", "auto", "bounce", "loop")} == {
        "ticket": 2, "reply": 1, "quarantine": 2, "duplicate": 1, "auto": 0, "bounce": 0, "loop": 0}
    outgoing = {s: value(samples, "xueji_mail_outgoing", status=s)
                for s in ("queued", "sending", "sent", "failed")}
    assert outgoing == {"queued": 3, "sending": 1, "sent": 1, "failed": 1}
    assert value(samples, "xueji_mail_quarantine") == 1
    assert value(samples, "xueji_tickets_overdue") == 1
    assert value(samples, "xueji_clocks_overdue", step=step) == 1


def test_without_the_database_the_counters_are_still_served(backend, own_database, tcp_proxy, make_own_app,
                                                            tmp_path):
    if backend == "postgresql":
        proxy = tcp_proxy(target_of(own_database))
        proxy.mode = "refuse"
        url = through(own_database, proxy)
    else:
        url = f"sqlite:///{tmp_path / 'gone' / 'x.sqlite3'}"
    client = make_own_app(url).test_client()
    client.get("/healthz")
    samples = scrape(client)
    assert value(samples, "xueji_database_up") == 0
    assert value(samples, "xueji_http_requests_total", endpoint="public.healthz", status="2xx") >= 1
    assert not any(name == "xueji_mail_quarantine" for name, _ in samples)
