"""received mail: one row per message taken in, its outcome, and the quarantine view

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 00:10:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
COUNTING = "outcome NOT IN ('duplicate', 'quarantine')"
QUARANTINE_VIEW = (
    "CREATE VIEW quarantine AS SELECT id, source, source_key, raw_path, size, received_at, "
    "processed_at, reason, message_id, content_sha256 FROM received_mail "
    "WHERE outcome = 'quarantine' AND replayed_by IS NULL"
)


def upgrade() -> None:
    op.create_table('received_mail',
    sa.Column('id', BigId, nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('source_key', sa.String(length=255), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=True),
    sa.Column('raw_path', sa.String(length=1024), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('ticket_id', BigId, nullable=True),
    sa.Column('unit_code', sa.String(length=12), nullable=True),
    sa.Column('sender_hash', sa.String(length=64), nullable=True),
    sa.Column('acked', sa.Boolean(), nullable=False),
    sa.Column('duplicate_of', BigId, nullable=True),
    sa.Column('replayed_by', BigId, nullable=True),
    sa.CheckConstraint("outcome IN ('ticket', 'reply', 'duplicate', 'auto', 'bounce', 'loop', 'quarantine')",
                       name=op.f('ck_received_mail_outcome')),
    sa.CheckConstraint("source IN ('spool', 'imap')", name=op.f('ck_received_mail_source')),
    sa.ForeignKeyConstraint(['duplicate_of'], ['received_mail.id'],
                            name=op.f('fk_received_mail_duplicate_of_received_mail')),
    sa.ForeignKeyConstraint(['replayed_by'], ['received_mail.id'],
                            name=op.f('fk_received_mail_replayed_by_received_mail')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_received_mail_ticket_id_tickets')),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_received_mail_unit_code_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_received_mail')),
    sa.UniqueConstraint('source', 'source_key', name='uq_received_mail_source_key')
    )
    with op.batch_alter_table('received_mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_received_mail_content_sha256'), ['content_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_received_mail_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_received_mail_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index('ix_received_mail_sender_hash_processed_at', ['sender_hash', 'processed_at'],
                              unique=False)
        batch_op.create_index('ix_received_mail_outcome_processed_at', ['outcome', 'processed_at'],
                              unique=False)
        batch_op.create_index('uq_received_mail_message', ['message_id', 'content_sha256'], unique=True,
                              sqlite_where=sa.text(f"message_id IS NOT NULL AND {COUNTING}"),
                              postgresql_where=sa.text(f"message_id IS NOT NULL AND {COUNTING}"))
        batch_op.create_index('uq_received_mail_content', ['content_sha256'], unique=True,
                              sqlite_where=sa.text(f"message_id IS NULL AND {COUNTING}"),
                              postgresql_where=sa.text(f"message_id IS NULL AND {COUNTING}"))
    op.execute(QUARANTINE_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW quarantine")
    with op.batch_alter_table('received_mail', schema=None) as batch_op:
        batch_op.drop_index('uq_received_mail_content')
        batch_op.drop_index('uq_received_mail_message')
        batch_op.drop_index('ix_received_mail_outcome_processed_at')
        batch_op.drop_index('ix_received_mail_sender_hash_processed_at')
        batch_op.drop_index(batch_op.f('ix_received_mail_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_received_mail_message_id'))
        batch_op.drop_index(batch_op.f('ix_received_mail_content_sha256'))

    op.drop_table('received_mail')
