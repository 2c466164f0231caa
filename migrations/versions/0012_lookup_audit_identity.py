"""lookup audit: drop the index on identity, which every lookup paid for and nothing reads

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 04:00:00

The audit is read by time (the purge, and the search for repeated attempts on
one child within a period, which the index on ``at`` serves). The index on
the keyed hash was written at a random place on every lookup: a third of the
audit INSERT's cost on SQLite, and on PostgreSQL an index as large as the
table whose pages no cache holds once the table is large.
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('lookup_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lookup_audit_identity'))


def downgrade() -> None:
    with op.batch_alter_table('lookup_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lookup_audit_identity'), ['identity'], unique=False)
