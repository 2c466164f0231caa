"""The dashboard's figures on a hand-built set of tickets, moved through the real workflow.

The set, at ``NOW`` (Friday 20 March 2026, 10:00 in Beijing), on the seeded tree:

- 长安区 (130102): 20 tickets received Monday 2 March and answered by 张三
  after 0 ×5, 1 ×5, 2 ×5, 3 ×3, 5 and 8 working days (3 allowed); one open
  since 2 March (overdue); one paused since 3 March (past due, but paused);
  one received Thursday 19 March (due Tuesday 24th: within 2 working days,
  across the weekend); one received today (due Wednesday 25th: not yet);
  one in triage;
- 桥西区 (130104): a 核查单 issued by 赵六 (verifying, due 25 March), and a
  核查单 issued by 赵六 and returned by 王五 (deciding, due 19 March: overdue);
- 唐山 路北区 (130203): one open since 2 March, one answered by 孙七;
- 北京 朝阳区 (110105): one open since 2 March.
"""

from __future__ import annotations

import datetime
import random
import statistics
from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from hotline import db
from hotline.calendar import WorkCalendar
from hotline.console import stats
from hotline.console.stats_models import DashboardState, ResponseCount
from hotline.console.stats_queries import Histogram
from hotline.console.stats_seal import SEAL_MARGIN, rebuild, seal
from hotline.tickets import workflow as wf
from lookup.models import School
from tests.hotline.tickets.conftest import SCHOOLS, Desk, actor, at_day

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
NOW = datetime.datetime(2026, 3, 20, 10, tzinfo=SHANGHAI)
CHANGAN, QIAOXI, CITY, PROVINCE, LUBEI, CHAOYANG = "130102", "130104", "130100", "130000", "130203", "110105"
SCHOOL_OF = {CHANGAN: "1301020001", QIAOXI: "1301040001", LUBEI: "1302030001", CHAOYANG: "1101050001"}
DURATIONS = [0] * 5 + [1] * 5 + [2] * 5 + [3] * 3 + [5, 8]


@pytest.fixture
def desk(app) -> Iterator[Desk]:
    with app.app_context():
        session = db.session()
        for code, (name, division, authority) in SCHOOLS.items():
            session.add(School(code=code, name=name, division_code=division, authority_code=authority))
        session.flush()
        yield Desk(session, WorkCalendar.from_session(session))


def file(desk: Desk, unit: str, at: datetime.datetime, **kwargs):
    return desk.ticket((SCHOOL_OF[unit],), receiving=unit, at=at, **kwargs)


def answer(desk: Desk, ticket, unit: str, name: str, at: datetime.datetime) -> None:
    wf.close_answered(desk.session, ticket, actor(unit, name), answer="已答复", at=at)


def issue(desk: Desk, ticket, unit: str, name: str, at: datetime.datetime):
    [form] = wf.issue_verification(desk.session, ticket, actor(unit, name), related_units=[unit],
                                   facts="核实学籍状态", calendar=desk.calendar, at=at)
    return form


def build(desk: Desk) -> None:
    """The set of the module's docstring."""
    s, cal = desk.session, desk.calendar
    monday = datetime.date(2026, 3, 2)
    for days in DURATIONS:
        ticket = file(desk, CHANGAN, at_day(2026, 3, 2))
        done = cal.due(monday, days).due if days else monday
        answer(desk, ticket, CHANGAN, "张三", at_day(done.year, done.month, done.day, 15))
    file(desk, CHANGAN, at_day(2026, 3, 2))  # overdue since 5 March
    paused = file(desk, CHANGAN, at_day(2026, 3, 2))
    wf.pause_clock(s, paused, actor(CHANGAN, "张三"), reason="等待家长补充材料", at=at_day(2026, 3, 3))
    file(desk, CHANGAN, at_day(2026, 3, 19))  # due 24 March
    file(desk, CHANGAN, at_day(2026, 3, 20, 9))  # due 25 March
    desk.ticket((), receiving=CHANGAN, at=at_day(2026, 3, 10))  # triage
    verifying = file(desk, QIAOXI, at_day(2026, 3, 16))
    issue(desk, verifying, QIAOXI, "赵六", at_day(2026, 3, 18))
    deciding = file(desk, QIAOXI, at_day(2026, 3, 9))
    form = issue(desk, deciding, QIAOXI, "赵六", at_day(2026, 3, 10))
    wf.return_verification(s, form, actor(QIAOXI, "王五"), result="属实", calendar=cal,
                           at=at_day(2026, 3, 12))
    file(desk, LUBEI, at_day(2026, 3, 2))
    answer(desk, file(desk, LUBEI, at_day(2026, 3, 2)), LUBEI, "孙七", at_day(2026, 3, 3))
    file(desk, CHAOYANG, at_day(2026, 3, 2))
    s.flush()


def figures(desk: Desk, unit: str, *, weeks: int = 4, now: datetime.datetime = NOW) -> stats.Dashboard:
    return stats.dashboard(desk.session, unit, now=now, weeks=weeks, calendar=desk.calendar)


def by_key(rows: list[stats.Row]) -> dict[str, stats.Row]:
    return {row.key: row for row in rows}


def test_open_tickets_are_counted_by_step_at_the_unit_holding_them(desk):
    build(desk)
    steps = by_key(figures(desk, CHANGAN).steps)
    assert {step: row.open_tickets for step, row in steps.items() if row.open_tickets} == {
        "triage": 1, "verify_issue": 4}
    assert by_key(figures(desk, QIAOXI).steps)["deciding"].open_tickets == 1
    assert figures(desk, CITY).total.open_tickets == 5 + 2


def test_overdue_counts_running_clocks_past_due_and_not_paused(desk):
    build(desk)
    changan = figures(desk, CHANGAN)
    assert by_key(changan.steps)["verify_issue"].running == 4
    assert by_key(changan.steps)["verify_issue"].overdue == 1  # the paused one is past due, not overdue
    assert by_key(figures(desk, QIAOXI).steps)["deciding"].overdue == 1  # due 19 March
    assert figures(desk, CITY).total.overdue == 2


@pytest.mark.parametrize(
    ("now", "received", "soon"),
    [
        # Friday: the 2nd working day after is Tuesday; the weekend does not count.
        (datetime.datetime(2026, 3, 20, 10, tzinfo=SHANGHAI),
         {(2026, 3, 19): True, (2026, 3, 20): False}, datetime.date(2026, 3, 24)),
        # The eve of National Day (1-7 October off): 8 October is the 1st working day after
        # 30 September and 9 October the 2nd; Saturday 10 October (调休, worked) is the 3rd.
        (datetime.datetime(2026, 9, 30, 10, tzinfo=SHANGHAI),
         {(2026, 9, 28): True, (2026, 9, 29): True, (2026, 9, 30): False}, datetime.date(2026, 10, 9)),
    ],
)
def test_due_soon_means_due_by_the_second_working_day_after_today(desk, now, received, soon):
    for day in received:
        file(desk, QIAOXI, at_day(*day, 9))
    d = figures(desk, QIAOXI, now=now)
    assert d.soon == soon
    assert by_key(d.steps)["verify_issue"].due_soon == sum(received.values())


def test_median_and_90th_percentile_are_in_working_days(desk):
    build(desk)
    step = by_key(figures(desk, CHANGAN).steps)["verify_issue"].times
    # 20 values: the median is halfway between the 10th and 11th (1 and 2), the 90th
    # percentile 0.1 of the way from the 18th to the 19th (3 and 5), as percentile_cont.
    assert (step.closed, step.median, step.p90) == (20, 1.5, pytest.approx(3.2))


def test_the_on_time_rate_is_closed_on_time_over_closed_plus_open_past_due(desk):
    build(desk)
    step = by_key(figures(desk, CHANGAN).steps)["verify_issue"].times
    assert (step.on_time, step.closed, step.past_due) == (18, 20, 1)
    assert step.rate == pytest.approx(18 / 21)
    # An agent is judged on what they closed: a late clock still open is nobody's yet.
    zhang = by_key(figures(desk, CHANGAN).agents)["张三"].times
    assert (zhang.closed, zhang.median, zhang.rate) == (20, 1.5, pytest.approx(18 / 20))


@pytest.mark.parametrize(("n", "shown"), [(0, False), (1, False), (19, False), (20, True), (500, True)])
def test_figures_of_fewer_than_20_clocks_are_not_shown(n, shown):
    histogram = Histogram(n, n, 1, 1, 2, 2) if n else None
    times = stats.Times.of(histogram, past_due=0)
    assert (times.median is not None, times.p90 is not None, times.rate is not None) == (shown,) * 3


def test_small_units_and_agents_show_no_figures(desk):
    build(desk)
    units = by_key(figures(desk, CITY).units)
    assert units[CHANGAN].times.median == 1.5
    assert units[QIAOXI].times.closed == 3 and units[QIAOXI].times.median is None
    assert units[QIAOXI].times.rate is None
    agents = by_key(figures(desk, QIAOXI).agents)
    assert {name: row.times.closed for name, row in agents.items()} == {"赵六": 2, "王五": 1}
    assert agents["赵六"].times.median is None


def test_each_stop_counts_for_the_agent_who_did_the_step(desk):
    build(desk)
    agents = by_key(figures(desk, QIAOXI, weeks=12).agents)
    assert set(agents) == {"赵六", "王五"}  # 王五 returned the 核查单; 赵六 issued both
    assert by_key(figures(desk, LUBEI).agents)["孙七"].times.closed == 1


def test_a_prefecture_sees_only_its_own_units_and_tickets(desk):
    build(desk)
    city = figures(desk, CITY)
    assert {row.key for row in city.units} >= {CITY, CHANGAN, QIAOXI}
    assert not {row.key for row in city.units} & {"130200", LUBEI, "110000", CHAOYANG}
    assert (city.total.open_tickets, city.total.overdue, city.total.times.closed) == (7, 2, 23)
    assert "孙七" not in {row.key for row in city.agents}
    other = figures(desk, "130200")
    assert (other.total.open_tickets, other.total.overdue, other.total.times.closed) == (1, 1, 1)


def test_a_province_adds_its_prefectures_and_the_ministry_sees_everything(desk):
    build(desk)
    province, national = figures(desk, PROVINCE), figures(desk, "000000")
    assert (province.total.open_tickets, province.total.overdue, province.total.times.closed) == (8, 3, 24)
    assert by_key(province.units)["130200"].open_tickets == 1
    assert (national.total.open_tickets, national.total.overdue, national.total.times.closed) == (9, 4, 24)
    assert by_key(national.units)["110000"].overdue == 1


def test_the_weekly_trend_counts_received_closed_and_judged_clocks(desk):
    build(desk)
    trend = {w.monday: w for w in figures(desk, CHANGAN).trend}
    assert list(trend) == [datetime.date(2026, 2, 23) + datetime.timedelta(weeks=i) for i in range(4)]
    week = trend[datetime.date(2026, 3, 2)]
    # 18 answered that week, plus the one that fell due on 5 March and is still open.
    assert (week.received, week.closed, week.on_time, week.judged, week.rate) == (22, 18, 18, 19, None)
    assert (trend[datetime.date(2026, 3, 9)].closed, trend[datetime.date(2026, 3, 9)].on_time) == (2, 0)
    assert [w.received for w in trend.values()] == [0, 22, 1, 2]


def test_sealed_and_live_figures_are_the_same(desk):
    build(desk)
    live = figures(desk, PROVINCE)
    # Sealed on 11 March: what stopped before stays in the histograms, the rest is read live.
    assert seal(desk.session, datetime.datetime(2026, 3, 11, 12, tzinfo=SHANGHAI), calendar=desk.calendar)
    assert figures(desk, PROVINCE) == live
    assert seal(desk.session, NOW, calendar=desk.calendar)
    assert figures(desk, PROVINCE) == live
    rebuild(desk.session, NOW, calendar=desk.calendar)
    assert figures(desk, PROVINCE) == live


def test_catching_up_seals_at_most_a_week_of_history_per_call(desk):
    build(desk)

    def sealed_until():
        return desk.session.scalar(select(DashboardState.sealed_until))

    live = figures(desk, CITY)
    assert seal(desk.session, NOW, calendar=desk.calendar)
    assert sealed_until() == at_day(2026, 3, 9)  # a week after the first ticket came in
    assert seal(desk.session, NOW, calendar=desk.calendar)
    assert sealed_until() == at_day(2026, 3, 16)
    assert seal(desk.session, NOW, calendar=desk.calendar)
    assert sealed_until() == NOW - SEAL_MARGIN
    assert figures(desk, CITY) == live


def test_a_seal_too_soon_after_the_last_does_nothing(desk):
    assert seal(desk.session, NOW, calendar=desk.calendar)
    assert not seal(desk.session, NOW + datetime.timedelta(minutes=5), calendar=desk.calendar)
    assert seal(desk.session, NOW + datetime.timedelta(minutes=10), calendar=desk.calendar)


def test_the_time_of_a_step_skips_holidays_and_pauses(desk):
    s, cal = desk.session, desk.calendar
    # National Day: 30 September to 9 October 2026 is 2 working days.
    holiday = file(desk, CHAOYANG, at_day(2026, 9, 30))
    answer(desk, holiday, CHAOYANG, "甲", at_day(2026, 10, 9))
    # Received Monday 2 November, paused Tuesday 3rd, resumed Thursday 5th (2 working days),
    # answered Monday 9th: 5 working days, 2 of them paused.
    paused = file(desk, CHAOYANG, at_day(2026, 11, 2))
    wf.pause_clock(s, paused, actor(CHAOYANG, "乙"), reason="等待补充材料", at=at_day(2026, 11, 3))
    wf.resume_clock(s, paused, actor(CHAOYANG, "乙"), calendar=cal, at=at_day(2026, 11, 5))
    answer(desk, paused, CHAOYANG, "乙", at_day(2026, 11, 9))
    s.flush()
    rebuild(s, datetime.datetime(2026, 11, 20, tzinfo=SHANGHAI), calendar=cal)
    rows = s.execute(select(ResponseCount.actor, ResponseCount.working_days, ResponseCount.n).where(
        ResponseCount.scope_code == CHAOYANG, ResponseCount.grain == "agent")).all()
    assert sorted(rows) == [("乙", 3, 1), ("甲", 2, 1)]


@pytest.mark.parametrize("seed", range(8))
def test_percentiles_match_percentile_cont_on_random_samples(desk, seed):
    rng = random.Random(seed)
    values = [min(int(rng.expovariate(0.4)), 40) for _ in range(rng.randint(20, 400))]
    week = datetime.date(2026, 3, 16)
    for days in set(values):
        desk.session.add(ResponseCount(scope_code=CHAOYANG, grain="unit", week=week, step="verifying",
                                       actor="", working_days=days, n=values.count(days), on_time=0))
    desk.session.execute(update(DashboardState).values(sealed_until=NOW))
    desk.session.flush()
    times = figures(desk, CHAOYANG).total.times
    # percentile_cont interpolates linearly between order statistics, as 'inclusive' does.
    assert times.closed == len(values)
    assert times.median == pytest.approx(statistics.median(values))
    assert times.p90 == pytest.approx(statistics.quantiles(values, n=10, method="inclusive")[8])


def test_an_unknown_unit_is_refused(desk):
    with pytest.raises(stats.UnknownUnit):
        figures(desk, "999999")
