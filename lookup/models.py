"""The registry extract: divisions, education authorities, schools, students, number history."""

from __future__ import annotations

import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db import Base

DIVISION_LEVELS = ("province", "prefecture", "county", "pseudo")
UNIT_LEVELS = ("national", "province", "prefecture", "county")
NATIONAL_CODE = "000000"


class Division(Base):
    """An administrative division (行政区划, GB/T 2260).

    ``parent_code`` is the structural parent the code itself implies: a
    district's parent may be a pseudo-prefecture such as 110100 市辖区. Which
    education authority answers for a place is the job of :class:`Unit`.
    """

    __tablename__ = "divisions"
    __table_args__ = (
        CheckConstraint(f"level IN {DIVISION_LEVELS}", name="level"),
    )

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(12))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("divisions.code"), index=True)
    # Years, as the published lists give them; None means "since before the
    # records" or "still valid".
    valid_from: Mapped[int | None] = mapped_column(Integer)
    valid_to: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(32), default="stdnum")


class Unit(Base):
    """An education authority (教育行政部门) that receives and handles complaints.

    Its code is its division's code; the national unit is ``000000`` and units
    no division describes (新疆生产建设兵团 and its 师) have codes of their own.
    The complaint channels are the ones it publishes (2014 notice item 4).
    """

    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint(f"level IN {UNIT_LEVELS}", name="level"),
    )

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(12))
    # Deferred so that an import may list a child before its parent; the
    # whole tree is checked before the transaction commits.
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("units.code", deferrable=True, initially="DEFERRED"), index=True)
    division_code: Mapped[str | None] = mapped_column(ForeignKey("divisions.code"))
    complaint_phone: Mapped[str | None] = mapped_column(String(64))
    complaint_email: Mapped[str | None] = mapped_column(String(128))
    complaint_hours: Mapped[str | None] = mapped_column(String(128))
    # A unit whose division was abolished stays (tickets refer to it) but is
    # no longer offered for new schools.
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class School(Base):
    """A school (学校), identified by its 10-digit 学校标识码.

    ``authority_code`` is its direct authority (直接主管教育行政部门): usually
    its county, but 市直属 and 省直属 schools answer to a prefecture or a
    province. Routing uses it, never the school's address or code.
    """

    __tablename__ = "schools"

    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    # Indexed: mail that names a school (仙桃市第一中学) finds it by its exact name.
    name: Mapped[str] = mapped_column(String(128), index=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"))
    authority_code: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)


class Student(Base):
    """A student's registry record (学籍).

    The resident ID number is never stored in clear: ``id_hash`` is an HMAC
    under the configured key (searchable, not reversible without the key) and
    ``id_masked`` is what a person may be shown.
    """

    __tablename__ = "students"
    __table_args__ = (
        CheckConstraint("kind IN ('G', 'J', 'L')", name="kind"),
        CheckConstraint("gender IN ('M', 'F')", name="gender"),
        # The public lookup of students without an ID number (J, L) asks by
        # school and birth date: one index probe, whatever the table's size.
        Index("ix_students_school_code_birth_date", "school_code", "birth_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(19), unique=True)
    kind: Mapped[str] = mapped_column(String(1))
    name: Mapped[str] = mapped_column(String(64))
    birth_date: Mapped[datetime.date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(1))
    school_code: Mapped[str] = mapped_column(ForeignKey("schools.code"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    id_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    id_masked: Mapped[str | None] = mapped_column(String(18))


class NumberChange(Base):
    """One step of a number's history (学籍号变更): J→G, or a G number after an ID change.

    A lookup by an old number follows these rows to the number it became.
    """

    __tablename__ = "number_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    old_number: Mapped[str] = mapped_column(String(19), unique=True)
    new_number: Mapped[str] = mapped_column(String(19), index=True)
    reason: Mapped[str] = mapped_column(String(64))
    changed_on: Mapped[datetime.date] = mapped_column(Date)


LOOKUP_CHANNELS = ("web", "api", "console")
LOOKUP_KINDS = ("id", "birth", "number")
LOOKUP_OUTCOMES = ("found", "replaced", "not_found", "invalid", "limited")


class LookupAudit(Base):
    """One public lookup (查询记录): who asked, how, and what came of it.

    Never the name or the ID number: ``identity`` is the keyed hash of what
    identifies the child asked about (see ``lookup.inputs.identity_keys``), so
    repeated attempts on one child can be found without knowing who it is.
    Indexed by time only: every lookup writes a row and nothing reads one by
    identity alone (a search for one child is bounded by a period).
    """

    __tablename__ = "lookup_audit"
    __table_args__ = (
        CheckConstraint(f"channel IN {LOOKUP_CHANNELS}", name="channel"),
        CheckConstraint(f"outcome IN {LOOKUP_OUTCOMES}", name="outcome"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str | None] = mapped_column(String(8))
    outcome: Mapped[str] = mapped_column(String(12))
    client: Mapped[str] = mapped_column(String(45))
    identity: Mapped[str | None] = mapped_column(String(64))
    # For an invalid request: the field at fault (a form field name, or "body").
    field: Mapped[str | None] = mapped_column(String(32))
