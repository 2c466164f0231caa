"""``xueji backup create DIR`` and ``xueji backup verify DIR [--restored]``."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from hotline import db
from hotline.backup import BackupError, Report, check, in_backup, read_manifest, restored, rows_without_files
from hotline.backup import write_manifest as write_manifest_file
from hotline.backup_copy import copy_store, copy_tree, dump_database
from hotline.config import mail_store_path
from hotline.tickets.attachments import attachments_folder


def _folders() -> tuple[Path, Path]:
    """The raw-mail store and the attachments folder of this service."""
    instance = Path(current_app.instance_path)
    # Attachments are kept in the instance folder, as the mail worker keeps them (mailintake.config).
    return mail_store_path(current_app.config["XUEJI"], instance), attachments_folder(instance)


@click.group("backup")
def backup_group() -> None:
    """Back up the database, the raw-mail store and the attachments, and check a backup."""


@backup_group.command("create")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def create(directory: Path) -> None:
    """Back up into DIRECTORY (new or empty): database, raw mail, attachments, SHA-256 manifest."""
    if directory.exists() and any(directory.iterdir()):
        raise click.ClickException(f"{directory} 不是空目录，请指定一个新的备份目录")
    # The backup holds personal data: only the service's user may read it.
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    store, attachments = _folders()
    try:
        database, recorded = dump_database(db.engine(), directory)
        mail = copy_store(store, directory / "mail", recorded)
        blobs = copy_tree(attachments, directory / "attachments")
        os.sync()  # every copied file on disk before the manifest vouches for it
        files = write_manifest_file(directory)
    except BackupError as exc:
        raise click.ClickException(f"备份失败：{exc}") from None
    later = f"（其中 {mail.requeued} 封在数据库备份之后才处理完，恢复后将重新处理）" if mail.requeued else ""
    click.echo(f"备份完成：{directory}\n  数据库    {database}\n  原始邮件  {mail.files} 封{later}\n"
               f"  附件      {blobs} 个\n  清单      MANIFEST.sha256，共 {files} 个文件")


def _print(report: Report, what: str) -> None:
    for problem in report.problems:
        click.echo(str(problem))
    click.echo(f"{what}：{report.checked} 个文件完好，{len(report.problems)} 个有问题"
               + (f"，{report.skipped} 个不在此核对（数据库备份已恢复进数据库）" if report.skipped else ""))


@backup_group.command("verify")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--restored", "restored_service", is_flag=True,
              help="Check this service's raw-mail store, attachments and database, restored from "
                   "DIRECTORY, instead of the files in DIRECTORY.")
@with_appcontext
def verify(directory: Path, restored_service: bool) -> None:
    """Check files against DIRECTORY's manifest; every missing or corrupt one is named (exit status 1)."""
    try:
        entries = read_manifest(directory)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    if not restored_service:
        report = check(entries, in_backup(directory))
        _print(report, f"备份 {directory}")
    else:
        store, attachments = _folders()
        report = check(entries, restored(store, attachments))
        report.problems.extend(rows_without_files(db.session(), store, attachments))
        _print(report, f"恢复后的原始邮件库 {store} 与附件 {attachments}")
    if report.problems:
        raise SystemExit(1)
