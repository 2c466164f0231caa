"""The public lookup's statements, run straight on the driver's (DB-API) connection.

A lookup is one or two indexed SELECTs and the INSERT of its audit row.
Through the ORM session each statement cost more in Python than the database
took to run it, and the transactions around them added round trips:
PostgreSQL answered a lookup after eight (a pre-ping, BEGIN, the query,
COMMIT, and the same again for the audit). Here a statement is one call on
the driver's cursor and, in production, commits on its own (autocommit):
the SELECT reads what is committed, and the audit row is durable when its
INSERT returns, before the answer is sent. Two round trips in all.

On SQLite that also keeps the read and the write in separate transactions,
which they must be: a transaction that has read cannot wait for the write
lock ("database is locked" whenever another worker wrote in between), a
fresh statement that writes waits its turn (``busy_timeout``).

SQL is written once, with ``?`` placeholders; the PostgreSQL driver gets
``%s``. Values the two databases store differently (SQLite keeps dates as
text) go through the SQLAlchemy types' own processors, so that what is
written here reads back through the ORM unchanged, and the other way round.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import current_app, g
from sqlalchemy import Connection, Date, DateTime, Dialect, Engine
from sqlalchemy.orm import Session

from hotline import db


@dataclass(frozen=True)
class _Flavour:
    """What differs between the databases, for the few types the lookup uses."""

    placeholder: str
    date_in: Callable[[datetime.date], Any]
    date_out: Callable[[Any], datetime.date]
    timestamp_in: Callable[[datetime.datetime], Any]


def _same(value: Any) -> Any:
    return value


_FLAVOURS: dict[type[Dialect], _Flavour] = {}


def _flavour(dialect: Dialect) -> _Flavour:
    # Per dialect class: every engine of a kind converts alike.
    if type(dialect) not in _FLAVOURS:
        date, timestamp = Date().dialect_impl(dialect), DateTime(timezone=True).dialect_impl(dialect)
        _FLAVOURS[type(dialect)] = _Flavour(
            "%s" if dialect.paramstyle in ("format", "pyformat") else "?",
            date.bind_processor(dialect) or _same,
            date.result_processor(dialect, None) or _same,
            timestamp.bind_processor(dialect) or _same)
    return _FLAVOURS[type(dialect)]


class Statements:
    """Runs SQL on one DB-API connection; the cursor is the caller's for the request."""

    def __init__(self, driver_connection: Any, dialect: Dialect) -> None:
        self._cursor = driver_connection.cursor()
        self._flavour = _flavour(dialect)
        self._sql: dict[str, str] = {}

    def _prepared(self, sql: str) -> str:
        if self._flavour.placeholder == "?":
            return sql
        if sql not in self._sql:
            self._sql[sql] = sql.replace("?", self._flavour.placeholder)
        return self._sql[sql]

    def rows(self, sql: str, *params: Any) -> list[tuple]:
        # Every row is fetched: on SQLite a statement that is not run to its
        # end keeps its read transaction open, and the audit INSERT after it
        # would then be refused at once whenever another worker wrote.
        self._cursor.execute(self._prepared(sql), params)
        return self._cursor.fetchall()

    def first(self, sql: str, *params: Any) -> tuple | None:
        rows = self.rows(sql, *params)
        return rows[0] if rows else None

    def run(self, sql: str, *params: Any) -> None:
        self._cursor.execute(self._prepared(sql), params)

    def date_in(self, value: datetime.date) -> Any:
        return self._flavour.date_in(value)

    def date_out(self, value: Any) -> datetime.date:
        return self._flavour.date_out(value)

    def timestamp_in(self, value: datetime.datetime) -> Any:
        return self._flavour.timestamp_in(value)


def _request_bind() -> Session | Engine:
    # The request's session if it has one, or if sessions are bound to a
    # connection (a test's transaction); otherwise the engine itself: a
    # Session made only to find the engine, and rolled back at the end of the
    # request, cost the lookup as much as its SELECT.
    session = g.get("db_session")
    if session is not None:
        return session
    bind = current_app.extensions["xueji.sessionmaker"].kw.get("bind")
    return bind if isinstance(bind, Engine) else db.session()


@contextmanager
def statements(session: Session | None = None) -> Iterator[Statements]:
    """The connection a lookup runs on, for the duration of the ``with`` block.

    A session bound to a connection belongs to a caller that holds a
    transaction (a test, a command that wants the lookup in its own): the
    lookup runs inside it and commits with the session. Otherwise (the web
    site) it takes a pooled connection of its own, each statement committing
    on its own, and gives it back as it found it. Without ``session``, the
    current request's (see :func:`_request_bind`).
    """
    bind = session.get_bind() if session is not None else _request_bind()
    if isinstance(bind, Session):
        session, bind = bind, bind.get_bind()
    if isinstance(bind, Connection):
        assert session is not None
        yield Statements(session.connection().connection.driver_connection, bind.dialect)
        session.commit()
        return
    dialect = bind.dialect
    pooled = bind.raw_connection()
    driver = pooled.driver_connection
    # SQLite's connections are set up without the driver's own transactions
    # (hotline.db): a statement outside BEGIN commits on its own. psycopg's
    # must be switched for the request and back before the pool lends it out.
    switch = dialect.name == "postgresql"
    try:
        if switch:
            driver.autocommit = True
        yield Statements(driver, dialect)
    except dialect.loaded_dbapi.Error as exc:
        # A server restart mid-request: this connection is gone, do not pool it.
        if dialect.is_disconnect(exc, driver, None):
            pooled.invalidate(exc)
        raise
    finally:
        if switch and pooled.is_valid and not driver.closed:
            driver.autocommit = False
        pooled.close()
