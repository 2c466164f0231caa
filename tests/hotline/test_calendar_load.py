"""Loading a year's official schedule: checked in full, then one atomic replacement."""

from __future__ import annotations

import datetime

import chinese_calendar
import pytest
from sqlalchemy import select

from hotline.calendar import WorkCalendar
from hotline.calendar_load import load_schedule
from hotline.calendar_models import CalendarDay, CalendarYear
from lookup.csvfile import RowError

D = datetime.date
CC_1_11 = range(2004, 2027)
HEADER = "date,kind,name"

# A made-up 2027 schedule in the shape of the State Council's notices (the
# real one is not published on 2026-11-24): every statutory date, the days
# bridged to the weekends, and the make-up Saturdays and Sundays.
SCHEDULE_2027 = [
    HEADER,
    *(f"2027-01-0{day},holiday,元旦" for day in (1, 2, 3)),
    "2027-01-31,workday,调休上班",
    *(f"2027-02-{day:02},holiday,春节" for day in range(5, 14)),
    "2027-02-20,workday,调休上班",
    *(f"2027-04-0{day},holiday,清明节" for day in (3, 4, 5)),
    "2027-04-25,workday,调休上班",
    *(f"2027-05-0{day},holiday,劳动节" for day in range(1, 6)),
    "2027-05-08,workday,调休上班",
    "2027-06-09,holiday,端午节",
    "2027-09-15,holiday,中秋节",
    "2027-09-26,workday,调休上班",
    *(f"2027-10-0{day},holiday,国庆节" for day in range(1, 8)),
    "2027-10-09,workday,调休上班",
]


def load(session, path, source=None):
    return load_schedule(session, path, source, builtin=CC_1_11)


def calendar(session) -> WorkCalendar:
    return WorkCalendar.from_session(session, builtin=CC_1_11)


def snapshot(session) -> tuple[list, list]:
    session.expire_all()
    days = session.execute(select(CalendarDay.day, CalendarDay.kind, CalendarDay.name, CalendarDay.source,
                                  CalendarDay.loaded_at).order_by(CalendarDay.day)).all()
    years = session.execute(select(CalendarYear.year, CalendarYear.source, CalendarYear.loaded_at)
                            .order_by(CalendarYear.year)).all()
    return days, years


def test_loading_2027_turns_its_provisional_deadlines_official(session, write_csv):
    before = calendar(session).due(D(2027, 2, 18), 2)
    assert (before.due, before.provisional) == (D(2027, 2, 22), True)

    result = load(session, write_csv("2027.csv", SCHEDULE_2027), "国办发明电〔2026〕99号")

    after = calendar(session)
    due = after.due(D(2027, 2, 18), 2)
    assert (due.due, due.provisional) == (D(2027, 2, 20), False)  # Saturday 20 February is worked
    assert 2027 in after.official_years and after.provisional_years() == [2028, 2029]
    assert (result.year, result.years, result.holidays, result.workdays) == (2027, (2027,), 29, 6)
    assert result.before == "provisional"
    # Relative to the provisional rule: 6 make-up days worked, 11 weekdays bridged off.
    assert len(result.changes) == 17
    assert "2027-02-20 星期六  休息日 → 上班（调休上班）" in result.summary()
    assert "2027-02-09 星期二  工作日 → 放假（春节）" in result.summary()


def test_each_day_keeps_its_source(session, write_csv):
    load(session, write_csv("2027.csv", SCHEDULE_2027), "国办发明电〔2026〕99号")
    row = session.get(CalendarDay, D(2027, 2, 20))
    assert (row.kind, row.name, row.source) == ("workday", "调休上班", "国办发明电〔2026〕99号")
    assert session.get(CalendarYear, 2027).source == "国办发明电〔2026〕99号"


def test_the_source_defaults_to_the_file_name(session, write_csv):
    result = load(session, write_csv("2027.csv", SCHEDULE_2027))
    assert result.source == "file:2027.csv"
    assert session.get(CalendarYear, 2027).source == "file:2027.csv"


def test_loading_is_idempotent(session, write_csv):
    path = write_csv("2027.csv", SCHEDULE_2027)
    load(session, path)
    first = snapshot(session)
    again = load(session, path)
    assert again.unchanged and again.years == ()
    assert "完全相同" in again.summary()
    assert snapshot(session) == first


def test_a_new_file_replaces_the_year_entirely(session, write_csv):
    load(session, write_csv("2027.csv", SCHEDULE_2027))
    corrected = [line for line in SCHEDULE_2027 if not line.startswith("2027-10-09")]
    result = load(session, write_csv("2027-corrected.csv", corrected))
    assert result.before == "loaded"
    assert [change.describe() for change in result.changes] == [
        "2027-10-09 星期六  工作日 → 休息（周末）"]
    assert session.get(CalendarDay, D(2027, 10, 9)) is None
    assert calendar(session).is_working_day(D(2027, 10, 9)) is False


def chinese_calendar_schedule(year: int) -> list[str]:
    """chinese-calendar's data for ``year``, written as a schedule file."""
    rows = [HEADER]
    for day in sorted({**chinese_calendar.holidays, **chinese_calendar.workdays}):
        if day.year != year:
            continue
        if day in chinese_calendar.workdays:
            rows.append(f"{day.isoformat()},workday,调休上班")
        else:
            name = chinese_calendar.Holiday(chinese_calendar.holidays[day]).chinese
            rows.append(f"{day.isoformat()},holiday,{name}")
    return rows


def test_database_days_beat_chinese_calendar_and_the_load_says_so(session, write_csv):
    # 2026 as chinese-calendar has it, except that Monday 5 October is worked.
    rows = [line for line in chinese_calendar_schedule(2026) if not line.startswith("2026-10-05")]
    assert calendar(session).is_working_day(D(2026, 10, 5)) is False
    result = load(session, write_csv("2026.csv", rows))
    assert calendar(session).is_working_day(D(2026, 10, 5)) is True
    assert result.before == "builtin"
    assert "chinese-calendar 内置" in result.summary()
    assert [change.describe() for change in result.changes] == [
        "2026-10-05 星期一  休息日 → 上班（普通工作日）"]


def test_a_file_equal_to_chinese_calendar_changes_no_day(session, write_csv):
    result = load(session, write_csv("2026.csv", chinese_calendar_schedule(2026)))
    assert result.before == "builtin" and result.changes == ()
    assert "没有任何一天改变" in result.summary()


def test_a_gb18030_file_from_excel_loads(session, write_csv):
    rows = [line.replace("-", "/") for line in SCHEDULE_2027]
    load(session, write_csv("2027.csv", rows, encoding="gb18030"))
    assert session.get(CalendarDay, D(2027, 2, 5)).name == "春节"


def replace(line_start: str, new: str) -> list[str]:
    return [new if line.startswith(line_start) else line for line in SCHEDULE_2027]


BAD_FILES = {
    "an unreadable date": (replace("2027-06-09", "2027-6-9x,holiday,端午节"),
                           "2027.csv:26: date: 日期应为 YYYY-MM-DD"),
    "a date that does not exist": (replace("2027-06-09", "2027-02-30,holiday,端午节"),
                                   "2027.csv:26: date: 日期应为 YYYY-MM-DD"),
    "an unknown kind": (replace("2027-06-09", "2027-06-09,rest,端午节"),
                        "2027.csv:26: kind: 应为 holiday（放假）或 workday（调休上班）"),
    "an empty name": (replace("2027-06-09", "2027-06-09,holiday,"), "2027.csv:26: name: 不能为空"),
    "two years in one file": ([*SCHEDULE_2027, "2028-01-01,holiday,元旦"],
                              "2027.csv:37: date: 2028-01-01 不在 2027 年"),
    "a duplicate date": ([*SCHEDULE_2027, "2027-06-09,holiday,端午节"],
                         "2027.csv:37: date: 2027-06-09 与第 26 行重复"),
    "a make-up day on a weekday": (replace("2027-10-09", "2027-10-08,workday,调休上班"),
                                   "2027.csv:36: date: 2027-10-08 是星期五：调休上班日只能是星期六或星期日"),
    "a statutory holiday listed again as worked": (replace("2027-05-08", "2027-05-02,workday,调休上班"),
                                   "2027.csv:25: date: 2027-05-02 与第 21 行重复"),
    "a statutory holiday left out": ([line for line in SCHEDULE_2027 if not line.startswith("2027-02-06")],
                                     "2027.csv: 缺少 2027 年的法定节假日 2027-02-06（春节）"),
    "a year the regulation tables do not cover": (["date,kind,name", "1999-10-01,holiday,国庆节"],
                                                  "2027.csv:2: date: 只能载入 2000—2099 年的安排"),
    "no rows": ([HEADER], "2027.csv: 文件中没有任何日期"),
    "a wrong header": (["day,kind,name", *SCHEDULE_2027[1:]], "2027.csv:1: 表头应为 date,kind,name"),
    "a missing column": ([*SCHEDULE_2027, "2027-12-31,holiday"], "2027.csv:37: 应有 3 列，实有 2 列"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_is_refused_with_its_line_and_nothing_changes(session, write_csv, case):
    load(session, write_csv("2027.csv", SCHEDULE_2027), "国办发明电〔2026〕99号")
    before = snapshot(session)
    lines, message = BAD_FILES[case]
    with pytest.raises(RowError) as error:
        load(session, write_csv("2027.csv", lines), "另一个来源")
    assert str(error.value).startswith(message), str(error.value)
    assert snapshot(session) == before


def test_a_statutory_holiday_cannot_be_a_make_up_day(session, write_csv):
    lines = [line for line in SCHEDULE_2027 if not line.startswith("2027-02-06")]
    with pytest.raises(RowError, match="2027-02-06 是法定节假日（春节），不能调休上班"):
        load(session, write_csv("2027.csv", [*lines, "2027-02-06,workday,调休上班"]))
    assert snapshot(session) == ([], [])


def test_an_overlong_source_is_refused(session, write_csv):
    with pytest.raises(RowError, match="来源超过 255 个字符"):
        load(session, write_csv("2027.csv", SCHEDULE_2027), "号" * 256)
    assert snapshot(session) == ([], [])
