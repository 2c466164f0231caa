"""school names: an index on schools.name, for mail that names a school rather than its code

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 12:00:00

"""
from typing import Sequence, Union

from alembic import op


revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schools_name'), ['name'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schools_name'))
