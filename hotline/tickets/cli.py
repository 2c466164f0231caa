"""``xueji ticket``: a ticket's record and its forms, for operators."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from hotline import db
from hotline.tickets.clocks import SHANGHAI
from hotline.tickets.models import Clock, Event, Form, Ticket
from hotline.tickets.printing import FormNotFound, find_form, render_form
from hotline.tickets.steps import STEP_TEXT


@click.group("ticket")
def ticket_group() -> None:
    """工单：查看办理记录，打印核查单、督办单、报告单。"""


def _ticket(number: str) -> Ticket:
    ticket = db.session().scalars(select(Ticket).where(Ticket.number == number.strip())).first()
    if ticket is None:
        raise click.ClickException(f"没有编号为 {number} 的工单")
    return ticket


@ticket_group.command("show")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def show(number: str, as_json: bool) -> None:
    """Show a ticket's step, routing trace, clocks and timeline (no personal data)."""
    session = db.session()
    ticket = _ticket(number)
    clocks = session.scalars(select(Clock).where(Clock.ticket_id == ticket.id).order_by(Clock.id)).all()
    events = session.scalars(select(Event).where(Event.ticket_id == ticket.id).order_by(Event.id)).all()
    forms = session.scalars(select(Form).where(Form.ticket_id == ticket.id).order_by(Form.id)).all()
    record = {
        "number": ticket.number,
        "step": ticket.step,
        "category": ticket.category,
        "responsible_unit": ticket.responsible_unit_code,
        "current_unit": ticket.current_unit_code,
        "routing_rule": ticket.routing_rule,
        "trace": json.loads(ticket.routing_trace),
        "clocks": [
            {
                "step": c.step,
                "unit": c.unit_code,
                "start": c.start_day.isoformat(),
                "days": c.days,
                "extra_days": c.extra_days,
                "due": c.due_day.isoformat(),
                "provisional": c.provisional,
                "paused": c.paused_at is not None,
                "stopped": c.stopped_at is not None,
                "on_time": c.on_time,
            }
            for c in clocks
        ],
        "forms": [
            {"number": f.number, "version": f.version, "kind": f.kind, "to": f.receiving_unit_code}
            for f in forms
        ],
        "timeline": [
            {
                "at": e.at.astimezone(SHANGHAI).isoformat(),
                "unit": e.unit_code,
                "actor": e.actor,
                "kind": e.kind,
                "text": e.text,
            }
            for e in events
        ],
    }
    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"工单 {ticket.number}：{STEP_TEXT[ticket.step]}，负责单位 {ticket.responsible_unit_code or '待分办'}"
    )
    for line in record["trace"]:
        click.echo(f"  {line}")
    for clock in record["clocks"]:
        state = "暂停" if clock["paused"] else ("已结束" if clock["stopped"] else "计时中")
        click.echo(
            f"  时限 {clock['step']} @ {clock['unit']}：{clock['due']}"
            f"{'（暂定）' if clock['provisional'] else ''} {state}"
        )
    for event in record["timeline"]:
        click.echo(f"  {event['at'][:16]} {event['unit']} {event['actor']}：{event['text']}")


@ticket_group.command("print-form")
@click.argument("number")
@click.option("--version", type=click.IntRange(min=1), help="A given version (default: the newest).")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the page to this file instead of standard output.",
)
@with_appcontext
def print_form(number: str, version: int | None, output: Path | None) -> None:
    """Render a 核查单, 督办单 or 报告单 as a print-ready A4 HTML page."""
    try:
        page = render_form(db.session(), find_form(db.session(), number, version))
    except FormNotFound as exc:
        raise click.ClickException(str(exc)) from None
    if output is None:
        click.echo(page)
    else:
        output.write_text(page, encoding="utf-8")
        click.echo(f"已写入 {output}", err=True)
