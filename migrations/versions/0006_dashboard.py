"""dashboard: weekly histograms of response times and flows, and the indexes of the live figures

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 23:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    state = op.create_table('dashboard_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('sealed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('previous_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sealed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_state'))
    )
    # The one row the sealing process moves forward (nothing sealed yet).
    op.bulk_insert(state, [{'id': 1}])
    op.create_table('dashboard_response',
    sa.Column('scope_code', sa.String(length=12), nullable=False),
    sa.Column('grain', sa.String(length=8), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('working_days', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('on_time', sa.Integer(), nullable=False),
    sa.CheckConstraint("grain IN ('unit', 'agent')", name=op.f('ck_dashboard_response_grain')),
    sa.PrimaryKeyConstraint('scope_code', 'grain', 'week', 'step', 'actor', 'working_days',
                            name=op.f('pk_dashboard_response'))
    )
    op.create_table('dashboard_flow',
    sa.Column('scope_code', sa.String(length=12), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('closed', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('scope_code', 'week', name=op.f('pk_dashboard_flow'))
    )
    op.create_index('ix_tickets_open_unit_step', 'tickets', ['current_unit_code', 'step'], unique=False,
                    postgresql_where=sa.text("step <> 'closed'"), sqlite_where=sa.text("step <> 'closed'"))
    op.create_index('ix_tickets_received_at', 'tickets', ['received_at'], unique=False)
    op.create_index('ix_ticket_clocks_running', 'ticket_clocks',
                    ['unit_code', 'step', 'due_at', 'due_day', 'paused_at'], unique=False,
                    postgresql_where=sa.text('stopped_at IS NULL'), sqlite_where=sa.text('stopped_at IS NULL'))
    op.create_index('ix_ticket_events_kind_at', 'ticket_events', ['kind', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ticket_events_kind_at', table_name='ticket_events')
    op.drop_index('ix_ticket_clocks_running', table_name='ticket_clocks')
    op.drop_index('ix_tickets_received_at', table_name='tickets')
    op.drop_index('ix_tickets_open_unit_step', table_name='tickets')
    op.drop_table('dashboard_flow')
    op.drop_table('dashboard_response')
    op.drop_table('dashboard_state')
