"""console accounts: users, and the login, personal-data access and account-change audits

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 22:08:15

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=True),
    sa.Column('unit_code', sa.String(length=12), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.Column('failed_count', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('agent', 'handler', 'supervisor', 'admin')", name=op.f('ck_users_role')),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_users_unit_code_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_unit_code'), ['unit_code'], unique=False)

    op.create_table('access_audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('unit_code', sa.String(length=12), nullable=False),
    sa.Column('what', sa.String(length=32), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('detail', sa.String(length=128), nullable=True),
    sa.Column('client', sa.String(length=45), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_access_audit_ticket_id_tickets')),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_access_audit_unit_code_units')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_access_audit_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_audit'))
    )
    with op.batch_alter_table('access_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_audit_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_audit_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_audit_user_id'), ['user_id'], unique=False)

    op.create_table('account_audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=True),
    sa.Column('client', sa.String(length=45), nullable=False),
    sa.CheckConstraint("action IN ('create', 'disable', 'enable', 'unlock', 'reset_password', 'change_password', 'change_role', 'change_unit', 'rename')", name=op.f('ck_account_audit_action')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_account_audit_actor_id_users')),
    sa.ForeignKeyConstraint(['target_id'], ['users.id'], name=op.f('fk_account_audit_target_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_audit'))
    )
    with op.batch_alter_table('account_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_audit_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_audit_target_id'), ['target_id'], unique=False)

    op.create_table('login_audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('username', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('client', sa.String(length=45), nullable=False),
    sa.CheckConstraint("outcome IN ('success', 'bad_password', 'unknown_user', 'locked', 'lockout', 'disabled', 'logout', 'timeout', 'reauth', 'reauth_failed')", name=op.f('ck_login_audit_outcome')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_login_audit_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_audit'))
    )
    with op.batch_alter_table('login_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_audit_at'), ['at'], unique=False)
        batch_op.create_index('ix_login_audit_user_id_at', ['user_id', 'at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('login_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_login_audit_user_id_at')
        batch_op.drop_index(batch_op.f('ix_login_audit_at'))

    op.drop_table('login_audit')
    with op.batch_alter_table('account_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_audit_target_id'))
        batch_op.drop_index(batch_op.f('ix_account_audit_at'))

    op.drop_table('account_audit')
    with op.batch_alter_table('access_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_audit_user_id'))
        batch_op.drop_index(batch_op.f('ix_access_audit_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_access_audit_at'))

    op.drop_table('access_audit')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_unit_code'))

    op.drop_table('users')
