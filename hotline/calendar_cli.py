"""``xueji calendar``: load the State Council's schedules, compute deadlines, show what is known."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterable
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import db
from hotline.calendar import SHANGHAI, CalendarError, WorkCalendar, today_in_shanghai
from hotline.calendar_load import LoadResult, load_schedule, weekday_text

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def year_ranges(years: Iterable[int]) -> str:
    """Years as ranges, for people to read.

    >>> year_ranges([2004, 2005, 2006, 2027, 2029])
    '2004—2006、2027、2029'
    >>> year_ranges([])
    '无'
    """
    ordered = sorted(set(years))
    if not ordered:
        return "无"
    runs: list[list[int]] = []
    for year in ordered:
        if runs and runs[-1][-1] == year - 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return "、".join(f"{run[0]}—{run[-1]}" if len(run) > 1 else f"{run[0]}" for run in runs)


@click.group("calendar")
def calendar_group() -> None:
    """Working days: the State Council's holiday schedules and statutory deadlines."""


def after_schedule_loaded(session: Session, result: LoadResult) -> int:
    """Recompute every open provisional deadline; return how many changed.

    Runs in the load's transaction, after the new schedule is flushed, so the
    deadlines and the schedule commit or roll back together. Nothing to do
    when the file changed nothing.
    """
    from hotline.tickets.clocks import recompute_provisional

    return recompute_provisional(session) if result.years else 0


@calendar_group.command("load")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--source", default=None,
              help="The notice's number, e.g. 国办发明电〔2026〕12号 [default: file:NAME].")
@with_appcontext
def load(file: Path, source: str | None) -> None:
    """Load one year's official schedule: CSV date,kind,name (kind: holiday or workday)."""
    from hotline.cli import run_operation

    if not file.is_file():
        raise click.ClickException(f"{file}: 文件不存在，数据库未作任何修改")

    def operation() -> tuple[LoadResult, int]:
        session = db.session()
        result = load_schedule(session, file, source)
        return result, after_schedule_loaded(session, result)

    result, recomputed = run_operation(operation)
    click.echo(result.summary())
    click.echo(f"已重新计算 {recomputed} 个暂定办理期限。")


def _parse_day(text: str) -> datetime.date:
    try:
        if not ISO_DATE.fullmatch(text):
            raise ValueError
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise click.ClickException(f"日期应为 YYYY-MM-DD，而不是 {text!r}") from None


def _today(text: str | None) -> datetime.date:
    return _parse_day(text) if text else today_in_shanghai()


@calendar_group.command("due")
@click.argument("date")
@click.argument("days")
@click.option("--json", "as_json", is_flag=True, help="Print {start, days, due, due_at, provisional}.")
@click.option("--today", default=None, hidden=True, help="Pretend today is this date (for the warning).")
@with_appcontext
def due(date: str, days: str, as_json: bool, today: str | None) -> None:
    """The deadline of N working days from DATE (day 0), ending at 24:00 Asia/Shanghai."""
    start = _parse_day(date)
    if not re.fullmatch(r"\d+", days) or int(days) < 1:
        raise click.ClickException(f"工作日数应为不小于 1 的整数（收到当日为第 0 日），而不是 {days!r}")
    calendar = WorkCalendar.from_session(db.session())
    try:
        result = calendar.due(start, int(days))
    except CalendarError as exc:
        raise click.ClickException(str(exc)) from None
    warning = calendar.schedule_warning(_today(today))
    if warning:
        click.echo(f"警告：{warning}", err=True)
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
        return
    sentence = (f"自 {result.start.isoformat()}（第 0 日）起第 {result.days} 个工作日为 "
                f"{result.due.isoformat()}（{weekday_text(result.due)}），期限至当日 24:00（北京时间）。")
    if result.provisional:
        sentence += "【临时】期间含尚无正式节假日安排的年份，按周末和法定节假日推算，载入正式安排后重算。"
    click.echo(sentence)


@calendar_group.command("status")
@click.option("--today", default=None, hidden=True, help="Pretend today is this date (for the warning).")
@with_appcontext
def status(today: str | None) -> None:
    """Which years have an official schedule, which are provisional, and any warning."""
    from hotline.calendar_models import CalendarYear

    session = db.session()
    calendar = WorkCalendar.from_session(session)
    click.echo(f"正式安排：{year_ranges(calendar.official_years)} 年")
    click.echo(f"  chinese-calendar 内置：{year_ranges(calendar.builtin_years)} 年")
    for row in session.scalars(select(CalendarYear).order_by(CalendarYear.year)):
        replaced = "（取代内置安排）" if row.year in calendar.builtin_years else ""
        # SQLite hands the stored UTC time back without its zone.
        at = row.loaded_at if row.loaded_at.tzinfo else row.loaded_at.replace(tzinfo=datetime.UTC)
        click.echo(f"  已载入：{row.year} 年，来源 {row.source}，"
                   f"{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}（北京时间）载入{replaced}")
    click.echo(f"临时推算（周末加法定节假日，未计调休）：{year_ranges(calendar.provisional_years())} 年")
    if calendar.official_years:
        click.echo(f"可计算范围：{calendar.first_year}—{calendar.horizon} 年；其余年份须先载入。")
    warning = calendar.schedule_warning(_today(today))
    click.echo(f"警告：{warning}" if warning else "节假日安排齐备。")
