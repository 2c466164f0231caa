"""A live site for the deployment tests: gunicorn started as xueji-web.service starts it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.conftest import service_environ

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CONTACT = "13800138000"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Site:
    url: str
    process: subprocess.Popen
    access_log: Path
    error_log: Path
    metrics: Path
    database: str

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def get(self, path: str, **headers: str) -> tuple[int, bytes]:
        return self.request(urllib.request.Request(self.url + path, headers=headers))

    def post_json(self, path: str, body: dict, **headers: str) -> tuple[int, bytes]:
        return self.request(urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json", **headers}))

    def logged(self, text: str) -> str:
        """The access log's line holding ``text`` (gunicorn writes it just after the answer)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            lines = [line for line in self.access_log.read_text().splitlines() if text in line]
            if lines:
                return lines[0]
            time.sleep(0.05)
        pytest.fail(f"no access log line with {text!r}")

    @staticmethod
    def request(request: urllib.request.Request) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


def wait_until_up(site: Site) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if site.process.poll() is not None:
            pytest.fail(f"gunicorn stopped: {site.error_log.read_text()}")
        try:
            if site.get("/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail("gunicorn did not answer /healthz")


def gunicorn(database: str, tmp_path: Path) -> Iterator[Site]:
    """gunicorn with deploy/gunicorn.conf.py on a free port, nginx's 127.0.0.1 trusted as a proxy."""
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_999999.db").write_bytes(b"left by an earlier run")
    port = free_port()
    environ = service_environ(database, tmp_path / "instance", XUEJI_TRUSTED_PROXIES="127.0.0.1")
    environ.update(WEB_CONCURRENCY="2", PROMETHEUS_MULTIPROC_DIR=str(metrics))
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    process = subprocess.Popen(
        [GUNICORN, "--config", str(CONFIG), "--bind", f"127.0.0.1:{port}", "--access-logfile", str(access),
         "--error-logfile", str(errors), "hotline.wsgi:app"], env=environ, cwd=tmp_path)
    site = Site(f"http://127.0.0.1:{port}", process, access, errors, metrics, database)
    try:
        wait_until_up(site)
        yield site
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
