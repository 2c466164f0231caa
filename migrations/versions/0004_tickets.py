"""tickets: routing decisions, timelines, statutory clocks and the 核查单/督办单/报告单 forms

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 22:45:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('counters',
    sa.Column('series', sa.String(length=16), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('series', 'year', name=op.f('pk_counters'))
    )
    op.create_table('tickets',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('receiving_unit_code', sa.String(length=12), nullable=False),
    sa.Column('responsible_unit_code', sa.String(length=12), nullable=True),
    sa.Column('current_unit_code', sa.String(length=12), nullable=False),
    sa.Column('routing_rule', sa.String(length=20), nullable=False),
    sa.Column('routing_trace', sa.Text(), nullable=False),
    sa.Column('cross_province', sa.Boolean(), nullable=False),
    sa.Column('disputed', sa.Boolean(), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.CheckConstraint("category IN ('lookup', 'consultation', 'complaint', 'transfer', 'duplicate_check', 'key_info_change', 'system_fault', 'other')", name=op.f('ck_tickets_category')),
    sa.CheckConstraint("channel IN ('phone', 'email', 'web', 'unit')", name=op.f('ck_tickets_channel')),
    sa.CheckConstraint("step IN ('triage', 'forwarding', 'verify_issue', 'verifying', 'deciding', 'handling', 'confirming', 'closed')", name=op.f('ck_tickets_step')),
    sa.ForeignKeyConstraint(['current_unit_code'], ['units.code'], name=op.f('fk_tickets_current_unit_code_units')),
    sa.ForeignKeyConstraint(['receiving_unit_code'], ['units.code'], name=op.f('fk_tickets_receiving_unit_code_units')),
    sa.ForeignKeyConstraint(['responsible_unit_code'], ['units.code'], name=op.f('fk_tickets_responsible_unit_code_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('number', name=op.f('uq_tickets_number'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_current_unit_code_step', ['current_unit_code', 'step'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_responsible_unit_code'), ['responsible_unit_code'], unique=False)

    op.create_table('complainants',
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=True),
    sa.Column('relation', sa.String(length=32), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone_hash', sa.String(length=64), nullable=True),
    sa.Column('email_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_complainants_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_complainants'))
    )
    op.create_table('forms',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('supersedes_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('issuing_unit_code', sa.String(length=12), nullable=False),
    sa.Column('receiving_unit_code', sa.String(length=12), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('due_day', sa.Date(), nullable=True),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('verification', 'supervision', 'report')", name=op.f('ck_forms_kind')),
    sa.ForeignKeyConstraint(['issuing_unit_code'], ['units.code'], name=op.f('fk_forms_issuing_unit_code_units')),
    sa.ForeignKeyConstraint(['receiving_unit_code'], ['units.code'], name=op.f('fk_forms_receiving_unit_code_units')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['forms.id'], name=op.f('fk_forms_supersedes_id_forms')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_forms_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forms')),
    sa.UniqueConstraint('number', 'version', name='uq_forms_number_version')
    )
    with op.batch_alter_table('forms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_forms_receiving_unit_code'), ['receiving_unit_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_forms_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('ticket_attachments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=127), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_attachments_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_attachments'))
    )
    with op.batch_alter_table('ticket_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_attachments_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('ticket_schools',
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('school_code', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['school_code'], ['schools.code'], name=op.f('fk_ticket_schools_school_code_schools')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_schools_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('ticket_id', 'school_code', name=op.f('pk_ticket_schools'))
    )
    with op.batch_alter_table('ticket_schools', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_schools_school_code'), ['school_code'], unique=False)

    op.create_table('ticket_students',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=19), nullable=True),
    sa.Column('id_hash', sa.String(length=64), nullable=True),
    sa.Column('id_masked', sa.String(length=18), nullable=True),
    sa.Column('name', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_students_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_students'))
    )
    with op.batch_alter_table('ticket_students', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_students_id_hash'), ['id_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_students_number'), ['number'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_students_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('form_moves',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('form_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('direction', sa.String(length=4), nullable=False),
    sa.Column('from_unit_code', sa.String(length=12), nullable=False),
    sa.Column('to_unit_code', sa.String(length=12), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['form_id'], ['forms.id'], name=op.f('fk_form_moves_form_id_forms')),
    sa.ForeignKeyConstraint(['from_unit_code'], ['units.code'], name=op.f('fk_form_moves_from_unit_code_units')),
    sa.ForeignKeyConstraint(['to_unit_code'], ['units.code'], name=op.f('fk_form_moves_to_unit_code_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_moves'))
    )
    with op.batch_alter_table('form_moves', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_moves_form_id'), ['form_id'], unique=False)

    op.create_table('form_returns',
    sa.Column('form_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('filled_by', sa.String(length=64), nullable=False),
    sa.Column('filled_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['form_id'], ['forms.id'], name=op.f('fk_form_returns_form_id_forms')),
    sa.PrimaryKeyConstraint('form_id', name=op.f('pk_form_returns'))
    )
    op.create_table('ticket_clocks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=False),
    sa.Column('unit_code', sa.String(length=12), nullable=False),
    sa.Column('form_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('start_day', sa.Date(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('extra_days', sa.Integer(), nullable=False),
    sa.Column('due_day', sa.Date(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('on_time', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['form_id'], ['forms.id'], name=op.f('fk_ticket_clocks_form_id_forms')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_clocks_ticket_id_tickets')),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_ticket_clocks_unit_code_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_clocks'))
    )
    with op.batch_alter_table('ticket_clocks', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_clocks_open_due', ['stopped_at', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_clocks_provisional'), ['provisional'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_clocks_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_clocks_unit_code'), ['unit_code'], unique=False)

    op.create_table('ticket_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('unit_code', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('target_unit_code', sa.String(length=12), nullable=True),
    sa.Column('form_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['form_id'], ['forms.id'], name=op.f('fk_ticket_events_form_id_forms')),
    sa.ForeignKeyConstraint(['target_unit_code'], ['units.code'], name=op.f('fk_ticket_events_target_unit_code_units')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_events_ticket_id_tickets')),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_ticket_events_unit_code_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_events'))
    )
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_events_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('clock_pauses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('clock_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('working_days', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['clock_id'], ['ticket_clocks.id'], name=op.f('fk_clock_pauses_clock_id_ticket_clocks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clock_pauses'))
    )
    with op.batch_alter_table('clock_pauses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clock_pauses_clock_id'), ['clock_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('clock_pauses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clock_pauses_clock_id'))

    op.drop_table('clock_pauses')
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_events_ticket_id'))

    op.drop_table('ticket_events')
    with op.batch_alter_table('ticket_clocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_clocks_unit_code'))
        batch_op.drop_index(batch_op.f('ix_ticket_clocks_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_ticket_clocks_provisional'))
        batch_op.drop_index('ix_ticket_clocks_open_due')

    op.drop_table('ticket_clocks')
    op.drop_table('form_returns')
    with op.batch_alter_table('form_moves', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_moves_form_id'))

    op.drop_table('form_moves')
    with op.batch_alter_table('ticket_students', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_students_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_ticket_students_number'))
        batch_op.drop_index(batch_op.f('ix_ticket_students_id_hash'))

    op.drop_table('ticket_students')
    with op.batch_alter_table('ticket_schools', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_schools_school_code'))

    op.drop_table('ticket_schools')
    with op.batch_alter_table('ticket_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_attachments_ticket_id'))

    op.drop_table('ticket_attachments')
    with op.batch_alter_table('forms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_forms_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_forms_receiving_unit_code'))

    op.drop_table('forms')
    op.drop_table('complainants')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_responsible_unit_code'))
        batch_op.drop_index('ix_tickets_current_unit_code_step')

    op.drop_table('tickets')
    op.drop_table('counters')
