"""``xueji dashboard``: seal the dashboard's history, or count it again from the tickets.

Pages seal by themselves (``hotline.console.stats_seal``), a week of
history per page at most; after a deployment over old tickets, an import
of tickets with past dates or a change of the working-day calendar meant
to apply to the past, ``xueji dashboard rebuild`` counts everything again
in one transaction. A year that the working-day calendar does not know is
one Chinese line, exit status 1, and nothing changed.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from hotline import db
from hotline.calendar import SHANGHAI, CalendarError
from hotline.console.stats_models import DashboardState, ResponseCount
from hotline.console.stats_seal import rebuild, seal


def _run(operation: Callable[[datetime.datetime], object]) -> None:
    session = db.session()
    try:
        operation(datetime.datetime.now(datetime.UTC))
        session.commit()
    except CalendarError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    until = session.scalar(select(DashboardState.sealed_until))
    rows = session.scalar(select(func.count()).select_from(ResponseCount))
    shown = until.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if until else "（无）"
    click.echo(f"看板统计已封存至北京时间 {shown}，用时分布共 {rows} 行。")


@click.group("dashboard")
def dashboard_group() -> None:
    """The supervisors' dashboard: its sealed statistics."""


@dashboard_group.command("seal")
@with_appcontext
def seal_command() -> None:
    """Seal everything up to a few minutes ago (what pages do a week at a time)."""
    _run(lambda now: seal(db.session(), now, span=None))


@dashboard_group.command("rebuild")
@with_appcontext
def rebuild_command() -> None:
    """Forget the sealed statistics and count every ticket again."""
    _run(lambda now: rebuild(db.session(), now))
