"""The ``xueji`` command: Flask's CLI plus the service's own commands.

Each command is a request boundary: it runs one operation in the app
context's session and commits only when the operation returns. A
:class:`~lookup.csvfile.RowError` is the user's fault: it is printed as one
line (file, line, field, reason) and the database is rolled back unchanged.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from hotline import db
from hotline.check import check_command
from hotline.config import ConfigError


def init_app(app: Flask) -> None:
    for command in (serve, init, import_group, demo):
        app.cli.add_command(command)
    from hotline.routing_cli import route_command
    from hotline.tickets.cli import ticket_group

    app.cli.add_command(route_command)
    app.cli.add_command(ticket_group)
    from hotline.calendar_cli import calendar_group

    app.cli.add_command(calendar_group)
    from hotline.console.cli import user_group
    from hotline.console.dashboard_cli import dashboard_group

    app.cli.add_command(user_group)
    app.cli.add_command(dashboard_group)
    from hotline.backup_cli import backup_group
    from hotline.purge_cli import purge_command

    app.cli.add_command(purge_command)
    app.cli.add_command(backup_group)


@contextlib.contextmanager
def progress_bar(path: Path, label: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar over the file's bytes, on a terminal only (never in logs or CI)."""
    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=path.stat().st_size, label=label, file=sys.stderr) as bar:
        yield bar.update


def run_operation(operation: Callable[[], Any]) -> Any:
    """Run one operation; commit if it returns, roll back and exit 1 on a user error."""
    from lookup.csvfile import RowError

    session = db.session()
    try:
        result = operation()
        session.commit()
    except RowError as exc:
        session.rollback()
        raise click.ClickException(f"导入被拒绝，数据库未作任何修改：{exc}") from None
    return result


def migrate_and_seed() -> dict[str, int]:
    from lookup.registry import seed

    db.upgrade(db.engine())
    return run_operation(lambda: seed(db.session()))


@click.command("init")
@with_appcontext
def init() -> None:
    """Create or upgrade the schema and seed the authority tree (idempotent)."""
    counts = migrate_and_seed()
    click.echo(f"数据库已就绪：新增行政区划 {counts['divisions']} 个，"
               f"新增教育行政部门 {counts['units']} 个，调整 {counts['units_changed']} 个。")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def serve(host: str, port: int) -> None:
    """Run the web site on the configured database (development server).

    Production runs under gunicorn instead: see the README.
    """
    if db.current_revision(db.engine()) != db.head_revision():
        raise click.ClickException("数据库尚未初始化或需要升级，请先运行 xueji init")
    run_web(host, port)


def run_web(host: str, port: int) -> None:
    """Werkzeug's server (Flask refuses app.run() inside its own CLI), logging as configured."""
    from werkzeug.serving import WSGIRequestHandler, run_simple

    from hotline import logs

    class RequestHandler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            # hotline.logs writes each request's line, with its path but never
            # its query string (the status API carries a contact in it).
            pass

    logs.configure(current_app.config["XUEJI"])
    run_simple(host, port, current_app._get_current_object(), threaded=True,  # type: ignore[attr-defined]
               request_handler=RequestHandler)


@click.group("import")
def import_group() -> None:
    """Import the registry's CSV exports (one transaction per file)."""


def _import_command(name: str, help_text: str,
                    operation: Callable[..., Any]) -> None:
    @import_group.command(name, help=help_text)
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @with_appcontext
    def command(file: Path) -> None:
        with progress_bar(file, file.name) as progress:
            result = run_operation(lambda: operation(db.session(), file, progress))
        click.echo(result.summary())


def _students(session: Any, file: Path, progress: Any) -> Any:
    from lookup.importers import import_students

    return import_students(session, file, current_app.config["ID_HASH_KEY"], progress=progress)


def _schools(session: Any, file: Path, progress: Any) -> Any:
    from lookup.importers import import_schools

    return import_schools(session, file, progress=progress)


def _units(session: Any, file: Path, progress: Any) -> Any:
    from lookup.registry import import_units

    return import_units(session, file, progress=progress)


def _history(session: Any, file: Path, progress: Any) -> Any:
    from lookup.history import import_history

    return import_history(session, file, progress=progress)


_import_command("units", "CSV code,name,level,parent_code,complaint_phone,complaint_email.", _units)
_import_command("schools", "CSV code,name,division_code,authority_code.", _schools)
_import_command("students", "CSV number,kind,name,id_number,birth_date,gender,school_code,status.",
                _students)
_import_command("history", "CSV old_number,new_number,reason,changed_on.", _history)


@import_group.command("divisions")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--year", type=int, required=True, help="The year the list describes.")
@with_appcontext
def import_divisions(file: Path, year: int) -> None:
    """Reconcile divisions with the Ministry of Civil Affairs' yearly list (CSV code,name)."""
    from lookup.registry import reconcile_divisions

    counts = run_operation(lambda: reconcile_divisions(db.session(), file, year))
    click.echo("行政区划：新增 {added}，更名 {renamed}，撤销 {abolished}，恢复 {restored}；"
               "教育行政部门：新增 {units_added}，调整 {units_changed}".format(**counts))


@click.command("demo")
@click.option("--students", default=100_000, show_default=True, type=click.IntRange(0))
@click.option("--schools", default=3000, show_default=True, type=click.IntRange(1))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--smtp-port", default=None, type=int, help="Mail worker port [XUEJI_SMTP_PORT].")
@click.option("--no-serve", is_flag=True, help="Seed the demo registry and stop.")
@with_appcontext
def demo(students: int, schools: int, host: str, port: int, smtp_port: int | None,
         no_serve: bool) -> None:
    """Seed a synthetic registry, then start the web site and the mail worker on loopback."""
    import subprocess

    from hotline.demo import seed_demo

    seed_demo(students=students, schools=schools)
    if no_serve:
        return
    settings = current_app.config["XUEJI"]
    smtp_port = smtp_port or settings.smtp_port
    # The mail worker is its own process, as in production; started through
    # the command line so that hotline never imports mailintake.
    worker = subprocess.Popen([sys.executable, "-m", "hotline.cli", "mail", "smtp",
                               "--host", host, "--port", str(smtp_port), "--work"])
    click.echo(f"\n学籍服务中心演示已启动：\n  网站      http://{host}:{port}/\n"
               f"  服务邮箱  smtp://{host}:{smtp_port}  收件地址 {', '.join(settings.mail_addresses)}\n"
               f"  试查数据  {Path(current_app.instance_path) / 'demo' / 'students.csv'}"
               "（任选一行的姓名与身份证号，或姓名、出生日期与学校标识码）\n"
               "按 Ctrl+C 停止。")
    try:
        run_web(host, port)
    finally:
        worker.terminate()
        worker.wait(timeout=15)


def _create_app() -> Flask:
    from hotline.app import create_app

    try:
        return create_app()
    except ConfigError as exc:
        # Here too, not only in main(): Flask's CLI prints a traceback for an
        # app that fails to load while it lists the commands (xueji --help).
        click.echo(f"配置错误：{exc}", err=True)
        sys.exit(2)


cli = FlaskGroup(create_app=_create_app, add_version_option=False, load_dotenv=False,
                 help="全国中小学生学籍信息管理系统 技术服务中心 (xueji).")
# On the group itself, not the app: it reports a configuration that cannot build the app.
cli.add_command(check_command)


def main() -> None:
    try:
        cli.main(prog_name="xueji")
    except ConfigError as exc:
        click.echo(f"配置错误：{exc}", err=True)
        sys.exit(2)
    except Exception as exc:
        if not db.unavailable(exc):
            raise
        from hotline.health import error_line

        click.echo(f"数据库无法连接：{error_line(exc)}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
