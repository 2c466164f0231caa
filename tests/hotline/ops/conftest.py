"""Fixtures of the operations tests: databases of their own, a TCP proxy that can fail, servers.

The outage tests need the database to go away for real while the app runs.
Stopping the machine's PostgreSQL would upset every other test, so the app
reaches its database through :class:`TcpProxy`, which a test switches
between forwarding, refusing (what a restarting server does: the
connection is accepted and closed at once) and hanging (a network
partition: nothing ever answers), and which can cut the connections it
carries, as a server shutting down does.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import make_url
from sqlalchemy.orm import Session

from hotline import db
from hotline.app import create_app, limiter
from hotline.config import load_settings
from lookup.registry import seed
from tests.conftest import ID_KEY, _throwaway_postgresql
from tests.lookup.factories import g_row, import_registry
from tests.lookup.test_redis_limits import redis_server, redis_url

__all__ = ["redis_server", "redis_url"]  # fixtures, used by the Redis tests here

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TcpProxy:
    """A loopback TCP proxy in front of ``target``: ``open``, ``refuse`` or ``hang``."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.mode = "open"
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._closed = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _keep(self, *sockets: socket.socket) -> None:
        with self._lock:
            self._sockets.extend(sockets)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            if self.mode == "refuse":
                client.close()
            elif self.mode == "hang":
                self._keep(client)  # held open, never answered
            else:
                try:
                    upstream = socket.create_connection(self.target, timeout=5)
                except OSError:
                    client.close()
                    continue
                upstream.settimeout(None)
                self._keep(client, upstream)
                for source, sink in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """End every connection carried so far, as a server that shuts down does."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone does not)
        self._listener.close()
        self._thread.join(timeout=10)
        self.cut()


@pytest.fixture
def tcp_proxy() -> Iterator[Callable[[tuple[str, int]], TcpProxy]]:
    proxies: list[TcpProxy] = []

    def make(target: tuple[str, int]) -> TcpProxy:
        proxies.append(TcpProxy(target))
        return proxies[-1]

    yield make
    for proxy in proxies:
        proxy.close()


def _seeded(url: str, folder: Path) -> None:
    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
        with Session(engine) as session:
            seed(session)

            def write(name: str, lines: list[str]) -> Path:
                (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
                return folder / name

            import_registry(session, write, students=[g_row(1, name="张三")], id_hash_key=ID_KEY.encode())
            session.commit()
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def own_database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of the module's own, migrated and seeded (one school list, one student):
    apps and servers here commit to it, which the session's shared database must not see."""
    folder = tmp_path_factory.mktemp("own")
    if backend == "postgresql":
        made = _throwaway_postgresql()
        url = next(made)
    else:
        made, url = None, f"sqlite:///{folder / 'own.sqlite3'}"
    _seeded(url, folder)
    yield url
    if made is not None:
        next(made, None)  # drops the database


def through(url: str, proxy: TcpProxy) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


def target_of(url: str) -> tuple[str, int]:
    parsed = make_url(url)
    return parsed.host or "127.0.0.1", parsed.port or 5432


@pytest.fixture
def make_own_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Apps on a database URL of the test's choosing, with their own engine (no test transaction)."""
    apps: list[Flask] = []

    def make(database_url: str, **overrides: object) -> Flask:
        settings = load_settings({}, env="testing", database_url=database_url, secret_key="test-secret",
                                 id_hash_key=ID_KEY, instance_path=str(tmp_path / "instance"), **overrides)
        app = create_app(settings)
        # flask-limiter keeps "the storage is dead" on its one Limiter, not per app.
        limiter._storage_dead = False
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["xueji.engine"].dispose()


def clean_environ(**settings: str) -> dict[str, str]:
    """The test process's environment without its XUEJI_ settings, plus ``settings``."""
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith("XUEJI_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    environ.update(settings)
    return environ


def http(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None,
         ) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read().decode()


class Gunicorn:
    """gunicorn serving ``hotline.wsgi:app`` on a loopback port, its stderr in a file."""

    def __init__(self, environ: dict[str, str], folder: Path, *args: str) -> None:
        self.port = free_port()
        self.log = folder / f"gunicorn-{self.port}.log"
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--no-control-socket",
             "--graceful-timeout", "5", *args, "hotline.wsgi:app"],
            env=environ, stdout=subprocess.DEVNULL, stderr=self._log_file, cwd=folder)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                http(self.url + "/healthz")
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"gunicorn did not start:\n{self.stderr()}") from None
                time.sleep(0.1)

    def stderr(self) -> str:
        self._log_file.flush()
        return self.log.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[Callable[..., Gunicorn]]:
    servers: list[Gunicorn] = []

    def start(environ: dict[str, str], *args: str) -> Gunicorn:
        servers.append(Gunicorn(environ, tmp_path, *args))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()
