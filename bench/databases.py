"""Throwaway PostgreSQL databases for the benches, dropped however the bench ends.

Imported as ``bench.databases`` by scripts that put the repository's root on
sys.path (bench/ itself cannot be there: its lookup.py would shadow the
lookup package).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import make_url

from hotline import db


@contextmanager
def throwaway_database(admin_url: str, prefix: str) -> Iterator[str]:
    """Create an empty database on the server of ``admin_url`` and yield its URL.

    Its name is ``prefix`` followed by the process id and a random suffix, so
    that benches running side by side never meet; it is dropped ``WITH (FORCE)``
    at the end, even if a connection to it was left open.
    """
    admin = db.make_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
