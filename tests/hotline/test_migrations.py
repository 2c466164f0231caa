"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hotline import db


def test_migrated_schema_matches_the_models(connection):
    db.load_models()
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    differences = compare_metadata(context, db.Base.metadata)
    assert differences == []


def test_migrations_are_at_head(engine):
    assert db.current_revision(engine) == db.head_revision()
