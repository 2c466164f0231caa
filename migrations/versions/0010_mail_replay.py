"""mail replay: a replay of quarantined mail asked for in the console, and the view showing it

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 09:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PENDING = "replay_requested_at IS NOT NULL AND replay_stored_as IS NULL"
VIEW_0008 = (
    "CREATE VIEW quarantine AS SELECT id, source, source_key, raw_path, size, received_at, "
    "processed_at, reason, message_id, content_sha256 FROM received_mail "
    "WHERE outcome = 'quarantine' AND replayed_by IS NULL"
)
# The same rows, with the replay request (operators read the view with psql / sqlite3).
VIEW_0010 = (
    "CREATE VIEW quarantine AS SELECT id, source, source_key, raw_path, size, received_at, "
    "processed_at, reason, message_id, content_sha256, replay_requested_at, replay_requested_by, "
    "replay_stored_as FROM received_mail "
    "WHERE outcome = 'quarantine' AND replayed_by IS NULL"
)


def upgrade() -> None:
    # SQLite's batch mode rebuilds the table, which a view over it must not outlive.
    op.execute("DROP VIEW quarantine")
    with op.batch_alter_table('received_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replay_requested_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('replay_requested_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('replay_stored_as', sa.String(length=255), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_received_mail_replay_requested_by_users'), 'users',
                                    ['replay_requested_by'], ['id'])
        batch_op.create_index('ix_received_mail_replay_pending', ['replay_requested_at'], unique=False,
                              sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))
    op.execute(VIEW_0010)


def downgrade() -> None:
    op.execute("DROP VIEW quarantine")
    with op.batch_alter_table('received_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_received_mail_replay_pending')
        batch_op.drop_constraint(batch_op.f('fk_received_mail_replay_requested_by_users'), type_='foreignkey')
        batch_op.drop_column('replay_stored_as')
        batch_op.drop_column('replay_requested_by')
        batch_op.drop_column('replay_requested_at')
    op.execute(VIEW_0008)
