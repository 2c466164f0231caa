"""Working days and deadlines, as DESIGN.md states the 2014 notice's clocks.

"The day of receipt is day 0; 'within N working days' ends at 24:00
Asia/Shanghai of the Nth working day after it." These tests need no
database: the calendar is built from plain data. ``CC_1_11`` pins the years
chinese-calendar 1.11 knows, so that the story of 2027 (not yet published on
2026-11-24) stays true when a later release learns it.
"""

from __future__ import annotations

import datetime

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.calendar import CalendarError, Due, WorkCalendar, builtin_years

CC_1_11 = range(2004, 2027)
D = datetime.date


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return WorkCalendar(builtin=CC_1_11)


def test_builtin_years_are_the_years_chinese_calendar_answers_for():
    years = builtin_years()
    assert years[0] == 2004 and 2026 in years
    chinese_calendar.is_workday(D(years[-1], 6, 1))
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(years[-1] + 1, 6, 1))


def test_official_years_follow_chinese_calendar_day_by_day(calendar):
    day = D(2004, 1, 1)
    while day.year <= 2026:
        assert calendar.is_working_day(day) == chinese_calendar.is_workday(day), day
        assert not calendar.is_provisional(day)
        day += datetime.timedelta(days=1)


def test_the_day_of_receipt_is_day_0_even_when_it_is_a_working_day(calendar):
    # Tuesday 2026-11-24 is a working day; it does not count.
    assert calendar.due(D(2026, 11, 24), 1).due == D(2026, 11, 25)
    # Received on Saturday: Monday is the first working day.
    assert calendar.due(D(2026, 11, 28), 1).due == D(2026, 11, 30)


def test_the_deadline_is_24_00_shanghai_of_the_nth_working_day(calendar):
    due = calendar.due(D(2026, 11, 24), 3)
    assert due == Due(start=D(2026, 11, 24), days=3, due=D(2026, 11, 27),
                      due_at=due.due_at, provisional=False)
    assert due.due_at.isoformat() == "2026-11-28T00:00:00+08:00"
    assert due.due_at == datetime.datetime(2026, 11, 27, 16, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(("start", "days", "due", "why"), [
    # 2025 春节: 1月28日（除夕）至2月4日放假, 1月26日（周日）、2月8日（周六）上班.
    (D(2025, 1, 24), 1, D(2025, 1, 26), "Sunday 26 January 2025 is worked"),
    (D(2025, 1, 26), 1, D(2025, 1, 27), "除夕 28 January is already off"),
    (D(2025, 1, 27), 1, D(2025, 2, 5), "28 January to 4 February off"),
    (D(2025, 1, 27), 3, D(2025, 2, 7), ""),
    (D(2025, 1, 27), 4, D(2025, 2, 8), "Saturday 8 February 2025 is worked"),
    # 2026 春节: 2月15日至23日放假, 2月14日（周六）、2月28日（周六）上班.
    (D(2026, 2, 12), 2, D(2026, 2, 14), "Saturday 14 February 2026 is worked"),
    (D(2026, 2, 14), 1, D(2026, 2, 24), "15 to 23 February off"),
    (D(2026, 2, 24), 4, D(2026, 2, 28), "Saturday 28 February 2026 is worked"),
    (D(2026, 2, 24), 5, D(2026, 3, 2), ""),
])
def test_spring_festival_and_its_make_up_weekends(calendar, start, days, due, why):
    assert calendar.due(start, days).due == due, why


@pytest.mark.parametrize(("start", "days", "due", "why"), [
    # 2025 国庆节、中秋节: 10月1日至8日放假, 9月28日（周日）、10月11日（周六）上班.
    (D(2025, 9, 26), 1, D(2025, 9, 28), "Sunday 28 September 2025 is worked"),
    (D(2025, 9, 29), 2, D(2025, 10, 9), "1 to 8 October off"),
    (D(2025, 9, 30), 3, D(2025, 10, 11), "Saturday 11 October 2025 is worked"),
    # 2026 国庆节: 10月1日至7日放假, 9月20日（周日）、10月10日（周六）上班.
    (D(2026, 9, 18), 1, D(2026, 9, 20), "Sunday 20 September 2026 is worked"),
    (D(2026, 9, 30), 1, D(2026, 10, 8), "1 to 7 October off"),
    (D(2026, 9, 30), 3, D(2026, 10, 10), "Saturday 10 October 2026 is worked"),
    # 2024 中秋节: 9月15日至17日放假, 9月14日（周六）上班.
    (D(2024, 9, 13), 1, D(2024, 9, 14), "Saturday 14 September 2024 is worked"),
    (D(2024, 9, 14), 1, D(2024, 9, 18), "15 to 17 September off"),
])
def test_national_day_and_mid_autumn(calendar, start, days, due, why):
    assert calendar.due(start, days).due == due, why


@pytest.mark.parametrize(("start", "days", "due", "why"), [
    # 2026 元旦: 1月1日至3日放假, 1月4日（周日）上班.
    (D(2025, 12, 31), 1, D(2026, 1, 4), "1 to 3 January off, Sunday 4 January worked"),
    (D(2025, 12, 30), 2, D(2026, 1, 4), ""),
    # 2025 元旦: 1月1日 alone.
    (D(2024, 12, 31), 1, D(2025, 1, 2), ""),
])
def test_new_years_day(calendar, start, days, due, why):
    assert calendar.due(start, days).due == due, why


@pytest.mark.parametrize("days", [0, -1, True, 1.0])
def test_n_must_be_a_whole_number_of_at_least_one(calendar, days):
    with pytest.raises(ValueError, match="不小于 1 的整数"):
        calendar.due(D(2026, 11, 24), days)


def test_the_start_is_a_day_not_a_moment(calendar):
    with pytest.raises(TypeError, match="Asia/Shanghai"):
        calendar.due(datetime.datetime(2026, 11, 24, 23, 30), 1)


# -- the provisional rule ----------------------------------------------------

@pytest.mark.parametrize(("start", "days", "due", "provisional"), [
    (D(2026, 12, 24), 3, D(2026, 12, 29), False),
    (D(2026, 12, 30), 1, D(2026, 12, 31), False),
    # 元旦 2027 (Friday) and the weekend are skipped: those are 2027 days.
    (D(2026, 12, 31), 1, D(2027, 1, 4), True),
    (D(2026, 12, 30), 5, D(2027, 1, 7), True),
    # 春节 2027 under the 2024 amendment: 除夕 2月5日 (Fri) to 初三 2月8日 (Mon).
    (D(2027, 2, 4), 1, D(2027, 2, 9), True),
    # 劳动节 2027: 5月1日、2日 fall on the weekend; Monday is worked.
    (D(2027, 4, 30), 1, D(2027, 5, 3), True),
    # 国庆节 2027: 10月1日 (Fri) to 3日.
    (D(2027, 9, 30), 1, D(2027, 10, 4), True),
    # 中秋节 2028: 农历八月十五 = 10月3日, inside 国庆节; 端午节 2028: 5月28日 (Sun).
    (D(2028, 9, 29), 1, D(2028, 10, 4), True),
])
def test_a_year_without_official_schedule_is_weekends_plus_statutory_holidays(
        calendar, start, days, due, provisional):
    result = calendar.due(start, days)
    assert (result.due, result.provisional) == (due, provisional)


def test_provisional_reaches_two_years_past_the_last_official_one(calendar):
    assert calendar.provisional_years() == [2027, 2028]
    assert calendar.is_working_day(D(2028, 12, 29)) and calendar.is_provisional(D(2028, 12, 29))
    with pytest.raises(CalendarError, match="2029 年的节假日安排尚未载入.*xueji calendar load") as error:
        calendar.due(D(2028, 12, 29), 1)
    assert error.value.year == 2029


def test_a_year_before_the_calendar_is_an_error_not_a_guess(calendar):
    with pytest.raises(CalendarError, match="2003 年的节假日安排尚未载入.*xueji calendar load"):
        calendar.is_working_day(D(2003, 6, 2))
    # Day 0 itself is never looked at: a clock started on 31 December 2003 runs in 2004.
    assert calendar.due(D(2003, 12, 31), 1).due == D(2004, 1, 2)


def test_calendar_error_is_a_value_error():
    assert issubclass(CalendarError, ValueError)


def test_gaps_between_official_years_are_provisional():
    calendar = WorkCalendar({}, loaded_years=[2030], builtin=CC_1_11)
    assert calendar.provisional_years() == [2027, 2028, 2029, 2031, 2032]
    assert not calendar.is_provisional(D(2030, 5, 1))


# -- schedules loaded into the database --------------------------------------

def test_a_loaded_year_is_official_and_complete():
    # A loaded 2027 schedule with 调休: Sunday 26 September worked, 1-7 October off.
    overrides = {D(2027, 9, 26): "workday", **{D(2027, 10, day): "holiday" for day in range(1, 8)}}
    calendar = WorkCalendar(overrides, loaded_years=[2027], builtin=CC_1_11)
    result = calendar.due(D(2027, 9, 24), 1)
    assert (result.due, result.provisional) == (D(2027, 9, 26), False)
    assert calendar.due(D(2027, 9, 30), 1).due == D(2027, 10, 8)
    # Complete: a statutory date the file did not list is an ordinary day
    # (the loader refuses such a file; the calendar trusts what was loaded).
    assert calendar.is_working_day(D(2027, 1, 1))


def test_database_days_override_chinese_calendar():
    calendar = WorkCalendar({D(2026, 12, 31): "holiday", D(2026, 10, 5): "workday"}, builtin=CC_1_11)
    assert not calendar.is_working_day(D(2026, 12, 31))
    assert calendar.is_working_day(D(2026, 10, 5))
    assert calendar.is_working_day(D(2026, 12, 30))  # the rest of 2026 is chinese-calendar's


def test_a_loaded_year_replaces_chinese_calendar_for_that_year():
    calendar = WorkCalendar({D(2026, 1, 1): "holiday"}, loaded_years=[2026], builtin=CC_1_11)
    assert not calendar.is_working_day(D(2026, 1, 1))
    assert calendar.is_working_day(D(2026, 1, 2))      # chinese-calendar: off (元旦)
    assert not calendar.is_working_day(D(2026, 1, 4))  # chinese-calendar: worked (Sunday)


def test_working_days_between_counts_after_the_start_up_to_the_end(calendar):
    assert calendar.working_days_between(D(2025, 1, 27), D(2025, 2, 8)) == 4
    assert calendar.working_days_between(D(2026, 11, 24), D(2026, 11, 24)) == 0
    assert calendar.working_days_between(D(2026, 12, 30), D(2027, 1, 7)) == 5
    with pytest.raises(ValueError):
        calendar.working_days_between(D(2026, 11, 24), D(2026, 11, 23))


# -- the warning for administrators ------------------------------------------

@pytest.mark.parametrize(("today", "loaded", "warns"), [
    (D(2026, 10, 31), [], None),
    (D(2026, 11, 1), [], "2027"),
    (D(2026, 11, 24), [], "2027"),
    (D(2026, 11, 24), [2027], None),
    (D(2026, 12, 31), [2027], None),
    (D(2027, 3, 1), [], "今年（2027 年）"),
    (D(2027, 3, 1), [2027], None),
    (D(2027, 11, 2), [2027], "2028"),
])
def test_a_missing_schedule_for_next_year_warns_from_1_november(today, loaded, warns):
    warning = WorkCalendar({}, loaded_years=loaded, builtin=CC_1_11).schedule_warning(today)
    if warns is None:
        assert warning is None
    else:
        assert warns in warning and "xueji calendar load" in warning


# -- properties ----------------------------------------------------------------

starts = st.dates(min_value=D(2004, 1, 1), max_value=D(2028, 11, 30))
counts = st.integers(min_value=1, max_value=20)


@given(start=starts, days=counts)
def test_a_due_date_is_a_working_day_strictly_after_its_start(calendar, start, days):
    due = calendar.due(start, days).due
    assert due > start
    assert calendar.is_working_day(due)
    assert calendar.working_days_between(start, due) == days


@given(start=starts, days=counts)
def test_due_dates_strictly_increase_with_n(calendar, start, days):
    assert calendar.due(start, days).due < calendar.due(start, days + 1).due


@given(start=starts, days=counts)
def test_a_due_date_is_provisional_exactly_when_it_reaches_past_2026(calendar, start, days):
    result = calendar.due(start, days)
    assert result.provisional == (result.due.year >= 2027)
