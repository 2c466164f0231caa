"""/readyz: ready when the database answers and is migrated and the rate-limit storage answers.

Issue 7 item 2: "health endpoints (/healthz liveness, /readyz readiness:
database and rate-limit storage)". A 503 names the part that failed and
never a URL or a password.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import event, make_url

from hotline import db
from hotline.health import SCHEMA_CACHE_SECONDS
from tests.conftest import _throwaway_postgresql
from tests.hotline.ops.conftest import target_of, through

READY = {"status": "ready", "checks": {"database": "ok", "schema": "ok", "ratelimit_storage": "ok"}}


@pytest.fixture
def empty_database(backend, tmp_path) -> Iterator[str]:
    """A database nobody has migrated."""
    if backend == "postgresql":
        made = _throwaway_postgresql()
        yield next(made)
        next(made, None)
    else:
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"


def test_a_migrated_database_and_memory_limits_are_ready(client):
    response = client.get("/readyz")
    assert (response.status_code, response.json) == (200, READY)
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_stays_liveness_only(make_own_app, tmp_path):
    # No database at all: alive, not ready.
    client = make_own_app(f"sqlite:///{tmp_path / 'nowhere' / 'x.sqlite3'}").test_client()
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").status_code == 503


@pytest.mark.parametrize(("version", "code"), [(None, "empty"), ("0001", "behind")])
def test_a_database_not_at_the_head_revision_is_not_ready(make_own_app, empty_database, version, code):
    if version:
        engine = db.make_engine(empty_database)
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
            connection.exec_driver_sql(f"INSERT INTO alembic_version VALUES ('{version}')")
        engine.dispose()
    response = make_own_app(empty_database).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "ok", "schema": code, "ratelimit_storage": "ok"}
    assert "xueji init" in response.json["message"]


def test_the_schema_is_read_again_only_after_a_while(app, client):
    statements: list[str] = []
    engine = app.extensions["xueji.engine"]
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: statements.append(sql))
    assert client.get("/readyz").status_code == 200
    assert any("alembic_version" in sql for sql in statements)
    statements.clear()
    assert client.get("/readyz").status_code == 200
    # One statement while the revision read is fresh (SQLite's BEGIN is hotline.db's own).
    assert [sql for sql in statements if sql != "BEGIN"] == ["SELECT 1"]
    readiness = app.extensions["xueji.readiness"]
    readiness._schema_checked -= SCHEMA_CACHE_SECONDS
    statements.clear()
    assert client.get("/readyz").status_code == 200
    assert any("alembic_version" in sql for sql in statements)


def test_an_unreachable_database_is_named_without_its_url_or_password(backend, own_database, tcp_proxy,
                                                                      make_own_app, tmp_path):
    if backend == "postgresql":
        proxy = tcp_proxy(target_of(own_database))
        url = make_url(through(own_database, proxy)).set(password="s3cret-pw").render_as_string(
            hide_password=False)
        proxy.mode = "refuse"
    else:
        url = f"sqlite:///{tmp_path / 'gone' / 's3cret-pw.sqlite3'}"
    response = make_own_app(url).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["checks"] == {"database": "unreachable", "schema": "unknown",
                                       "ratelimit_storage": "ok"}
    assert response.json["message"].startswith("数据库无法连接")
    assert "s3cret-pw" not in response.get_data(as_text=True)


def test_a_database_that_never_answers_is_reported_after_a_few_seconds(backend, own_database, tcp_proxy,
                                                                       make_own_app):
    if backend != "postgresql":
        pytest.skip("a network partition needs a server across a network")
    proxy = tcp_proxy(target_of(own_database))
    client = make_own_app(through(own_database, proxy)).test_client()
    assert client.get("/readyz").status_code == 200
    proxy.mode = "hang"
    proxy.cut()  # the pooled connection ends; the next one is accepted and never answered
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"] == "timeout"
    proxy.mode = "open"


def test_redis_down_is_not_ready_and_recovers(make_own_app, own_database, redis_server, redis_url):
    client = make_own_app(own_database, ratelimit_storage_uri=redis_url).test_client()
    assert (client.get("/readyz").status_code, client.get("/readyz").json) == (200, READY)
    redis_server.stop()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "ok", "schema": "ok", "ratelimit_storage": "unreachable"}
    assert "Redis" in response.json["message"] and redis_url not in response.get_data(as_text=True)
    redis_server.start()
    assert client.get("/readyz").status_code == 200
