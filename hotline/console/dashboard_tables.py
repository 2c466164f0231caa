"""The dashboard's tables as rows of cells: one definition for the page and the CSV exports.

A cell is a number, or a text: "样本不足" where the sample is too small to
mean something (``hotline.console.stats.MIN_SAMPLE``), "—" where the figure
does not apply (a step without a statutory clock, an agent's open work).
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.console.stats import CLOCK_STEPS, MIN_SAMPLE, Dashboard, Row

TOO_FEW = "样本不足"
NOT_APPLICABLE = "—"
TABLES = ("steps", "units", "agents", "trend")

Cell = int | float | str


@dataclass(frozen=True)
class Table:
    name: str
    caption: str
    header: list[str]
    rows: list[list[Cell]]
    keys: list[str]  # what each row is about: a step, a unit code, an agent, a week


def days(value: float | None) -> Cell:
    return TOO_FEW if value is None else round(value, 1)


def percent(value: float | None) -> Cell:
    return TOO_FEW if value is None else f"{value * 100:.1f}%"


def _open(value: int | None) -> Cell:
    return NOT_APPLICABLE if value is None else value


_WORK = ["未办结工单", "计时中", "已超期", "2个工作日内到期"]
_TIMES = ["期内完成", "按时完成", "中位用时", "90%用时", "按时率"]


def _cells(row: Row, *, work: bool = True, timed: bool = True) -> list[Cell]:
    t = row.times
    open_work = [_open(row.open_tickets), _open(row.running), _open(row.overdue), _open(row.due_soon)]
    times = [t.closed, t.on_time, days(t.median), days(t.p90), percent(t.rate)] if timed else (
        [NOT_APPLICABLE] * len(_TIMES))
    return [row.label, *(open_work if work else []), *times]


def tables(d: Dashboard) -> dict[str, Table]:
    period = f"近 {d.weeks} 周（{d.since.isoformat()} 起）"
    steps = Table(
        "steps", f"各环节：当前工作与{period}用时", ["环节", *_WORK, *_TIMES],
        [_cells(row, timed=row.key in CLOCK_STEPS) for row in d.steps], [row.key for row in d.steps])
    units = Table(
        "units", f"各单位（本级及直属下级单位，含其下级）：当前工作与{period}用时", ["单位", *_WORK, *_TIMES],
        [_cells(row) for row in d.units] + [["合计", *_cells(d.total)[1:]]],
        [*(row.key for row in d.units), ""])
    agents = Table(
        "agents", f"{d.unit_name}（本级）各办理人员：{period}用时", ["人员", *_TIMES],
        [_cells(row, work=False) for row in d.agents], [row.key for row in d.agents])
    trend = Table(
        "trend", "逐周趋势", ["周（周一）", "受理", "办结", "按时完成", "应计（完成及超期未结）", "按时率"],
        [[w.monday.isoformat(), w.received, w.closed, w.on_time, w.judged, percent(w.rate)] for w in d.trend],
        [w.monday.isoformat() for w in d.trend])
    return {"steps": steps, "units": units, "agents": agents, "trend": trend}


def notes() -> list[str]:
    """How to read the figures, shown under the tables."""
    return [
        "用时（中位用时、90%用时）：从该环节计时开始之日（第 0 日）到完成之日的工作日数，"
        "按国务院公布的节假日安排计算，暂停计时（如等待投诉人补充材料）的工作日不计入。",
        "按时率 = 按时完成 ÷（期内完成 + 当前已超期未完成）。超期未完成的环节尚无办理人，"
        "只计入环节和单位，不计入个人。",
        f"少于 {MIN_SAMPLE} 件的统计不显示中位用时、90%用时和按时率（显示“{TOO_FEW}”）。",
        "2个工作日内到期：尚未超期、未暂停，期限在今天之后第 2 个工作日（含）以前的计时。",
        "办理人员：完成该环节（下发或反馈核查单、督办单，直接答复办结）时记录在工单时间线上的人员。"
        "下级单位的人员请进入该单位的看板查看。",
    ]
