"""Database foundation: the declarative base, engines, the request session, migrations.

Only the request (or CLI command) boundary commits: operations flush, and the
session is rolled back and closed when the application context ends, so an
exception never leaves half a change behind.
"""

from __future__ import annotations

import datetime
import logging
from importlib.resources import as_file, files
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Engine, MetaData, TypeDecorator, create_engine, event, inspect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

log = logging.getLogger(__name__)

# Constraint names are spelled out so that Alembic migrations name them the
# same way on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator):
    """An aware timestamp on both databases: UTC in, UTC out.

    PostgreSQL keeps the offset; SQLite drops it and hands back naive values
    that cannot be compared with aware ones. Values are stored in UTC, and a
    naive value on the way in is a bug, refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime.datetime | None, _dialect: Any) -> datetime.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTCDateTime column")
        return value.astimezone(datetime.UTC)

    def process_result_value(self, value: datetime.datetime | None,
                             _dialect: Any) -> datetime.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=datetime.UTC) if value.tzinfo is None else value.astimezone(datetime.UTC)


def load_models() -> None:
    """Import every module that declares tables, so ``Base.metadata`` is complete."""
    import hotline.calendar_models  # noqa: F401
    import hotline.console.directory_models  # noqa: F401
    import hotline.console.models  # noqa: F401
    import hotline.console.stats_models  # noqa: F401
    import hotline.tickets.inbox  # noqa: F401
    import hotline.tickets.models  # noqa: F401
    import lookup.models  # noqa: F401
    from hotline.tickets import notes, outbox  # noqa: F401


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite opens transactions itself, only before DML, so DDL such as a
    # staging table would escape the transaction; SAVEPOINT misbehaves too.
    # Take that job away from the driver and let SQLAlchemy emit BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # SQLite ignores foreign keys unless asked, per connection.
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets the web site read while an import or the mail worker writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _closed_by_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """On checkout from the pool: refuse a PostgreSQL connection the server has closed.

    An idle connection has nothing to read. When the server shuts down,
    restarts or ends an idle session, it sends a last error and closes the
    socket, which then reads as ready: a poll with no wait sees it, without
    the round trip of SQLAlchemy's pre-ping (a lookup is two round trips; the
    ping was a third, on every request). Like a failed pre-ping, it discards
    every connection pooled before now and hands out a fresh one.
    """
    import select

    from sqlalchemy import exc

    if dbapi_connection.closed:
        raise exc.InvalidatePoolError("the connection is closed")
    poll = select.poll()
    poll.register(dbapi_connection.fileno(), select.POLLIN)
    if poll.poll(0):
        raise exc.InvalidatePoolError("the server closed the connection")


# Seconds a new PostgreSQL connection may take (psycopg's connect_timeout),
# unless the URL sets its own.
CONNECT_TIMEOUT_SECONDS = 5


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the settings this service relies on."""
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; the bare scheme would ask for psycopg2.
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN"))
        return engine
    if "connect_timeout" not in make_url(url).query:
        # A database host that does not answer at all (a network partition,
        # a machine being replaced) must not hold a request until the
        # operating system gives up, minutes later: the site answers 503
        # (hotline.web) after a few seconds instead.
        connect_args = kwargs.setdefault("connect_args", {})
        connect_args.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "checkout", _closed_by_server)
    return engine


def unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be used right now, rather than that a
    statement is wrong: the server is down or restarting, a connection broke, the pool
    is exhausted, an SQLite file cannot be opened or stays locked.

    SQLAlchemy wraps the driver's errors, except on the lookup's own statements
    (lookup.dbapi), which meet the driver's classes directly.

    >>> import sqlite3
    >>> from sqlalchemy import exc
    >>> unavailable(exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("unable to open")))
    True
    >>> unavailable(exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE")))
    False
    >>> unavailable(sqlite3.OperationalError("database is locked"))
    True
    >>> unavailable(sqlite3.OperationalError('near "SELEC": syntax error'))
    False
    """
    import sqlite3

    import psycopg
    from sqlalchemy import exc

    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig
    if isinstance(error, sqlite3.OperationalError):
        # SQLite says OperationalError of a syntax error too: that one is our bug (a 500).
        return any(words in str(error).lower() for words in _SQLITE_UNAVAILABLE)
    return isinstance(error, exc.TimeoutError | exc.DisconnectionError | psycopg.OperationalError
                      | psycopg.InterfaceError)


# What SQLite says when its file cannot be used: missing or unreadable, held
# by a writer past busy_timeout, a failing disk, or not migrated yet.
_SQLITE_UNAVAILABLE = ("unable to open", "database is locked", "disk i/o error", "no such table")


def is_postgresql(engine_or_session: Engine | Session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "postgresql"


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["xueji.engine"] = engine
    app.extensions["xueji.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    return current_app.extensions["xueji.engine"]


def session() -> Session:
    """The session of the current request or CLI command, created on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["xueji.sessionmaker"]()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is None:
        return
    try:
        # Anything not committed by the boundary is abandoned, never half-kept.
        db_session.rollback()
    except Exception as error:
        # A server that went away during the request (a PostgreSQL restart)
        # makes the rollback fail too. The answer has been chosen already (the
        # 503 page); raising here would turn it into gunicorn's bare 500.
        if not unavailable(error):
            raise
        log.warning("database went away before the end of the request: %s", type(error).__name__)
    finally:
        db_session.close()


def upgrade(bind: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with the shipped Alembic migrations."""
    from alembic import command
    from alembic.config import Config

    with as_file(files("xueji_migrations")) as location, bind.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(location))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def head_revision() -> str | None:
    """The newest revision the shipped migrations know."""
    from alembic.script import ScriptDirectory

    with as_file(files("xueji_migrations")) as location:
        return ScriptDirectory(str(location)).get_current_head()


def current_revision(bind: Engine) -> str | None:
    """The schema's Alembic revision, or None for an empty database."""
    if not inspect(bind).has_table("alembic_version"):
        return None
    with bind.connect() as connection:
        return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
