"""The statutory holidays of 全国年节及纪念日放假办法, as the version in force each year had them.

These are the days the regulation itself gives everyone off. The State
Council's yearly schedule (国务院办公厅关于部分节假日安排的通知) then joins them
to weekends and moves weekend days around them (调休); that part cannot be
computed, which is why a year without its official schedule is only
*provisional* (``hotline.calendar``). The regulation's own dates are used
twice: to compute such a provisional year, and to refuse a schedule file that
leaves one of them out (``hotline.calendar_load``).

>>> sorted(statutory_holidays(2027).items())[:6]  # doctest: +NORMALIZE_WHITESPACE
[(datetime.date(2027, 1, 1), '元旦'), (datetime.date(2027, 2, 5), '春节'),
 (datetime.date(2027, 2, 6), '春节'), (datetime.date(2027, 2, 7), '春节'),
 (datetime.date(2027, 2, 8), '春节'), (datetime.date(2027, 4, 5), '清明节')]
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from chinese_calendar import get_solar_terms
from lunardate import LunarDate

# The lunar table of lunardate covers 1900-2099; the regulations before the
# 1999 amendment are of no use to a service started in 2026.
FIRST_YEAR = 2000
LAST_YEAR = 2099


def _lunar(year: int, month: int, day: int) -> datetime.date:
    return LunarDate(year, month, day).to_solar_date()


def _qingming(year: int) -> datetime.date:
    """The day of the 清明 solar term (the festival is that day, not a fixed date)."""
    april = get_solar_terms(datetime.date(year, 4, 1), datetime.date(year, 4, 30))
    return next(day for day, name in april if name == "清明")


def _spring_festival(year: int, *, eve: bool, days: int) -> list[datetime.date]:
    new_year = _lunar(year, 1, 1)
    first = new_year - datetime.timedelta(days=1) if eve else new_year
    count = days + 1 if eve else days
    return [first + datetime.timedelta(days=i) for i in range(count)]


def _fixed(year: int, month: int, first: int, last: int) -> list[datetime.date]:
    return [datetime.date(year, month, day) for day in range(first, last + 1)]


@cache
def statutory_holidays(year: int) -> Mapping[datetime.date, str]:
    """Every date the regulation in force in ``year`` makes a holiday, with the festival's name.

    Two festivals may fall on one date (中秋节 on 1 October in 2001, 2020 and
    2031): the date then carries both names, ``中秋节、国庆节``. Raises
    ``ValueError`` for a year outside 2000-2099.
    """
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"法定节假日只能推算 {FIRST_YEAR}—{LAST_YEAR} 年，不能推算 {year} 年")
    festivals: list[tuple[str, list[datetime.date]]] = [("元旦", [datetime.date(year, 1, 1)])]
    if year < 2008:
        # 1999 amendment (国务院令第270号): 春节 正月初一至初三, 劳动节 5月1日至3日,
        # 国庆节 10月1日至3日; no lunar festival besides 春节, no 清明.
        festivals += [("春节", _spring_festival(year, eve=False, days=3)),
                      ("劳动节", _fixed(year, 5, 1, 3))]
    else:
        if year < 2014:
            # 2007 amendment (国务院令第513号), in force 2008: 春节 除夕、正月初一、初二.
            spring = _spring_festival(year, eve=True, days=2)
        elif year < 2025:
            # 2013 amendment (国务院令第644号), in force 2014: 春节 正月初一至初三.
            spring = _spring_festival(year, eve=False, days=3)
        else:
            # 2024 amendment (国务院令第795号), in force 2025: 春节 除夕 and 正月初一至初三.
            spring = _spring_festival(year, eve=True, days=3)
        # Since 2008: 清明节, 端午节 (农历五月初五), 中秋节 (农历八月十五) one day each;
        # 劳动节 5月1日, two days (5月1日、2日) since the 2024 amendment.
        festivals += [("春节", spring),
                      ("清明节", [_qingming(year)]),
                      ("劳动节", _fixed(year, 5, 1, 2 if year >= 2025 else 1)),
                      ("端午节", [_lunar(year, 5, 5)]),
                      ("中秋节", [_lunar(year, 8, 15)])]
    festivals.append(("国庆节", _fixed(year, 10, 1, 3)))
    days: dict[datetime.date, str] = {}
    for name, dates in festivals:
        for day in dates:
            days[day] = f"{days[day]}、{name}" if day in days else name
    return MappingProxyType(dict(sorted(days.items())))
