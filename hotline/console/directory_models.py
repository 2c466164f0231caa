"""The directory's tables: the history of units' published channels, and the registrars' address book.

``unit_channel_history`` keeps every change of a unit's published complaint
phone, e-mail or hours (2014 notice item 4: the channels every level
publishes), one row per changed field: what it was, what it became, who
changed it and when. The published values themselves stay on ``units``,
which the public directory and the routing read.

``registrars`` is the 学籍管理员通讯录 of the 2016 notice (教基一厅[2016]2号,
part 2: "学籍系统将开发全国学籍管理员通讯录功能" and "建立备案制度"): the
registrars of each unit with their office phone, mobile and e-mail. These
are personal data of staff: every view of another unit's entries is audited
(hotline.console.access.audit_view), and no log line names them.
"""

from __future__ import annotations

import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db import Base, UTCDateTime
from hotline.tickets.models import BigId

CHANNEL_FIELDS = ("phone", "email", "hours")
CHANNEL_TEXT = {"phone": "投诉电话", "email": "投诉邮箱", "hours": "受理时间"}


class UnitChannelChange(Base):
    """One change of one published channel of a unit (电话、邮箱、受理时间).

    ``changed_by`` is the account that made it (None for an import or a
    command); ``actor`` is its name as shown at the time, so the history
    still reads right after the account is renamed.
    """

    __tablename__ = "unit_channel_history"
    __table_args__ = (
        CheckConstraint("field IN ('phone', 'email', 'hours')", name="field"),
        Index("ix_unit_channel_history_unit_code_at", "unit_code", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    field: Mapped[str] = mapped_column(String(8))
    old_value: Mapped[str | None] = mapped_column(String(128))
    new_value: Mapped[str | None] = mapped_column(String(128))
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(64))
    actor_unit_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"))
    at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    client: Mapped[str] = mapped_column(String(45))


class Registrar(Base):
    """A registrar (学籍管理员) of a unit in the address book (2016 notice part 2).

    Deactivated entries stay (the 备案 keeps who held the post), hidden
    from the list unless asked for.
    """

    __tablename__ = "registrars"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    title: Mapped[str | None] = mapped_column(String(32))  # 职务/岗位, e.g. 学籍管理员、科长
    office_phone: Mapped[str | None] = mapped_column(String(32))
    mobile: Mapped[str | None] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
