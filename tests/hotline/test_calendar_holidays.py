"""The statutory holidays of 全国年节及纪念日放假办法, checked against the official schedules.

chinese-calendar holds the State Council's schedules for 2004-2026: every
date the regulation in force made a holiday must be a named holiday there.
"""

from __future__ import annotations

import datetime

import chinese_calendar
import pytest

from hotline.calendar import WorkCalendar
from hotline.calendar_holidays import statutory_holidays

D = datetime.date
ENGLISH = {"元旦": "New Year's Day", "春节": "Spring Festival", "清明节": "Tomb-sweeping Day",
           "劳动节": "Labour Day", "端午节": "Dragon Boat Festival", "中秋节": "Mid-autumn Festival",
           "国庆节": "National Day"}
# chinese-calendar leaves this day of the 2012 端午节 (6月22日至24日) unnamed: it is
# a Saturday, and a weekend day is off anyway.
UNNAMED_IN_CHINESE_CALENDAR = {D(2012, 6, 23)}


@pytest.mark.parametrize("year", range(2004, 2027))
def test_every_statutory_date_is_an_official_holiday_of_that_name(year):
    for day, names in statutory_holidays(year).items():
        holiday, name = chinese_calendar.get_holiday_detail(day)
        assert holiday, day
        if day not in UNNAMED_IN_CHINESE_CALENDAR:
            assert name in {ENGLISH[part] for part in names.split("、")}, (day, names, name)


@pytest.mark.parametrize(("year", "expected"), [
    (2027, {D(2027, 1, 1): "元旦", D(2027, 2, 5): "春节", D(2027, 2, 6): "春节", D(2027, 2, 7): "春节",
            D(2027, 2, 8): "春节", D(2027, 4, 5): "清明节", D(2027, 5, 1): "劳动节", D(2027, 5, 2): "劳动节",
            D(2027, 6, 9): "端午节", D(2027, 9, 15): "中秋节", D(2027, 10, 1): "国庆节",
            D(2027, 10, 2): "国庆节", D(2027, 10, 3): "国庆节"}),
])
def test_the_2024_regulation_for_2027(year, expected):
    assert dict(statutory_holidays(year)) == expected


@pytest.mark.parametrize(("year", "eve", "eve_is_statutory", "why"), [
    (2007, D(2007, 2, 17), False, "1999 regulation: 正月初一至初三"),
    (2008, D(2008, 2, 6), True, "2007 amendment: 除夕、正月初一、初二"),
    (2013, D(2013, 2, 9), True, "2007 amendment"),
    (2014, D(2014, 1, 30), False, "2013 amendment: 正月初一至初三"),
    (2024, D(2024, 2, 9), False, "2013 amendment"),
    (2025, D(2025, 1, 28), True, "2024 amendment: 除夕 and 正月初一至初三"),
])
def test_new_years_eve_is_statutory_under_the_amendments_that_say_so(year, eve, eve_is_statutory, why):
    assert (eve in statutory_holidays(year)) == eve_is_statutory, why


@pytest.mark.parametrize(("year", "labour_days", "lunar_festivals"), [
    (2007, 3, False),   # 1999 regulation: 5月1日至3日; no 清明, 端午, 中秋
    (2008, 1, True),    # 2007 amendment
    (2024, 1, True),
    (2025, 2, True),    # 2024 amendment: 5月1日、2日
])
def test_labour_day_and_the_traditional_festivals_by_era(year, labour_days, lunar_festivals):
    names = list(statutory_holidays(year).values())
    assert names.count("劳动节") == labour_days
    assert all((name in names) == lunar_festivals for name in ("清明节", "端午节", "中秋节"))


def test_mid_autumn_on_national_day_carries_both_names():
    assert statutory_holidays(2020)[D(2020, 10, 1)] == "中秋节、国庆节"


@pytest.mark.parametrize("year", [1999, 2100])
def test_years_outside_the_lunar_table_are_refused(year):
    with pytest.raises(ValueError, match=str(year)):
        statutory_holidays(year)


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_provisional_rule_errs_only_on_the_days_the_state_council_moves(year):
    """Computed as if the year's schedule were unknown, each day is right except
    the make-up working days (调休上班) and the bridge days given off around them."""
    provisional = WorkCalendar(builtin=range(2004, year))
    assert provisional.is_provisional(D(year, 1, 1))
    day = D(year, 1, 1)
    while day.year == year:
        if provisional.is_working_day(day) != chinese_calendar.is_workday(day):
            moved = day in chinese_calendar.workdays or (
                day in chinese_calendar.holidays and day not in statutory_holidays(year))
            assert moved, day
        day += datetime.timedelta(days=1)
    official_holidays = {d for d in chinese_calendar.holidays if d.year == year}
    assert set(statutory_holidays(year)) <= official_holidays
