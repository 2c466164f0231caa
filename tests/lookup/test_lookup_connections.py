"""The web lookup's own database connection, as production runs it.

The other lookup tests share their test's transaction; here each app has a
database and an engine of its own, as under gunicorn, so what lookup.dbapi
does outside a test is what is tested: every statement commits on its own,
the audit row before the answer; a connection goes back to the pool as it
came; and a connection the server has ended (a restart) is replaced without
a failed request, although no pre-ping runs.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from hotline import db
from hotline.app import create_app
from hotline.config import load_settings
from lookup.models import LookupAudit
from lookup.registry import seed
from tests.conftest import ID_KEY, _throwaway_postgresql
from tests.lookup.factories import g_row, id_number, import_registry

API = "/api/v1/lookup"
FOUND = {"name": "张三", "id_number": id_number(sequence=1)}
WRONG_NAME = {"name": "李四", "id_number": id_number(sequence=1)}


@pytest.fixture
def own_url(backend: str, tmp_path, write_csv) -> Iterator[str]:
    """A database of its own (not the test's transaction): migrated, seeded, one student."""
    if backend == "postgresql":
        made = _throwaway_postgresql()
        url = next(made)
    else:
        made, url = None, f"sqlite:///{tmp_path / 'own.sqlite3'}"
    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
        with Session(engine) as session:
            seed(session)
            import_registry(session, write_csv, students=[g_row(1, name="张三")], id_hash_key=ID_KEY.encode())
            session.commit()
    finally:
        engine.dispose()
    yield url
    if made is not None:
        next(made, None)  # drops the database


@pytest.fixture
def own_app(own_url: str, tmp_path) -> Iterator[Flask]:
    app = create_app(load_settings({}, env="testing", database_url=own_url, secret_key="s",
                                   id_hash_key=ID_KEY, instance_path=str(tmp_path / "instance")))
    yield app
    app.extensions["xueji.engine"].dispose()


@pytest.fixture
def audit_rows(own_url: str) -> Iterator[Callable[[], list[str]]]:
    """The outcomes in the audit table, read through a connection of the test's own."""
    engine = db.make_engine(own_url)

    def outcomes() -> list[str]:
        with engine.connect() as connection:
            return list(connection.scalars(select(LookupAudit.outcome).order_by(LookupAudit.id)))
    yield outcomes
    engine.dispose()


def test_each_lookup_has_committed_its_audit_row_when_it_answers(own_app, audit_rows):
    client = own_app.test_client()
    assert client.post(API, json=FOUND).status_code == 200
    assert audit_rows() == ["found"]
    assert client.post(API, json=WRONG_NAME).status_code == 404
    assert audit_rows() == ["found", "not_found"]
    assert client.post(API, json={"name": "张三"}).status_code == 400
    assert audit_rows() == ["found", "not_found", "invalid"]


def test_answers_from_an_own_connection_are_those_of_the_session(own_app, client, registry):
    # The same student, through the test's transaction and through the app's own engine.
    own = own_app.test_client()
    for body in (FOUND, WRONG_NAME):
        mine, theirs = own.post(API, json=body), client.post(API, json=body)
        assert (mine.status_code, mine.get_data()) == (theirs.status_code, theirs.get_data())


def _pooled_autocommit(engine: Engine) -> bool:
    pooled = engine.raw_connection()
    try:
        return bool(getattr(pooled.driver_connection, "autocommit", False))
    finally:
        pooled.close()


def test_the_connection_goes_back_to_the_pool_in_transactions(own_app, backend):
    # psycopg runs the lookup in autocommit; the next user of the connection
    # (the ORM) must get transactions again.
    assert own_app.test_client().post(API, json=FOUND).status_code == 200
    assert _pooled_autocommit(own_app.extensions["xueji.engine"]) is False
    if backend == "sqlite":
        # pysqlite never opens transactions itself; SQLAlchemy's BEGIN does (hotline.db).
        pooled = own_app.extensions["xueji.engine"].raw_connection()
        assert pooled.driver_connection.isolation_level is None
        pooled.close()


def _end_server_connections(url: str) -> None:
    """What a restart of PostgreSQL does to the app's pooled connections: end them."""
    admin = db.make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            others = "datname = current_database() AND pid <> pg_backend_pid()"
            connection.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {others}"))
            deadline = time.monotonic() + 10
            while connection.scalar(text(f"SELECT count(*) FROM pg_stat_activity WHERE {others}")):
                assert time.monotonic() < deadline, "the server did not end the connections"
                time.sleep(0.02)
    finally:
        admin.dispose()


def test_after_the_server_ended_the_pooled_connections_the_next_requests_answer(
        own_app, own_url, backend, audit_rows):
    if backend != "postgresql":
        pytest.skip("SQLite has no server to go away")
    engine = own_app.extensions["xueji.engine"]
    assert not engine.pool._pre_ping  # no round trip per checkout: the socket is looked at instead
    client = own_app.test_client()
    assert client.post(API, json=FOUND).status_code == 200
    assert client.get("/directory").status_code == 200  # an ORM page on the same pool
    _end_server_connections(own_url)
    assert client.post(API, json=FOUND).status_code == 200
    assert client.post(API, json=WRONG_NAME).status_code == 404
    assert client.get("/directory").status_code == 200
    assert audit_rows() == ["found", "found", "not_found"]
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(LookupAudit)) == 3


def test_on_sqlite_a_lookup_waits_for_the_write_lock_another_process_holds(own_app, own_url, backend,
                                                                         audit_rows):
    if backend != "sqlite":
        pytest.skip("the write lock is SQLite's")
    other = sqlite3.connect(own_url.removeprefix("sqlite:///"), isolation_level=None,
                            check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # as another worker writing its audit row, for a long while
    release = threading.Timer(0.3, other.execute, ["COMMIT"])
    release.start()
    try:
        started = time.monotonic()
        assert own_app.test_client().post(API, json=FOUND).status_code == 200
        assert time.monotonic() - started >= 0.25
    finally:
        release.join()
        other.close()
    # Audited, not refused at once with "database is locked".
    assert audit_rows() == ["found"]
