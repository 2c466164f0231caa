"""The lookup limits in Redis, as production runs them, against a real Redis server.

The issue: "Redis in production (XUEJI_RATELIMIT_STORAGE_URI=redis://…),
tested against a real Redis server; if Redis goes away the site keeps
answering with in-process limits and logs it." Each module run starts a
throwaway ``redis-server`` on a free port (never the machine's shared one),
so a test may kill and restart it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import ID_KEY
from tests.logscan import find_id_numbers
from tests.lookup.test_limits import ID_NUMBER, api, audits, by_id, identity_of, make_app

__all__ = ["make_app"]  # a fixture used below

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A ``redis-server`` child process on one port, that a test may stop and start again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None
        self.client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)

    def start(self, timeout: float = 10) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.client.ping():
                    return
            except redis.ConnectionError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None
        self.client.connection_pool.disconnect()

    def key_names(self) -> list[str]:
        return sorted(key.decode() for key in self.client.keys("*"))


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    if not os.path.exists(REDIS_SERVER):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{REDIS_SERVER} is missing; CI must install redis-server")
        pytest.skip("redis-server is not installed")
    server = RedisServer(_free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The server's URL, running and empty for the test."""
    if redis_server.process is None:
        redis_server.start()
    redis_server.client.flushall()
    return redis_server.url


def test_limits_are_kept_in_redis_under_the_xueji_prefix(make_app, registry, redis_server, redis_url):
    client = make_app(ratelimit_storage_uri=redis_url, lookup_client_limits="2 per minute").test_client()
    assert api(client, by_id("李一")).status_code == 404
    assert api(client, by_id()).status_code == 200
    assert api(client, by_id()).status_code == 429
    keys = redis_server.key_names()
    assert keys, "nothing was written to Redis"
    assert all(key.startswith("LIMITS:LIMITER/xueji/") for key in keys), keys
    assert any("/198.51.100.1/lookup-client/" in key for key in keys), keys
    # The failed lookup counted against the child, keyed by its keyed hash.
    assert any(f"/{identity_of(f'id:{ID_NUMBER}')}/lookup-identity-0/" in key for key in keys), keys
    # And no key holds an ID number in clear.
    assert find_id_numbers("\n".join(keys)) == []


# A second worker: its own process and its own app, with nothing in common
# with the test's but the Redis server (and its own SQLite file for the audit).
_WORKER = textwrap.dedent("""
    import json, sys
    from hotline import db
    from hotline.app import create_app
    from hotline.config import load_settings
    folder, storage, key, limits, count = sys.argv[1:]
    app = create_app(load_settings({}, env="testing", database_url=f"sqlite:///{folder}/worker.sqlite3",
                                   instance_path=folder, secret_key="s", id_hash_key=key,
                                   ratelimit_storage_uri=storage, lookup_client_limits=limits))
    db.upgrade(app.extensions["xueji.engine"])
    client = app.test_client()
    print(json.dumps([client.post("/api/v1/lookup", json={"name": "张三"},
                                  environ_base={"REMOTE_ADDR": "198.51.100.1"}).status_code
                      for _ in range(int(count))]))
""")


def _other_worker(tmp_path, storage: str, limits: str, count: int) -> list[int]:
    result = subprocess.run(
        [sys.executable, "-c", _WORKER, str(tmp_path), storage, ID_KEY, limits, str(count)],
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[2],
        env={k: v for k, v in os.environ.items() if not k.startswith("XUEJI_")})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_two_workers_sharing_redis_share_one_budget(make_app, registry, redis_url, tmp_path):
    # What several gunicorn workers rely on: a client's budget is one, whichever
    # worker its requests land on.
    client = make_app(ratelimit_storage_uri=redis_url, lookup_client_limits="3 per minute").test_client()
    assert api(client, {"name": "张三"}).status_code == 400
    assert api(client, {"name": "张三"}).status_code == 400
    assert _other_worker(tmp_path, redis_url, "3 per minute", 2) == [400, 429]
    assert api(client, {"name": "张三"}).status_code == 429


def _wait_for(condition: Callable[[], bool], action: Callable[[], object], timeout: float) -> bool:
    """Repeat ``action`` until ``condition`` holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        action()
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_without_redis_the_site_answers_with_in_process_limits_and_recovers(
        make_app, registry, redis_server, redis_url, session, caplog):
    caplog.set_level(logging.INFO, logger="flask-limiter")
    client = make_app(ratelimit_storage_uri=redis_url, lookup_client_limits="3 per minute").test_client()
    assert api(client, by_id(), addr="198.51.100.1").status_code == 200
    assert redis_server.key_names()

    redis_server.stop()
    # Lookups of every outcome still answer; none is a 500.
    assert api(client, by_id(), addr="198.51.100.2").status_code == 200
    assert api(client, by_id("李一"), addr="198.51.100.2").status_code == 404
    assert api(client, {"name": "张三"}, addr="198.51.100.2").status_code == 400
    # ... and the limit still holds, counted in this process.
    assert api(client, by_id(), addr="198.51.100.2").status_code == 429
    warnings = [r for r in caplog.records if r.name == "flask-limiter" and r.levelno == logging.WARNING]
    assert any("Rate limit storage unreachable" in r.getMessage() for r in warnings)
    assert [r.outcome for r in audits(session, client="198.51.100.2")] == [
        "found", "not_found", "invalid", "limited"]

    redis_server.start()
    caplog.clear()

    def recovered() -> bool:
        return any("Rate limit storage recovered" in r.getMessage() for r in caplog.records)

    # flask-limiter looks at the storage again after 1, 2, 4 ... seconds.
    addresses = iter(f"198.51.101.{n}" for n in range(1, 250))
    assert _wait_for(recovered, lambda: api(client, by_id(), addr=next(addresses)), timeout=15), \
        "flask-limiter did not notice that Redis is back"
    # Back in Redis: a new request is counted there again.
    assert api(client, by_id(), addr="198.51.100.77").status_code == 200
    assert any("/198.51.100.77/lookup-client/" in key for key in redis_server.key_names())
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
