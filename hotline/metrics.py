"""Prometheus metrics at /metrics, for the addresses of ``XUEJI_METRICS_ALLOW`` only.

Two kinds:

- counted as things happen, in the process that saw them: requests by
  endpoint and status class with their latency (hotline.logs times every
  request), lookups by outcome (lookup.audit, where the audit row is
  written). Under gunicorn each worker counts its own; with
  ``PROMETHEUS_MULTIPROC_DIR`` set, prometheus-client keeps the counts in
  files there and /metrics adds up every worker's, whichever worker
  answers the scrape.
- read from the database at scrape time, so every worker and machine
  reports the same figures: mail taken in during the last 24 hours by
  outcome, outgoing mail by state, the quarantine, overdue tickets.

No label carries personal data: endpoints, status classes, outcomes, states
and steps only.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator

from flask import Flask, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text

from hotline import db
from hotline.config import prometheus_multiproc_dir

REQUESTS = Counter("xueji_http_requests", "HTTP requests answered, by endpoint and status class.",
                   ["endpoint", "status"])
LATENCY = Histogram("xueji_http_request_duration_seconds",
                    "Time from the start of the request's handling to its answer, by endpoint.",
                    ["endpoint"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def status_class(status: int) -> str:
    """
    >>> status_class(200), status_class(404), status_class(503)
    ('2xx', '4xx', '5xx')
    """
    return f"{status // 100}xx"


def observe_request(endpoint: str, status: int, seconds: float) -> None:
    REQUESTS.labels(endpoint, status_class(status)).inc()
    LATENCY.labels(endpoint).observe(seconds)


class DatabaseCollector(Collector):
    """The figures read from the database at scrape time, through the request's session."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("xueji_database_up", "1 if /metrics could read the database, else 0.")
        try:
            families = list(self._families())
        except Exception as exc:
            if not db.unavailable(exc):
                raise
            current_app.logger.warning("metrics: database unavailable (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self) -> Iterator[Metric]:
        from hotline.tickets.inbox import OUTCOMES, ReceivedMail
        from hotline.tickets.models import Clock
        from hotline.tickets.outbox import STATUSES, OutgoingMail

        session = db.session()
        now = datetime.datetime.now(datetime.UTC)
        since = now - datetime.timedelta(hours=24)
        received = dict(session.execute(
            select(ReceivedMail.outcome, func.count()).where(ReceivedMail.processed_at >= since)
            .group_by(ReceivedMail.outcome)).all())
        family = GaugeMetricFamily("xueji_mail_received_24h",
                                   "Mail taken in during the last 24 hours, by recorded outcome.",
                                   labels=["outcome"])
        for outcome in OUTCOMES:
            family.add_metric([outcome], received.get(outcome, 0))
        yield family

        outgoing = dict(session.execute(
            select(OutgoingMail.status, func.count()).group_by(OutgoingMail.status)).all())
        family = GaugeMetricFamily("xueji_mail_outgoing", "Outgoing mail by state (queued and sending "
                                   "are the sender's backlog).", labels=["status"])
        for status in STATUSES:
            family.add_metric([status], outgoing.get(status, 0))
        yield family

        yield GaugeMetricFamily("xueji_mail_quarantine", "Quarantined mail waiting for a person.",
                                value=session.execute(text("SELECT count(*) FROM quarantine")).scalar_one())

        # As the console counts them: running (not stopped, not paused) and past the due time.
        overdue = (Clock.stopped_at.is_(None), Clock.paused_at.is_(None), Clock.due_at < now)
        by_step = dict(session.execute(
            select(Clock.step, func.count()).where(*overdue).group_by(Clock.step)).all())
        family = GaugeMetricFamily("xueji_clocks_overdue", "Statutory clocks running past their due time, "
                                   "by workflow step.", labels=["step"])
        for step, count in sorted(by_step.items()):
            family.add_metric([step], count)
        yield family
        yield GaugeMetricFamily(
            "xueji_tickets_overdue", "Open tickets with at least one statutory clock past its due time.",
            value=session.execute(select(func.count(Clock.ticket_id.distinct())).where(*overdue)).scalar_one())


def _address(text_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text_address)
    except ValueError:
        return None
    # A dual-stack socket shows an IPv4 peer as ::ffff:127.0.0.1.
    return (ip.ipv4_mapped or ip) if isinstance(ip, ipaddress.IPv6Address) else ip


def allowed(address: str | None, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    """
    >>> nets = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1"))
    >>> allowed("127.0.0.1", nets), allowed("::ffff:127.0.0.1", nets), allowed("10.0.0.5", nets)
    (True, True, False)
    >>> allowed(None, nets), allowed("garbage", nets)
    (False, False)
    """
    ip = _address(address or "")
    return ip is not None and any(ip.version == net.version and ip in net for net in networks)


def exposition() -> bytes:
    """Every metric in Prometheus' text format: this process's (or, in multiprocess mode,
    every worker's) counters, then the database's figures."""
    if prometheus_multiproc_dir():
        from prometheus_client import multiprocess

        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(DatabaseCollector())
    return generate_latest(counted) + generate_latest(scraped)


def view() -> Response:
    # The client address as hotline.web.TrustedProxies leaves it; a 404, not
    # a 403, so that the endpoint does not announce itself to the public.
    if not allowed(request.remote_addr, current_app.extensions["xueji.metrics_allow"]):
        abort(404)
    response = Response(exposition(), content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    settings = app.config["XUEJI"]
    app.extensions["xueji.metrics_allow"] = tuple(
        ipaddress.ip_network(network, strict=False) for network in settings.metrics_allow)
    app.add_url_rule("/metrics", "metrics", view)
