"""Readiness (/readyz): can this process serve requests now?

Liveness (/healthz, lookup.views) says only that the process answers. Ready
means, in addition:

- the database answers a trivial SELECT within a few seconds (a connection
  that hangs, as in a network partition, must not hang the probe: the query
  runs in a thread the probe stops waiting for);
- its schema is at the migrations' head (read from ``alembic_version`` at
  most every ``SCHEMA_CACHE_SECONDS`` while it is at head, so the probe
  stays one round trip);
- the rate-limit storage answers (Redis' PING; memory is always there).

Redis being down leaves the site working on in-process limits (issue 3),
but not as configured, so the probe says so with a 503 like the others: a
balancer that drops unready machines drops every machine sharing that Redis.

``xueji check`` (hotline.check) runs the same probes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine, inspect

from hotline import db

DATABASE_TIMEOUT_SECONDS = 3.0
SCHEMA_CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class Probe:
    """One part's state: a code for machines and a sentence (Chinese) for people."""

    part: str  # database, schema, ratelimit_storage
    code: str  # "ok", or what is wrong: unreachable, timeout, empty, behind, ...
    message: str

    @property
    def ok(self) -> bool:
        return self.code == "ok"


def error_line(error: BaseException) -> str:
    """What went wrong, without SQL, parameters or anything after the driver's first line.

    >>> from sqlalchemy import exc
    >>> error_line(exc.OperationalError("SELECT 1", {"x": 1}, OSError("connection refused\\nhint")))
    'OperationalError: connection refused'
    """
    cause = getattr(error, "orig", None) or error
    first = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {first[:200]}" if first else type(error).__name__


def database_probes(engine: Engine, head: str | None, known: str | None = None) -> tuple[Probe, Probe]:
    """The database and its schema, on one connection. ``known`` is a revision read recently
    and still trusted: then only the SELECT runs."""
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1").scalar()
            revision = known
            if revision is None:
                if not inspect(connection).has_table("alembic_version"):
                    return (Probe("database", "ok", "数据库连接正常"),
                            Probe("schema", "empty", "数据库尚未初始化，请运行 xueji init"))
                revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except Exception as exc:
        if not db.unavailable(exc):
            raise
        return (Probe("database", "unreachable", f"数据库无法连接（{error_line(exc)}）"),
                Probe("schema", "unknown", "数据库无法连接，未能检查数据库结构"))
    database = Probe("database", "ok", "数据库连接正常")
    if revision != head:
        return database, Probe("schema", "behind",
                               f"数据库结构版本为 {revision}，程序需要 {head}，请运行 xueji init")
    return database, Probe("schema", "ok", f"数据库结构为最新版本（{head}）")


def storage_probe(storage: Any) -> Probe:
    """The rate-limit storage (a ``limits`` storage): memory, or Redis answering PING."""
    scheme = type(storage).__name__
    if "Memory" in scheme:
        return Probe("ratelimit_storage", "ok", "限流计数保存在本进程内存中")
    if storage.check():
        return Probe("ratelimit_storage", "ok", "限流存储（Redis）连接正常")
    return Probe("ratelimit_storage", "unreachable",
                 "限流存储（Redis）无法连接；网站暂以本进程内的计数限流")


class _Attempt:
    """A probe running in a daemon thread, so that a caller can stop waiting for it."""

    def __init__(self, job: Callable[[], tuple[Probe, Probe]]) -> None:
        self.done = threading.Event()
        self.result: tuple[Probe, Probe] | None = None
        self.error: BaseException | None = None
        threading.Thread(target=self._run, args=(job,), name="xueji-readyz", daemon=True).start()

    def _run(self, job: Callable[[], tuple[Probe, Probe]]) -> None:
        try:
            self.result = job()
        except BaseException as exc:  # handed to the waiting request, which raises it
            self.error = exc
        finally:
            self.done.set()


class Readiness:
    """One app's probes, with the schema revision cache and the probe still running, if any."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.head: str | None = None  # read from the shipped migrations on first use
        self._lock = threading.Lock()
        self._attempt: _Attempt | None = None
        self._schema_checked = 0.0

    def _database(self) -> tuple[Probe, Probe]:
        if self.head is None:
            self.head = db.head_revision()
        fresh = time.monotonic() - self._schema_checked < SCHEMA_CACHE_SECONDS
        probes = database_probes(self.engine, self.head, self.head if fresh else None)
        if probes[1].ok and not fresh:
            self._schema_checked = time.monotonic()
        return probes

    def database(self, timeout: float = DATABASE_TIMEOUT_SECONDS) -> tuple[Probe, Probe]:
        # Never more than one probe thread: while one hangs, later requests
        # wait for the same one rather than starting another.
        with self._lock:
            if self._attempt is None or self._attempt.done.is_set():
                self._attempt = _Attempt(self._database)
            attempt = self._attempt
        if not attempt.done.wait(timeout):
            return (Probe("database", "timeout", f"数据库在 {timeout:g} 秒内没有应答"),
                    Probe("schema", "unknown", "数据库没有应答，未能检查数据库结构"))
        if attempt.error is not None:
            raise attempt.error
        assert attempt.result is not None
        return attempt.result


def readyz() -> tuple[dict[str, Any], int, dict[str, str]]:
    from hotline.app import limiter

    probes = (*current_app.extensions["xueji.readiness"].database(), storage_probe(limiter.storage))
    failed = [probe for probe in probes if not probe.ok]
    body: dict[str, Any] = {"status": "unavailable" if failed else "ready",
                            "checks": {probe.part: probe.code for probe in probes}}
    if failed:
        body["message"] = "；".join(probe.message for probe in failed)
    return body, 503 if failed else 200, {"Cache-Control": "no-store"}


def init_app(app: Flask) -> None:
    from hotline.app import csrf, limiter

    app.extensions["xueji.readiness"] = Readiness(app.extensions["xueji.engine"])
    app.add_url_rule("/readyz", "readyz", limiter.exempt(csrf.exempt(readyz)))
