"""Shared fixtures.

Every test that touches the database runs once on SQLite and, when
``XUEJI_TEST_DATABASE_URL`` names a PostgreSQL server, once more on a
throwaway PostgreSQL database created for the session and dropped after it.
Each test runs inside a transaction that is rolled back at its end; the
code under test commits to a savepoint, so "commit" works as in production
but nothing leaks into the next test.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from hotline import db
from hotline.app import create_app
from hotline.config import load_settings
from tests.logscan import Capture

PG_URL = os.environ.get("XUEJI_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
ID_KEY = "test-id-hash-key-" + "0" * 32

# The issue: no ID number in clear "in any log line. A test scans the captured
# logs of a whole test run for ID numbers and fails if one appears." Every
# record at INFO and above that reaches the root logger (from any logger that
# propagates, which is all of ours and our libraries') is scanned as it is
# emitted; the run fails at its end if one held an ID number. The root level
# is INFO for the session so that the lookup log lines are there to scan
# (tests/test_logscan.py checks that they are).
LOG_CAPTURE = Capture(logging.INFO)
_ROOT_LEVEL = pytest.StashKey[int]()


def pytest_configure(config: pytest.Config) -> None:
    root = logging.getLogger()
    config.stash[_ROOT_LEVEL] = root.level
    root.addHandler(LOG_CAPTURE)
    root.setLevel(logging.INFO)


@pytest.hookimpl(trylast=True)  # after session fixtures are torn down: their logs count too
def pytest_sessionfinish(session: pytest.Session) -> None:
    if not LOG_CAPTURE.findings:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        reporter.write_sep("=", "resident ID numbers in the logs", red=True, bold=True)
        for line in LOG_CAPTURE.report():
            reporter.write_line(line)
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    root = logging.getLogger()
    root.removeHandler(LOG_CAPTURE)
    root.setLevel(config.stash.get(_ROOT_LEVEL, logging.WARNING))


def _throwaway_postgresql() -> Iterator[str]:
    admin = db.make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"xueji_test_{os.getpid()}_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def database_url(backend: str) -> Iterator[str]:
    if backend == "postgresql":
        yield from _throwaway_postgresql()
        return
    folder = Path(tempfile.mkdtemp(prefix="xueji-test-"))
    yield f"sqlite:///{folder / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database with the authority tree seeded, shared by the session."""
    from lookup.registry import seed

    engine = db.make_engine(database_url)
    db.upgrade(engine)
    with Session(engine) as session:
        seed(session)
        session.commit()
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        yield session


@pytest.fixture
def app(database_url: str, connection: Connection, tmp_path: Path) -> Iterator[Flask]:
    settings = load_settings({}, env="testing", database_url=database_url,
                             secret_key="test-secret", id_hash_key=ID_KEY,
                             instance_path=str(tmp_path / "instance"))
    app = create_app(settings)
    # Requests and CLI commands share the test's transaction.
    app.extensions["xueji.sessionmaker"] = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield app
    # Close what the app's own engine opened (migrations run on it), so no
    # connection is left for the garbage collector.
    app.extensions["xueji.engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def write_csv(tmp_path: Path):
    """Write rows (a header first) as a CSV file in the given encoding; returns its path."""
    def write(name: str, lines: list[str], encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
        return path
    return write
