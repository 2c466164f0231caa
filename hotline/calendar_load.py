"""Loading one year's official holiday schedule (国务院办公厅关于部分节假日安排的通知).

The file is a CSV (UTF-8, with or without a BOM, or GB18030) with the header
``date,kind,name`` and one row per day; one file holds one calendar year:

- ``holiday``: every day off of the schedule, the weekend days inside a
  holiday period included (春节 2025: 1月28日至2月4日, all eight days);
- ``workday``: every Saturday or Sunday worked instead (调休上班).

Every other day of the year is an ordinary one (Monday to Friday worked).
The file replaces whatever the service knew about that year — an earlier
file, chinese-calendar's data, or the provisional rule — and the result says
which days changed. Any error refuses the whole file and changes nothing.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hotline.calendar import WorkCalendar
from hotline.calendar_holidays import FIRST_YEAR, LAST_YEAR, statutory_holidays
from hotline.calendar_models import CalendarDay, CalendarYear
from lookup.csvfile import CsvFile, RowError

COLUMNS = ("date", "kind", "name")
KIND_TEXT = {"holiday": "放假", "workday": "调休上班"}
WEEKDAYS = "一二三四五六日"
# Excel on a Chinese Windows turns 2027-02-06 into 2027/2/6 when it saves.
DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
MAX_NAME = 64
MAX_SOURCE = 255


def weekday_text(day: datetime.date) -> str:
    """>>> weekday_text(datetime.date(2027, 2, 6))
    '星期六'
    """
    return "星期" + WEEKDAYS[day.weekday()]


@dataclass(frozen=True)
class DayChange:
    """A day whose status the load changed."""

    day: datetime.date
    was_working: bool
    now_working: bool
    name: str  # the file's name for the day; empty if it became an ordinary day

    def describe(self) -> str:
        before = "工作日" if self.was_working else "休息日"
        if self.now_working:
            after = f"上班（{self.name or '普通工作日'}）"
        else:
            after = f"放假（{self.name}）" if self.name else "休息（周末）"
        return f"{self.day.isoformat()} {weekday_text(self.day)}  {before} → {after}"


@dataclass(frozen=True)
class LoadResult:
    year: int
    source: str
    holidays: int
    workdays: int
    # Where the year came from before: 'loaded', 'builtin' (chinese-calendar),
    # 'provisional' or 'none' (outside the calendar).
    before: str
    changes: tuple[DayChange, ...]
    unchanged: bool  # the same schedule from the same source was loaded already

    @property
    def years(self) -> tuple[int, ...]:
        """The years whose schedule was (re)loaded: their provisional deadlines must be recomputed."""
        return () if self.unchanged else (self.year,)

    def summary(self) -> str:
        if self.unchanged:
            return f"{self.year} 年节假日安排与已载入的完全相同（来源：{self.source}），未作修改。"
        lines = [f"已载入 {self.year} 年节假日安排（来源：{self.source}）："
                 f"放假 {self.holidays} 天，调休上班 {self.workdays} 天。"]
        before = {
            "loaded": "此前已载入过该年安排；与之相比",
            "builtin": "该年原使用 chinese-calendar 内置的安排，现改以文件为准；与内置安排相比",
            "provisional": "该年原按法定节假日临时推算，现为正式安排；与临时推算相比",
        }.get(self.before)
        if before is None:
            lines.append("该年此前不在工作日历范围内。")
        elif not self.changes:
            lines.append(f"{before}没有任何一天改变。")
        else:
            lines.append(f"{before}有 {len(self.changes)} 天改变：")
            lines += ["  " + change.describe() for change in self.changes]
        return "\n".join(lines)


def _parse_date(file: str, line: int, text: str) -> datetime.date:
    match = DATE.fullmatch(text)
    try:
        if match is None:
            raise ValueError
        return datetime.date(*(int(part) for part in match.groups()))
    except ValueError:
        raise RowError(file, line, "date", f"日期应为 YYYY-MM-DD，而不是 {text!r}") from None


def read_schedule(path: Path) -> tuple[int, dict[datetime.date, tuple[str, str]]]:
    """The year a schedule file describes and its days (``{day: (kind, name)}``), fully checked."""
    csv = CsvFile(path, COLUMNS)
    file = csv.name
    days: dict[datetime.date, tuple[str, str]] = {}
    lines: dict[datetime.date, int] = {}
    year: int | None = None
    for line, row in csv.rows():
        day = _parse_date(file, line, row["date"])
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise RowError(file, line, "date",
                           f"只能载入 {FIRST_YEAR}—{LAST_YEAR} 年的安排，不能载入 {day.year} 年")
        if year is None:
            year = day.year
        elif day.year != year:
            raise RowError(file, line, "date",
                           f"{day.isoformat()} 不在 {year} 年："
                           f"一个文件只载入一年的安排（第一行是 {year} 年）")
        if day in days:
            raise RowError(file, line, "date", f"{day.isoformat()} 与第 {lines[day]} 行重复")
        kind, name = row["kind"], row["name"]
        if kind not in KIND_TEXT:
            raise RowError(file, line, "kind", f"应为 holiday（放假）或 workday（调休上班），而不是 {kind!r}")
        if not name:
            raise RowError(file, line, "name", "不能为空（节日名称，如 春节；或 调休上班）")
        if len(name) > MAX_NAME:
            raise RowError(file, line, "name", f"超过 {MAX_NAME} 个字")
        if kind == "workday":
            # A make-up working day is always a weekend day moved next to a
            # holiday; a weekday listed as one is a typo in the date.
            if day.weekday() < 5:
                raise RowError(file, line, "date",
                               f"{day.isoformat()} 是{weekday_text(day)}：调休上班日只能是星期六或星期日")
            festival = statutory_holidays(day.year).get(day)
            if festival:
                raise RowError(file, line, "kind",
                               f"{day.isoformat()} 是法定节假日（{festival}），不能调休上班")
        days[day], lines[day] = (kind, name), line
    if year is None:
        raise RowError(file, None, None, "文件中没有任何日期（一个文件应列出一年的全部放假日和调休上班日）")
    # 全国年节及纪念日放假办法: these days are off whatever the schedule does
    # around them, so a schedule without one of them is not the real one.
    missing = [f"{day.isoformat()}（{name}）" for day, name in statutory_holidays(year).items()
               if days.get(day, ("", ""))[0] != "holiday"]
    if missing:
        raise RowError(file, None, None,
                       f"缺少 {year} 年的法定节假日 {'、'.join(missing)}："
                       "国务院公布的安排必然包含这些放假日，请核对文件")
    return year, days


def _status(calendar: WorkCalendar, year: int) -> str:
    if year in calendar.loaded_years:
        return "loaded"
    if year in calendar.builtin_years:
        return "builtin"
    return "provisional" if calendar.covers(year) else "none"


def load_schedule(session: Session, path: Path, source: str | None = None, *,
                  builtin: range | None = None) -> LoadResult:
    """Replace one year's schedule with the file's, mark the year official; flush, do not commit.

    ``source`` is the notice's number (国办发明电〔2026〕12号); it defaults to
    ``file:NAME``. ``builtin`` is passed to :class:`WorkCalendar` (tests).
    Raises :class:`~lookup.csvfile.RowError` before writing anything.
    """
    source = (source or "").strip() or f"file:{path.name}"
    if len(source) > MAX_SOURCE:
        raise RowError(path.name, None, "source", f"来源超过 {MAX_SOURCE} 个字符")
    year, days = read_schedule(path)
    first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    in_year = CalendarDay.day.between(first, last)
    stored = {row.day: (row.kind, row.name)
              for row in session.execute(select(CalendarDay.day, CalendarDay.kind, CalendarDay.name)
                                         .where(in_year))}
    loaded = session.get(CalendarYear, year)
    counts = {kind: sum(1 for k, _ in days.values() if k == kind) for kind in KIND_TEXT}
    if loaded is not None and loaded.source == source and stored == days:
        return LoadResult(year, source, counts["holiday"], counts["workday"], "loaded", (), unchanged=True)

    before = WorkCalendar.from_session(session, builtin=builtin)
    now = datetime.datetime.now(datetime.UTC)
    session.execute(delete(CalendarDay).where(in_year))
    session.add_all(CalendarDay(day=day, kind=kind, name=name, source=source, loaded_at=now)
                    for day, (kind, name) in sorted(days.items()))
    if loaded is None:
        session.add(CalendarYear(year=year, source=source, loaded_at=now))
    else:
        loaded.source, loaded.loaded_at = source, now
    session.flush()

    changes: list[DayChange] = []
    status = _status(before, year)
    if status != "none":
        after = WorkCalendar.from_session(session, builtin=builtin)
        day = first
        while day <= last:
            was, now_working = before.is_working_day(day), after.is_working_day(day)
            if was != now_working:
                changes.append(DayChange(day, was, now_working, days.get(day, ("", ""))[1]))
            day += datetime.timedelta(days=1)
    return LoadResult(year, source, counts["holiday"], counts["workday"], status, tuple(changes),
                      unchanged=False)
