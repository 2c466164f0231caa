"""``xueji route``: which unit handles a complaint about these schools, and why."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from hotline import db
from hotline.routing import RoutingError, route
from hotline.routing_rule import LEVEL_TEXT

RULE_TEXT = {"one_school": "一所学校：直接主管部门", "common_authority": "多所学校：共同的主管部门",
             "triage": "未识别学校：受理单位分办"}


@click.command("route")
@click.argument("school_codes", nargs=-1, metavar="[SCHOOL_CODE]...")
@click.option("--receiving", "receiving", metavar="UNIT",
              help="The receiving unit's code (triage happens there; default: the ministry).")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON.")
@with_appcontext
def route_command(school_codes: tuple[str, ...], receiving: str | None, as_json: bool) -> None:
    """The responsible unit for a complaint about these schools (2014 notice item 1)."""
    try:
        decision = route(db.session(), school_codes, receiving_unit_code=receiving)
    except RoutingError as exc:
        # Click prints it as one line on stderr and exits 1: never a traceback.
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(decision.as_json(), ensure_ascii=False, indent=2))
        return
    unit = decision.unit
    click.echo(f"处理责任单位：{unit.name}（{unit.code}，{LEVEL_TEXT[unit.level]}）")
    click.echo(f"适用规则：{RULE_TEXT[decision.rule]}")
    if decision.cross_province:
        click.echo("跨省：是，须以报告单报告教育部")
    click.echo("依据：")
    for line in decision.trace:
        click.echo(f"  {line}")
