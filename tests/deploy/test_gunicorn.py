"""deploy/gunicorn.conf.py: its settings, and gunicorn running the site with it.

The live tests start gunicorn as the systemd unit does (``hotline.wsgi:app``
with the config file) on a free loopback port, against a database of the
test's own, and read its access log and the app's audit afterwards.
"""

from __future__ import annotations

import os
import runpy
import signal
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from hotline import db
from lookup.models import LookupAudit
from tests.deploy.live import CONFIG, CONTACT, Site, gunicorn


def settings(monkeypatch: pytest.MonkeyPatch, **environ: str) -> dict:
    """The config file's settings as gunicorn reads them, under ``environ``."""
    for name in ("WEB_CONCURRENCY", "XUEJI_TRUSTED_PROXIES", "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG))


def test_workers_come_from_the_cores_unless_web_concurrency_says(monkeypatch):
    cores = len(os.sched_getaffinity(0))
    assert settings(monkeypatch)["workers"] == min(2 * cores + 1, 12)
    assert settings(monkeypatch, WEB_CONCURRENCY="3")["workers"] == 3
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY='0': expected a number of workers"):
        settings(monkeypatch, WEB_CONCURRENCY="0")


@pytest.mark.parametrize("proxies, allowed", [
    (None, ""),
    ("127.0.0.1", "127.0.0.1"),
    ("10.0.0.0/8, ::1", "10.0.0.0/8,::1"),
    ("not-an-address", ""),  # refused by the app, in one line, when it loads; gunicorn trusts no one
])
def test_gunicorn_trusts_for_the_scheme_exactly_the_proxies_the_app_trusts(monkeypatch, proxies, allowed):
    environ = {"XUEJI_TRUSTED_PROXIES": proxies} if proxies is not None else {}
    assert settings(monkeypatch, **environ)["forwarded_allow_ips"] == allowed


def test_the_access_log_format_names_the_path_and_never_the_query(monkeypatch):
    config = settings(monkeypatch)
    assert "%(U)s" in config["access_log_format"]
    for leaky in ("%(r)s", "%(q)s", "%(f)s", "{referer}"):
        assert leaky not in config["access_log_format"]
    assert config["worker_class"] == "sync" and config["preload_app"] is False
    assert config["max_requests"] > 0 and 0 < config["max_requests_jitter"] < config["max_requests"]


def test_gunicorn_runs_the_site_and_logs_no_query_string(site: Site):
    status, _ = site.get(f"/api/v1/tickets/2026-000001?contact={CONTACT}", **{"X-Request-ID": "probe-1"})
    assert status == 404  # one answer for every miss
    line = site.logged("/api/v1/tickets/2026-000001")
    assert '"GET /api/v1/tickets/2026-000001 HTTP/1.1" 404' in line and line.endswith("probe-1")
    assert CONTACT not in site.access_log.read_text() + site.error_log.read_text()
    assert "contact=" not in site.access_log.read_text()


def test_the_app_not_gunicorn_decides_the_client_address(site: Site):
    """gunicorn leaves REMOTE_ADDR as the peer; the app reads X-Forwarded-For from a trusted proxy."""
    body = {"name": "张三", "id_number": "110101201203070011"}
    status, _ = site.post_json("/api/v1/lookup", body, **{"X-Forwarded-For": "198.51.100.1, 203.0.113.7"})
    assert status in (400, 404)
    engine = db.make_engine(site.database)
    with engine.connect() as connection:
        clients = list(connection.scalars(select(LookupAudit.client)))
    engine.dispose()
    # The peer (127.0.0.1) is a trusted proxy: the client is the hop it added, not the spoofable first one.
    assert clients == ["203.0.113.7"]


def test_metrics_start_from_an_empty_folder_and_count_across_workers(site: Site, monkeypatch):
    assert not (site.metrics / "counter_999999.db").exists()
    for _ in range(6):
        assert site.get("/healthz")[0] == 200
    status, text = site.get("/metrics")
    assert status == 200 and b"xueji_http_requests" in text
    assert any(site.metrics.glob("*.db"))
    # A dead worker's live gauges are dropped by the child_exit hook.
    live = site.metrics / "gauge_livesum_424242.db"
    live.write_bytes(b"")
    config = settings(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(site.metrics))
    config["child_exit"](None, SimpleNamespace(pid=424242))
    assert not live.exists()


def test_sigterm_stops_gunicorn_gracefully(own_database, tmp_path):
    for site in gunicorn(own_database, tmp_path):
        site.process.send_signal(signal.SIGTERM)
        assert site.process.wait(timeout=60) == 0
        assert "Shutting down" in site.error_log.read_text()
