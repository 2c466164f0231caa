"""Alembic environment: migrations run on the connection the service hands over.

``hotline.db.upgrade`` passes its connection in ``config.attributes``; the
``alembic`` command line (for writing new revisions) builds one from
``XUEJI_DATABASE_URL`` through the same configuration code as the service.
"""

from alembic import context

from hotline.db import Base, load_models, make_engine

load_models()
target_metadata = Base.metadata


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    from pathlib import Path

    from hotline.config import database_url, load_settings

    engine = make_engine(database_url(load_settings(), Path("instance").resolve()))
    with engine.begin() as conn:
        run(conn)
