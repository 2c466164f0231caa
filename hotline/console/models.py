"""Console accounts and the audit trails 等保 level 3 asks for.

``users`` holds the accounts; ``login_audit`` every login, failed login,
lockout, logout and timeout; ``access_audit`` every view of a complainant's
or a student's personal data; ``account_audit`` every change an
administrator (or the ``xueji user`` command) makes to an account. None of
the audit tables holds a password or a personal datum of a complainant or
student.
"""

from __future__ import annotations

import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db import Base, UTCDateTime
from hotline.tickets.models import BigId

ROLES = ("agent", "handler", "supervisor", "admin")
ROLE_TEXT = {
    "agent": "热线坐席",
    "handler": "办理人员",
    "supervisor": "主管",
    "admin": "系统管理员",
}
LOGIN_OUTCOMES = ("success", "bad_password", "unknown_user", "locked", "lockout", "disabled",
                  "logout", "timeout", "reauth", "reauth_failed")
ACCOUNT_ACTIONS = ("create", "disable", "enable", "unlock", "reset_password", "change_password",
                   "change_role", "change_unit", "rename")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class User(Base):
    """A console account: one person, one unit, one role.

    ``username`` is stored normalised (NFKC, lower case), so the unique
    constraint makes it unique case-insensitively on both databases.
    ``session_version`` is copied into the signed session cookie at login and
    compared on every request: bumping it (disable, password reset, logout)
    ends every session of the account at once.
    """

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN {_in(ROLES)}", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str | None] = mapped_column(String(64))
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    # argon2id, in its PHC string form ($argon2id$v=19$m=...,t=...,p=...$salt$hash).
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)


class LoginAudit(Base):
    """One login attempt or session event.

    ``username`` is what was typed (truncated), kept only when it could be a
    user name at all: a password typed into the wrong field must not land in
    the audit trail.
    """

    __tablename__ = "login_audit"
    __table_args__ = (
        CheckConstraint(f"outcome IN {_in(LOGIN_OUTCOMES)}", name="outcome"),
        Index("ix_login_audit_user_id_at", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime.datetime] = mapped_column(UTCDateTime, index=True)
    username: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str] = mapped_column(String(16))
    client: Mapped[str] = mapped_column(String(45))


class AccessAudit(Base):
    """One view of personal data (a complainant's contact, a student) in the console.

    Who, from which unit, when, what kind of data, on which ticket, from which
    address; never the data itself.
    """

    __tablename__ = "access_audit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime.datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    what: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    detail: Mapped[str | None] = mapped_column(String(128))
    client: Mapped[str] = mapped_column(String(45))


class AccountAudit(Base):
    """One change to an account; ``actor_id`` is None for the ``xueji user`` command."""

    __tablename__ = "account_audit"
    __table_args__ = (CheckConstraint(f"action IN {_in(ACCOUNT_ACTIONS)}", name="action"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime.datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    target_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(24))
    # What changed, e.g. "agent → supervisor"; never a password.
    detail: Mapped[str | None] = mapped_column(String(200))
    client: Mapped[str] = mapped_column(String(45))
