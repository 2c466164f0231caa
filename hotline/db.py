"""Database foundation: the declarative base, engines, the request session, migrations.

Only the request (or CLI command) boundary commits: operations flush, and the
session is rolled back and closed when the application context ends, so an
exception never leaves half a change behind.
"""

from __future__ import annotations

import datetime
from importlib.resources import as_file, files
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Engine, MetaData, TypeDecorator, create_engine, event, inspect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

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
    engine = create_engine(url, **kwargs)
    event.listen(engine, "checkout", _closed_by_server)
    return engine


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
    if db_session is not None:
        # Anything not committed by the boundary is abandoned, never half-kept.
        db_session.rollback()
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
