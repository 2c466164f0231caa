"""``xueji calendar``: load, due and status as an administrator uses them.

The year after the last one chinese-calendar knows (2027 with 1.11) is
computed here, so that these tests keep telling the same story when a later
release learns 2027.
"""

from __future__ import annotations

import datetime
import json

import pytest
from sqlalchemy import func, select

from hotline.calendar import builtin_years
from hotline.calendar_holidays import statutory_holidays
from hotline.calendar_models import CalendarYear

LAST = builtin_years()[-1]
NEXT = LAST + 1


def first_saturday_of_march(year: int) -> datetime.date:
    day = datetime.date(year, 3, 1)
    return day + datetime.timedelta(days=(5 - day.weekday()) % 7)


def next_year_schedule(write_csv):
    """NEXT's statutory holidays, and the first Saturday of March worked."""
    rows = ["date,kind,name"]
    rows += [f"{day.isoformat()},holiday,{name}" for day, name in statutory_holidays(NEXT).items()]
    rows.append(f"{first_saturday_of_march(NEXT).isoformat()},workday,调休上班")
    return write_csv(f"{NEXT}.csv", rows)


def due_json(runner, *args: str) -> dict:
    result = runner.invoke(args=["calendar", "due", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_due_prints_the_deadline_as_json(runner):
    assert due_json(runner, "2026-11-24", "5") == {
        "start": "2026-11-24", "days": 5, "due": "2026-12-01",
        "due_at": "2026-12-02T00:00:00+08:00", "provisional": False}


def test_due_without_json_is_a_sentence(runner):
    result = runner.invoke(args=["calendar", "due", "2026-11-24", "5", "--today", "2026-06-01"])
    assert result.exit_code == 0
    assert result.stdout == ("自 2026-11-24（第 0 日）起第 5 个工作日为 2026-12-01（星期二），"
                             "期限至当日 24:00（北京时间）。\n")


def test_a_deadline_reaching_into_next_year_is_provisional_until_its_schedule_is_loaded(runner, session,
                                                                                      write_csv):
    saturday = first_saturday_of_march(NEXT)
    friday = (saturday - datetime.timedelta(days=1)).isoformat()
    assert due_json(runner, f"{LAST}-12-31", "1")["provisional"] is True
    before = due_json(runner, friday, "1")
    assert (before["due"], before["provisional"]) == ((saturday + datetime.timedelta(days=2)).isoformat(),
                                                      True)

    result = runner.invoke(args=["calendar", "load", str(next_year_schedule(write_csv)),
                                 "--source", "国办发明电〔示例〕1号"])
    assert result.exit_code == 0, result.output
    assert f"已载入 {NEXT} 年节假日安排（来源：国办发明电〔示例〕1号）" in result.stdout
    assert "原按法定节假日临时推算" in result.stdout

    after = due_json(runner, friday, "1")
    assert (after["due"], after["provisional"]) == (saturday.isoformat(), False)
    assert due_json(runner, f"{LAST}-12-31", "1")["provisional"] is False


def test_a_bad_file_is_one_line_and_changes_nothing(runner, session, write_csv):
    path = write_csv(f"{NEXT}.csv", ["date,kind,name", f"{NEXT}-01-01,holiday,元旦",
                                     f"{NEXT}-01-06,workday,调休上班"])
    result = runner.invoke(args=["calendar", "load", str(path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert f"{NEXT}.csv:3: date: " in result.output
    assert session.scalar(select(func.count()).select_from(CalendarYear)) == 0


@pytest.mark.parametrize(("date", "days", "message"), [
    ("2026-13-01", "5", "日期应为 YYYY-MM-DD，而不是 '2026-13-01'"),
    ("2026/11/24", "5", "日期应为 YYYY-MM-DD"),
    ("2026-11-24", "0", "工作日数应为不小于 1 的整数（收到当日为第 0 日），而不是 '0'"),
    ("2026-11-24", "five", "工作日数应为不小于 1 的整数"),
    ("1990-01-01", "5", "1990 年的节假日安排尚未载入"),
    (f"{LAST + 2}-12-31", "1", f"{LAST + 3} 年的节假日安排尚未载入"),
])
def test_bad_arguments_to_due_are_one_clear_line(runner, date, days, message):
    result = runner.invoke(args=["calendar", "due", date, days, "--json"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_an_unknown_year_names_the_command_that_fixes_it(runner):
    result = runner.invoke(args=["calendar", "due", "1990-01-01", "5"])
    assert "请用 xueji calendar load 载入 1990 年的节假日安排" in result.stderr


def test_status_lists_the_years_and_warns_from_1_november(runner, write_csv):
    quiet = runner.invoke(args=["calendar", "status", "--today", f"{LAST}-10-31"])
    assert quiet.exit_code == 0
    assert f"chinese-calendar 内置：2004—{LAST} 年" in quiet.stdout
    assert f"临时推算（周末加法定节假日，未计调休）：{NEXT}—{LAST + 2} 年" in quiet.stdout
    assert "节假日安排齐备" in quiet.stdout

    warned = runner.invoke(args=["calendar", "status", "--today", f"{LAST}-11-01"])
    assert f"警告：尚未载入 {NEXT} 年的节假日安排" in warned.stdout

    runner.invoke(args=["calendar", "load", str(next_year_schedule(write_csv))])
    loaded = runner.invoke(args=["calendar", "status", "--today", f"{LAST}-11-01"])
    assert f"已载入：{NEXT} 年，来源 file:{NEXT}.csv" in loaded.stdout
    assert "节假日安排齐备" in loaded.stdout


def test_due_repeats_the_warning_on_stderr(runner):
    result = runner.invoke(args=["calendar", "due", f"{LAST}-11-24", "5", "--json",
                                 "--today", f"{LAST}-11-24"])
    assert result.exit_code == 0
    assert f"警告：尚未载入 {NEXT} 年的节假日安排" in result.stderr
    assert json.loads(result.stdout)["days"] == 5


def test_a_missing_file_is_one_line(runner, tmp_path):
    result = runner.invoke(args=["calendar", "load", str(tmp_path / "2027.csv")])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "文件不存在" in result.stderr
