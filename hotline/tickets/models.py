"""Tickets (工单), their timeline, their clocks and the forms they carry.

A ticket is whatever a person brings to the service centre by any channel.
The rules it follows are those of the 2014 notice (教基一厅函[2014]50号,
items 1-3) and the 2016 notice's report form; ``hotline.tickets.operations``
is the only code that writes these tables.
"""

from __future__ import annotations

import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.db import Base, UTCDateTime

CHANNELS = ("phone", "email", "web", "unit")
CATEGORIES = (
    "lookup",
    "consultation",
    "complaint",
    "transfer",
    "duplicate_check",
    "key_info_change",
    "system_fault",
    "other",
)
STEPS = ("triage", "forwarding", "verify_issue", "verifying", "deciding", "handling", "confirming", "closed")
FORM_KINDS = ("verification", "supervision", "report")

# An id column that is BIGINT on PostgreSQL (tickets accumulate for years) and
# INTEGER on SQLite, where only INTEGER PRIMARY KEY is the fast rowid alias.
BigId = BigInteger().with_variant(Integer, "sqlite")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class Counter(Base):
    """The last number given in a series (tickets, or one kind of form) in a year.

    Numbers come from ``UPDATE ... SET last = last + 1 RETURNING last`` inside
    the creating transaction: concurrent creators queue on the row lock, and a
    rolled-back creation gives its number back, so the series has no gaps.
    """

    __tablename__ = "counters"

    series: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    """A ticket: one matter raised by one person, and where it stands."""

    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(f"channel IN {_in(CHANNELS)}", name="channel"),
        CheckConstraint(f"category IN {_in(CATEGORIES)}", name="category"),
        CheckConstraint(f"step IN {_in(STEPS)}", name="step"),
        Index("ix_tickets_current_unit_code_step", "current_unit_code", "step"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Read out on the phone: the year and a six-digit serial, e.g. 2026-000123.
    number: Mapped[str] = mapped_column(String(16), unique=True)
    channel: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    step: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    # The unit whose channel received it, the unit the routing rule makes
    # responsible (None while in triage) and the unit that holds it now: a
    # ticket forwarded down level by level sits at each level in turn.
    receiving_unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    responsible_unit_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"), index=True)
    current_unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    routing_rule: Mapped[str] = mapped_column(String(20))
    # The routing decision as people read it, one line per step of reasoning,
    # as a JSON list of strings.
    routing_trace: Mapped[str] = mapped_column(Text)
    cross_province: Mapped[bool] = mapped_column(Boolean, default=False)
    # A level dispute waiting for the parent unit's ruling (2014 notice item 1).
    disputed: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution: Mapped[str | None] = mapped_column(Text)

    complainant: Mapped[Complainant] = relationship(back_populates="ticket", uselist=False, lazy="raise")
    schools: Mapped[list[TicketSchool]] = relationship(order_by="TicketSchool.school_code", lazy="selectin")
    students: Mapped[list[TicketStudent]] = relationship(order_by="TicketStudent.id", lazy="selectin")


class Complainant(Base):
    """Who raised the ticket and how to reach them, kept apart from the ticket.

    Only the people handling the ticket see this row (the console audits each
    view). The public status page never reads it: it compares keyed hashes of
    the phone number and e-mail address the asker types.
    """

    __tablename__ = "complainants"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(64))
    relation: Mapped[str | None] = mapped_column(String(32))  # 家长, 学生本人, 学校 ...
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    email_hash: Mapped[str | None] = mapped_column(String(64))

    ticket: Mapped[Ticket] = relationship(back_populates="complainant")


class TicketSchool(Base):
    __tablename__ = "ticket_schools"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    school_code: Mapped[str] = mapped_column(ForeignKey("schools.code"), primary_key=True, index=True)


class TicketStudent(Base):
    """A student the ticket is about: the national number when known, otherwise the
    keyed hash and the masked form of an ID number (never the ID number itself)."""

    __tablename__ = "ticket_students"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    number: Mapped[str | None] = mapped_column(String(19), index=True)
    id_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    id_masked: Mapped[str | None] = mapped_column(String(18))
    name: Mapped[str | None] = mapped_column(String(64))


class Attachment(Base):
    """A file that came with the ticket, stored under its SHA-256 in the instance folder."""

    __tablename__ = "ticket_attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)


class Event(Base):
    """One entry of a ticket's timeline: who did what, when, from which unit.

    Append-only: the ORM refuses to update or delete a row (see below), and
    nothing else writes the table.
    """

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    kind: Mapped[str] = mapped_column(String(24))
    # What happened, in Chinese, as the timeline shows it.
    text: Mapped[str] = mapped_column(Text)
    # The unit the event points at (forwarded to, escalated to, ruled for).
    target_unit_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"))
    form_id: Mapped[int | None] = mapped_column(ForeignKey("forms.id"))


class Clock(Base):
    """The statutory clock of one step (2014 notice items 2-3), owed by one unit.

    The due date is stored when the clock starts and the on-time flag when it
    stops, so that statistics never shift when the calendar changes later.
    Only a provisional due date (computed for a year without an official
    holiday schedule) is recomputed, once the schedule is loaded.
    """

    __tablename__ = "ticket_clocks"
    __table_args__ = (Index("ix_ticket_clocks_open_due", "stopped_at", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    step: Mapped[str] = mapped_column(String(16))
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    form_id: Mapped[int | None] = mapped_column(ForeignKey("forms.id"))
    started_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    # Day 0 in Asia/Shanghai, the N of "within N working days", and the
    # working days added by pauses.
    start_day: Mapped[datetime.date] = mapped_column(Date)
    days: Mapped[int] = mapped_column(Integer)
    extra_days: Mapped[int] = mapped_column(Integer, default=0)
    due_day: Mapped[datetime.date] = mapped_column(Date)
    due_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    provisional: Mapped[bool] = mapped_column(Boolean, index=True)
    paused_at: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)
    on_time: Mapped[bool | None] = mapped_column(Boolean)


class Pause(Base):
    """A pause of a clock, with its recorded reason (e.g. waiting for the complainant)."""

    __tablename__ = "clock_pauses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("ticket_clocks.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)
    working_days: Mapped[int | None] = mapped_column(Integer)


class Form(Base):
    """A 核查单 (verification), 督办单 (supervision) or 报告单 (report) form as issued.

    Immutable once issued: a correction is a new version under the same
    number (``supersedes_id`` points at the version it replaces). What the
    receiving unit writes back is a :class:`FormReturn`, and where the form
    is on its way down or up is in :class:`FormMove`.
    """

    __tablename__ = "forms"
    __table_args__ = (
        CheckConstraint(f"kind IN {_in(FORM_KINDS)}", name="kind"),
        UniqueConstraint("number", "version", name="uq_forms_number_version"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("forms.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    issuing_unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    receiving_unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    # The facts to verify (核查单), the opinion to carry out (督办单), or the
    # matter reported (报告单).
    body: Mapped[str] = mapped_column(Text)
    due_day: Mapped[datetime.date | None] = mapped_column(Date)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)


class FormReturn(Base):
    """What the receiving unit filled in and sent back, signed; one per form version."""

    __tablename__ = "form_returns"

    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"), primary_key=True)
    result: Mapped[str] = mapped_column(Text)
    filled_by: Mapped[str] = mapped_column(String(64))
    filled_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)


class FormMove(Base):
    """One hop of a form relayed level by level (2014 notice item 3: 逐级下发, 逐级反馈)."""

    __tablename__ = "form_moves"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"), index=True)
    direction: Mapped[str] = mapped_column(String(4))  # down or up
    from_unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    to_unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)


class ImmutableRecord(RuntimeError):
    """A write to a record that the rules keep as it was written."""


def _refuse(what: str):
    def refuse(_mapper, _connection, target) -> None:
        key = getattr(target, "id", None) or getattr(target, "form_id", None)
        raise ImmutableRecord(f"{what} {key} cannot be changed once written")

    return refuse


# Timeline entries, issued forms, their returns and their moves are records:
# corrections are new rows, never edits.
for _model, _what in (
    (Event, "timeline event"),
    (Form, "issued form"),
    (FormReturn, "form return"),
    (FormMove, "form move"),
):
    event.listen(_model, "before_update", _refuse(_what))
    event.listen(_model, "before_delete", _refuse(_what))
