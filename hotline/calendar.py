"""Working days and statutory deadlines: the one calendar every clock asks.

DESIGN.md, after the 2014 notice (教基一厅函[2014]50号) items 2-3: working
days follow the State Council's holiday schedule, including the weekend days
worked instead (调休); the day of receipt is day 0, and "within N working
days" ends at 24:00 Asia/Shanghai of the Nth working day after it.

Where a year's schedule comes from, in order:

1. loaded into the database (``xueji calendar load``, :mod:`hotline.calendar_load`):
   official, and complete — the file lists every holiday and every make-up
   working day, so chinese-calendar is not consulted for that year;
2. known to chinese-calendar (1.11: 2004-2026): official;
3. after the first official year and at most two years past the last one:
   *provisional* — weekends plus the statutory holidays of the regulation
   (:mod:`hotline.calendar_holidays`), with no 调休, because deadlines set in
   December already reach into a year whose schedule is not published yet;
4. anything else: :class:`CalendarError`, never a silent guess.

Single days in the database (``calendar_days``) override whatever the year's
source says. :class:`WorkCalendar` reads the tables once and then answers
from memory, so that a million deadlines can be recomputed without a query.
"""

from __future__ import annotations

import datetime
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.calendar_holidays import LAST_YEAR as LAST_COMPUTABLE_YEAR
from hotline.calendar_holidays import statutory_holidays

SHANGHAI = ZoneInfo("Asia/Shanghai")
# How far past the last official year deadlines are computed provisionally:
# a 5-working-day clock started in late December of the year before the
# next schedule is published must still get a due date.
PROVISIONAL_YEARS_AHEAD = 2
# The next year's schedule is normally published in November-December; from
# 1 November on, its absence is worth an administrator's attention.
WARNING_MONTH = 11
_DUE_CACHE_SIZE = 200_000


class CalendarError(ValueError):
    """A date the calendar cannot answer for (message in Chinese, naming the year)."""

    def __init__(self, year: int, message: str):
        self.year = year
        super().__init__(message)


@dataclass(frozen=True)
class Due:
    """The deadline of a clock: ``days`` working days after ``start`` (day 0)."""

    start: datetime.date
    days: int
    due: datetime.date
    # 24:00 Asia/Shanghai of ``due``, i.e. 00:00 +08:00 of the next day.
    due_at: datetime.datetime
    # True when a day counted or skipped lies in a year without an official schedule.
    provisional: bool

    def as_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "days": self.days, "due": self.due.isoformat(),
                "due_at": self.due_at.isoformat(), "provisional": self.provisional}


@cache
def builtin_years() -> range:
    """The years chinese-calendar knows; it raises NotImplementedError for every other year."""
    known = []
    for year in range(1949, 2200):
        try:
            chinese_calendar.is_workday(datetime.date(year, 1, 1))
        except NotImplementedError:
            continue
        known.append(year)
    return range(known[0], known[-1] + 1) if known else range(0)


def end_of_day(day: datetime.date) -> datetime.datetime:
    """24:00 Asia/Shanghai of ``day``, written as 00:00 of the next day.

    >>> end_of_day(datetime.date(2026, 12, 31)).isoformat()
    '2027-01-01T00:00:00+08:00'
    """
    return datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(0), tzinfo=SHANGHAI)


def today_in_shanghai(now: datetime.datetime | None = None) -> datetime.date:
    return (now or datetime.datetime.now(datetime.UTC)).astimezone(SHANGHAI).date()


@dataclass(frozen=True)
class _Year:
    working: list[int]          # ordinals of the year's working days, ascending
    working_set: frozenset[int]
    provisional: bool


class WorkCalendar:
    """Working days of the State Council's schedules, with a provisional rule for the next years.

    ``overrides`` maps single days to ``'holiday'`` or ``'workday'``;
    ``loaded_years`` are the years whose complete schedule is among them;
    ``builtin`` the years whose chinese-calendar data may be used (all it
    knows unless told otherwise — tests pin it to describe one release).
    """

    def __init__(self, overrides: Mapping[datetime.date, str] | None = None,
                 loaded_years: Iterable[int] = (), *, builtin: Iterable[int] | None = None):
        self._overrides: dict[datetime.date, bool] = {}
        for day, kind in (overrides or {}).items():
            if kind not in ("holiday", "workday"):
                raise ValueError(f"unknown kind of day {kind!r} for {day}")
            self._overrides[day] = kind == "workday"
        self.loaded_years = frozenset(loaded_years)
        self.builtin_years = frozenset(builtin_years() if builtin is None else builtin)
        self.official_years = self.loaded_years | self.builtin_years
        if self.official_years:
            self.first_year = min(self.official_years)
            self.last_official_year = max(self.official_years)
            self.horizon = min(self.last_official_year + PROVISIONAL_YEARS_AHEAD, LAST_COMPUTABLE_YEAR)
        else:
            self.first_year = self.last_official_year = self.horizon = 0
        self._years: dict[int, _Year] = {}
        self._due_cache: dict[tuple[datetime.date, int], Due] = {}

    @classmethod
    def from_session(cls, session: Session, *, builtin: Iterable[int] | None = None) -> WorkCalendar:
        """The calendar as the database holds it now (two queries, then no more)."""
        from hotline.calendar_models import CalendarDay, CalendarYear

        overrides = {day: kind for day, kind in session.execute(select(CalendarDay.day, CalendarDay.kind))}
        loaded = session.scalars(select(CalendarYear.year)).all()
        return cls(overrides, loaded, builtin=builtin)

    # -- years ---------------------------------------------------------------

    def provisional_years(self) -> list[int]:
        """Years between the first official year and the horizon that have no official schedule."""
        return [year for year in range(self.first_year, self.horizon + 1)
                if year not in self.official_years]

    def covers(self, year: int) -> bool:
        return bool(self.official_years) and self.first_year <= year <= self.horizon

    def _year(self, year: int) -> _Year:
        info = self._years.get(year)
        if info is None:
            info = self._years[year] = self._build_year(year)
        return info

    def _build_year(self, year: int) -> _Year:
        if not self.covers(year):
            raise CalendarError(year, self._uncovered_message(year))
        provisional = year not in self.official_years
        if year in self.loaded_years:
            # A loaded schedule is complete: every other day is an ordinary one.
            def working(day: datetime.date) -> bool:
                return day.weekday() < 5
        elif year in self.builtin_years:
            def working(day: datetime.date) -> bool:
                return day in chinese_calendar.workdays or (
                    day.weekday() < 5 and day not in chinese_calendar.holidays)
        else:
            statutory = statutory_holidays(year)

            def working(day: datetime.date) -> bool:
                return day.weekday() < 5 and day not in statutory
        first = datetime.date(year, 1, 1).toordinal()
        last = datetime.date(year, 12, 31).toordinal()
        days = []
        for ordinal in range(first, last + 1):
            day = datetime.date.fromordinal(ordinal)
            override = self._overrides.get(day)
            if working(day) if override is None else override:
                days.append(ordinal)
        return _Year(days, frozenset(days), provisional)

    def _uncovered_message(self, year: int) -> str:
        if not self.official_years:
            return f"没有任何年份的节假日安排，无法计算 {year} 年的工作日：请用 xueji calendar load 载入。"
        if year < self.first_year:
            return (f"{year} 年的节假日安排尚未载入（工作日历从 {self.first_year} 年开始），"
                    f"无法计算工作日：请用 xueji calendar load 载入 {year} 年的节假日安排。")
        return (f"{year} 年的节假日安排尚未载入（正式安排截至 {self.last_official_year} 年，"
                f"临时推算截至 {self.horizon} 年），无法计算工作日："
                f"请用 xueji calendar load 载入 {year} 年的节假日安排。")

    # -- days ----------------------------------------------------------------

    def is_working_day(self, day: datetime.date) -> bool:
        """Whether people work on ``day``; CalendarError for a year the calendar does not cover."""
        return day.toordinal() in self._year(day.year).working_set

    def is_provisional(self, day: datetime.date) -> bool:
        """Whether :meth:`is_working_day` answers for ``day`` from the provisional rule."""
        return self._year(day.year).provisional

    def due(self, start: datetime.date, days: int) -> Due:
        """The end of the ``days``-th working day after ``start``; ``start`` itself is day 0.

        >>> calendar = WorkCalendar(builtin=range(2004, 2027))
        >>> # 2025: 1-8 October off (国庆节、中秋节), Saturday 11 October worked (调休).
        >>> calendar.due(datetime.date(2025, 9, 30), 3).due
        datetime.date(2025, 10, 11)
        """
        # Checked before the cache: True and 1.0 would find the entry of 1.
        if type(start) is not datetime.date:  # a datetime is a date too, and would be taken for its day
            raise TypeError(f"start must be a datetime.date (the day in Asia/Shanghai), not {start!r}")
        if type(days) is not int or days < 1:
            raise ValueError(f"工作日数应为不小于 1 的整数（收到当日为第 0 日），而不是 {days!r}")
        key = (start, days)
        known = self._due_cache.get(key)
        if known is not None:
            return known
        due_ordinal, provisional = self._walk(start.toordinal(), days)
        day = datetime.date.fromordinal(due_ordinal)
        result = Due(start=start, days=days, due=day, due_at=end_of_day(day), provisional=provisional)
        if len(self._due_cache) >= _DUE_CACHE_SIZE:
            self._due_cache.clear()
        self._due_cache[key] = result
        return result

    def _walk(self, start: int, days: int) -> tuple[int, bool]:
        """The ordinal of the ``days``-th working day after ordinal ``start``, and whether
        any year crossed on the way is provisional."""
        year = datetime.date.fromordinal(start + 1).year
        info = self._year(year)
        provisional = info.provisional
        index = bisect_right(info.working, start)
        remaining = days
        while remaining > len(info.working) - index:
            remaining -= len(info.working) - index
            year += 1
            info = self._year(year)
            provisional = provisional or info.provisional
            index = 0
        return info.working[index + remaining - 1], provisional

    def working_days_between(self, start: datetime.date, end: datetime.date) -> int:
        """How many working days lie after ``start`` up to and including ``end`` (0 if equal)."""
        if end < start:
            raise ValueError(f"结束日期 {end} 早于开始日期 {start}")
        count = 0
        for year in range(datetime.date.fromordinal(start.toordinal() + 1).year, end.year + 1):
            working = self._year(year).working
            count += bisect_right(working, end.toordinal()) - bisect_right(working, start.toordinal())
        return count

    def next_working_day(self, day: datetime.date) -> datetime.date:
        """The first working day strictly after ``day``."""
        return self.due(day, 1).due

    # -- administrators ------------------------------------------------------

    def schedule_warning(self, today: datetime.date) -> str | None:
        """A warning (Chinese) when a schedule people are about to need is missing, else None.

        From 1 November the next year's schedule is due (the State Council
        publishes it around November-December); the current year's is
        always needed.
        """
        if today.year not in self.official_years:
            return (f"尚未载入今年（{today.year} 年）国务院公布的节假日安排：工作日期限暂按法定节假日推算，"
                    "均标为临时。请尽快用 xueji calendar load 载入。")
        following = today.year + 1
        if today.month >= WARNING_MONTH and following not in self.official_years:
            return (f"尚未载入 {following} 年的节假日安排：跨入 {following} 年的工作日期限"
                    "暂按周末和法定节假日推算（未计调休），均标为临时。"
                    f"国务院办公厅公布 {following} 年部分节假日安排后，"
                    "请用 xueji calendar load 载入，临时期限将随之重算。")
        return None


def schedule_warning(session: Session, today: datetime.date) -> str | None:
    """:meth:`WorkCalendar.schedule_warning` for the calendar in the database."""
    return WorkCalendar.from_session(session).schedule_warning(today)

