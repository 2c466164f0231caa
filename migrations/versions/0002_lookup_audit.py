"""public lookup: audit table, index for lookups by school and birth date

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 19:10:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('lookup_audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=True),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('client', sa.String(length=45), nullable=False),
    sa.Column('identity', sa.String(length=64), nullable=True),
    sa.Column('field', sa.String(length=32), nullable=True),
    sa.CheckConstraint("channel IN ('web', 'api', 'console')", name=op.f('ck_lookup_audit_channel')),
    sa.CheckConstraint("outcome IN ('found', 'replaced', 'not_found', 'invalid', 'limited')", name=op.f('ck_lookup_audit_outcome')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lookup_audit'))
    )
    with op.batch_alter_table('lookup_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lookup_audit_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lookup_audit_identity'), ['identity'], unique=False)
    with op.batch_alter_table('students', schema=None) as batch_op:
        batch_op.create_index('ix_students_school_code_birth_date', ['school_code', 'birth_date'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('students', schema=None) as batch_op:
        batch_op.drop_index('ix_students_school_code_birth_date')
    with op.batch_alter_table('lookup_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lookup_audit_identity'))
        batch_op.drop_index(batch_op.f('ix_lookup_audit_at'))
    op.drop_table('lookup_audit')
