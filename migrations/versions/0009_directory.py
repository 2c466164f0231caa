"""directory: the history of units' published channels, and the registrars' address book

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('unit_channel_history',
    sa.Column('id', BigId, nullable=False),
    sa.Column('unit_code', sa.String(length=12), nullable=False),
    sa.Column('field', sa.String(length=8), nullable=False),
    sa.Column('old_value', sa.String(length=128), nullable=True),
    sa.Column('new_value', sa.String(length=128), nullable=True),
    sa.Column('changed_by', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('actor_unit_code', sa.String(length=12), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('client', sa.String(length=45), nullable=False),
    sa.CheckConstraint("field IN ('phone', 'email', 'hours')", name=op.f('ck_unit_channel_history_field')),
    sa.ForeignKeyConstraint(['actor_unit_code'], ['units.code'],
                            name=op.f('fk_unit_channel_history_actor_unit_code_units')),
    sa.ForeignKeyConstraint(['changed_by'], ['users.id'], name=op.f('fk_unit_channel_history_changed_by_users')),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_unit_channel_history_unit_code_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_channel_history'))
    )
    with op.batch_alter_table('unit_channel_history', schema=None) as batch_op:
        batch_op.create_index('ix_unit_channel_history_unit_code_at', ['unit_code', 'at'], unique=False)

    op.create_table('registrars',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=32), nullable=True),
    sa.Column('office_phone', sa.String(length=32), nullable=True),
    sa.Column('mobile', sa.String(length=16), nullable=True),
    sa.Column('email', sa.String(length=128), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_registrars_unit_code_units')),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_registrars_updated_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registrars'))
    )
    with op.batch_alter_table('registrars', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registrars_unit_code'), ['unit_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('registrars', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registrars_unit_code'))
    op.drop_table('registrars')
    with op.batch_alter_table('unit_channel_history', schema=None) as batch_op:
        batch_op.drop_index('ix_unit_channel_history_unit_code_at')
    op.drop_table('unit_channel_history')
