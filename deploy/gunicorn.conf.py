"""gunicorn settings of the xueji web site (installed as /etc/xueji/gunicorn.conf.py).

    gunicorn --config /etc/xueji/gunicorn.conf.py hotline.wsgi:app

nginx sits in front (deploy/nginx/xueji.conf): it holds slow clients, TLS
and static files, so gunicorn only ever talks to nginx over loopback.

Overrides without editing this file: ``WEB_CONCURRENCY`` (worker processes)
and ``GUNICORN_CMD_ARGS`` (any gunicorn option, e.g. ``--bind``); the
trusted proxies come from the service's own ``XUEJI_TRUSTED_PROXIES``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# --- where and how many ------------------------------------------------------------------------

# TCP on loopback, not a unix socket: over a unix socket REMOTE_ADDR is not an
# address, so hotline.web.TrustedProxies could not recognise nginx and would
# not read X-Forwarded-For, and every client would share one rate-limit
# bucket. With nginx on 127.0.0.1, set XUEJI_TRUSTED_PROXIES=127.0.0.1.
bind = ["127.0.0.1:8000"]
# Past this many workers a machine gains little (the work is Python and
# round trips to PostgreSQL) and each worker keeps up to two database
# connections: 12 workers on each of N web machines need 24×N connections.
MAX_WORKERS = 12


def worker_count(configured: str | None, cores: int) -> int:
    """``WEB_CONCURRENCY`` if set, else gunicorn's rule of thumb 2×cores+1, at most MAX_WORKERS.

    >>> worker_count(None, 2), worker_count(None, 8), worker_count("3", 64)
    (5, 12, 3)
    """
    if configured:
        try:
            workers = int(configured)
        except ValueError:
            workers = 0
        if workers < 1:
            raise SystemExit(f"WEB_CONCURRENCY={configured!r}: expected a number of workers (1 or more)")
        return workers
    return min(2 * cores + 1, MAX_WORKERS)


def usable_cores() -> int:
    # The cores this process may run on (a cpuset or taskset may give it fewer than the machine has).
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


workers = worker_count(os.environ.get("WEB_CONCURRENCY"), usable_cores())
# Sync workers: one request at a time per process. nginx buffers requests and
# answers, so a slow phone never holds a worker; requests are short (a lookup
# is a few milliseconds) and nothing streams. On a 2-core machine sync
# workers answered about twice as many requests per second as gthread
# (NOTES.md: 4.3-5.2k against 2.2-2.5k), and a process per request keeps
# SQLAlchemy sessions and Flask's globals simple.
worker_class = "sync"
# Each worker builds its own app and its own database pool after the fork
# (hotline.wsgi builds the app on first use): a pool created before the fork
# would share its connections between processes.
preload_app = False
# A worker recycles itself after this many requests (jittered, so they do
# not all restart at once): memory that a library slowly leaks is given back.
max_requests = 2000
max_requests_jitter = 200

# --- time --------------------------------------------------------------------------------------

# A worker silent this long is killed and replaced. The slowest pages (a
# national dashboard CSV) take seconds; nginx gives up at 35 s (proxy_read_timeout).
timeout = 30
# On SIGTERM (systemctl stop, a deploy) workers finish the requests they have; TimeoutStopSec is 45.
graceful_timeout = 30
# Only used by threaded or async workers (a sync worker closes after each
# answer); nginx opens a connection per request to upstream anyway.
keepalive = 5

# --- proxies -----------------------------------------------------------------------------------


def trusted_proxies() -> str:
    """XUEJI_TRUSTED_PROXIES as gunicorn's forwarded_allow_ips ("" trusts no one).

    gunicorn itself uses it only to take the scheme from X-Forwarded-Proto; it
    never rewrites REMOTE_ADDR from X-Forwarded-For, which the app does
    (hotline.web.TrustedProxies) from the same list. A configuration the
    service refuses is reported, in one line, by the app when it loads.
    """
    from hotline.config import ConfigError, load_settings

    try:
        return ",".join(load_settings().trusted_proxies)
    except ConfigError:
        return ""


forwarded_allow_ips = trusted_proxies()
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
# No header may set SCRIPT_NAME or PATH_INFO, even from nginx.
forwarder_headers = ""
# The PROXY protocol would let the peer name the client address: off (the default), never needed.
proxy_protocol = False

# --- logs --------------------------------------------------------------------------------------

# To stderr, which systemd sends to the journal.
errorlog = "-"
loglevel = "info"
accesslog = "-"
# The path (%(U)s), never the request line (%(r)s) or the query (%(q)s): the
# status API carries the complainant's phone or e-mail in its query string.
# No referrer either: another site's URL may carry anything. The peer is
# nginx; nginx's own log has the client, and X-Request-ID ties the lines of
# nginx, gunicorn and the app (hotline.logs) together.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s" %({x-request-id}i)s'
proc_name = "xueji-web"
# gunicorn 25.1+ opens a control socket under $HOME by default; systemd manages this service instead.
control_socket_disable = True

# --- Prometheus, several processes -------------------------------------------------------------
# With PROMETHEUS_MULTIPROC_DIR set (xueji-web.service sets it to its runtime
# directory), prometheus-client keeps each worker's counts in files there and
# /metrics adds them up (hotline.metrics). Guarded: without the variable, or
# without prometheus-client, these hooks do nothing.


def metrics_folder() -> Path | None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(folder) if folder else None


def on_starting(server: object) -> None:
    """In the arbiter, before any worker: start from an empty folder (counts of an earlier run would
    otherwise be added to this one's)."""
    folder = metrics_folder()
    if folder is None:
        return
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


def child_exit(server: object, worker: object) -> None:
    """In the arbiter, when a worker has exited: its live gauges go, its counters stay counted."""
    if metrics_folder() is None:
        return
    try:
        from prometheus_client import multiprocess
    except ImportError:
        return
    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


if __name__ == "__main__":  # python3 gunicorn.conf.py: show what this machine gets
    print(f"workers={workers} bind={bind} forwarded_allow_ips={forwarded_allow_ips!r}", file=sys.stderr)
