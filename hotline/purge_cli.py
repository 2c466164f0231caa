"""``xueji purge [--dry-run] [--before DATE]``: remove what the retention rules say must go."""

from __future__ import annotations

import datetime

import click
from flask import current_app
from flask.cli import with_appcontext

from hotline import db
from hotline.config import mail_store_path
from hotline.purge import Done, TooRecent, latest_allowed, plan, purge, today


def _table(done: list[Done], verb: str) -> list[str]:
    """One line per rule: table, the cut-off day, the rows, what they hold.

    >>> _table([Done("lookup_audit", "公众查询记录", datetime.date(2025, 8, 1), 1234)], "删除")
    ['  lookup_audit    2025-08-01 之前      1,234 行删除  公众查询记录']
    """
    return [f"  {item.table:<15} {item.before.isoformat()} 之前 {item.rows:>10,} 行{verb}  {item.text}"
            for item in done]


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would go, per table; change nothing.")
@click.option("--before", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Purge what is older than this day (YYYY-MM-DD) in every table, instead of each "
                   "table's retention; never less than 6 months ago.")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 10_000),
              help="Rows per transaction.")
@with_appcontext
def purge_command(dry_run: bool, before: datetime.datetime | None, batch_size: int) -> None:
    """Remove what the retention rules say must go (audit records are kept at least 6 months)."""
    on = today()
    try:
        planned = plan(current_app.config["XUEJI"], on=on, before=before.date() if before else None)
    except TooRecent as exc:
        raise click.ClickException(
            f"不能清理 {exc.args[0].isoformat()} 之前的记录：审计记录等至少保存 6 个月，"
            f"今天最晚只能指定 --before {latest_allowed(on).isoformat()}。未作任何修改。") from None
    settings = current_app.config["XUEJI"]
    done = purge(db.session(), planned, store=mail_store_path(settings, current_app.instance_path),
                 dry_run=dry_run, batch_size=batch_size)
    if dry_run:
        click.echo("试运行，未作任何修改：")
        click.echo("\n".join(_table(done, "到期")))
    else:
        click.echo("清理完毕：")
        click.echo("\n".join(_table(done, "已清理")))
