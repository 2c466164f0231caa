"""The calendar kept in the database: official schedules loaded from the State Council's notices.

chinese-calendar ships the schedules it knew when it was released (1.11:
2004-2026). The next year's schedule is published around November-December
and has to be usable at once, so the service keeps its own copy of every
schedule it has loaded; those rows override chinese-calendar day by day.
"""

from __future__ import annotations

import datetime

from sqlalchemy import CheckConstraint, Date, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db import Base

DAY_KINDS = ("holiday", "workday")


class CalendarDay(Base):
    """One day of an official schedule that differs from an ordinary week.

    ``holiday``: a day off that would otherwise be a working day, or a
    weekend day inside a holiday period (listed so that it carries the
    festival's name). ``workday``: a Saturday or Sunday worked instead
    (调休上班).
    """

    __tablename__ = "calendar_days"
    __table_args__ = (
        CheckConstraint(f"kind IN {DAY_KINDS}", name="kind"),
    )

    day: Mapped[datetime.date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    # The festival (春节, 国庆节) or 调休上班.
    name: Mapped[str] = mapped_column(String(64))
    # The notice's number (国办发明电〔2025〕7号) or file:NAME.
    source: Mapped[str] = mapped_column(String(255))
    loaded_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))


class CalendarYear(Base):
    """A year whose complete official schedule has been loaded (its days are in ``calendar_days``)."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(255))
    loaded_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
