"""Fixtures of the deployment tests: a database of their own, and the environment of a service process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from hotline import db
from tests.conftest import ID_KEY, _throwaway_postgresql


def new_database(backend: str, folder: Path) -> Iterator[str]:
    """An empty database of the backend (a throwaway one on PostgreSQL), dropped afterwards."""
    if backend == "postgresql":
        yield from _throwaway_postgresql()
    else:
        yield f"sqlite:///{folder / 'own.sqlite3'}"


def migrated_database(backend: str, folder: Path) -> Iterator[str]:
    """A migrated, seeded database of the test's own, committed to for real by processes."""
    from lookup.registry import seed

    databases = new_database(backend, folder)
    url = next(databases)
    engine = db.make_engine(url)
    db.upgrade(engine)
    with Session(engine) as session:
        seed(session)
        session.commit()
    engine.dispose()
    yield url
    next(databases, None)


@pytest.fixture
def own_database(backend: str, tmp_path: Path) -> Iterator[str]:
    yield from migrated_database(backend, tmp_path)


def service_environ(url: str, instance: Path, **settings: str) -> dict[str, str]:
    """The environment of a ``xueji`` or gunicorn process of the service on ``url``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("XUEJI_")}
    environ.update(XUEJI_ENV="testing", XUEJI_DATABASE_URL=url, XUEJI_SECRET_KEY="test-secret",
                   XUEJI_ID_HASH_KEY=ID_KEY, XUEJI_INSTANCE_PATH=str(instance), **settings)
    return environ


@pytest.fixture(scope="module")
def site(backend: str, tmp_path_factory: pytest.TempPathFactory):
    """gunicorn running the site (tests.deploy.live), shared by a module's tests: starting it
    takes seconds. Its tests must leave it running."""
    from tests.deploy.live import gunicorn

    folder = tmp_path_factory.mktemp("site")
    databases = migrated_database(backend, folder)
    yield from gunicorn(next(databases), folder)
    next(databases, None)
