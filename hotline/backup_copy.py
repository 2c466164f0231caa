"""Making a backup: the database first, then the raw-mail store and the attachments, then the manifest.

The order is what makes the copy consistent without stopping the service.
The mail worker writes a message's raw file before its ``received_mail``
row, and an attachment's file before its row, so every row in the dump has
its file in the copy taken after it. A message recorded *after* the dump is
the one case left: its file is in ``cur/`` (or ``imap/``) but the dump has no
row for it, and once restored no worker would ever look at it again. The
backup puts such files into ``new/`` instead, so after a restore the worker
takes them up as it would a message just received (a copy that did arrive
before the dump ends as a ``duplicate``, never as a second ticket).

On PostgreSQL the raw paths are read in the very snapshot that pg_dump dumps
(``pg_export_snapshot`` and ``pg_dump --snapshot``); on SQLite from the copy
made with SQLite's online backup.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import URL, Engine, make_url, text

from hotline.backup import BackupError

# The Maildir's folder of files still being written: never part of a backup.
TMP = "tmp"
NEW = "new"


def postgresql_tool(name: str) -> str:
    """``pg_dump``/``pg_restore`` on PATH, else the newest in Debian's /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0)
    if not candidates:
        raise BackupError(f"找不到 {name}：请安装 postgresql-client（与数据库服务器同一主版本或更新）")
    return candidates[-1]


def libpq_url(url: str) -> tuple[str, dict[str, str]]:
    """The URL as libpq tools take it, and the password apart (for PGPASSWORD, not the command line).

    >>> libpq_url("postgresql+psycopg://xueji:s3cret@db.internal:5432/xueji?sslmode=require")
    ('postgresql://xueji@db.internal:5432/xueji?sslmode=require', {'PGPASSWORD': 's3cret'})
    """
    parsed = make_url(url)
    bare = URL.create("postgresql", parsed.username, None, parsed.host, parsed.port, parsed.database,
                      parsed.query)
    password = {"PGPASSWORD": str(parsed.password)} if parsed.password else {}
    return bare.render_as_string(hide_password=False), password


def dump_database(engine: Engine, target: Path) -> tuple[str, set[str]]:
    """Write the database into ``target``; return the file's name and the raw paths it records."""
    if engine.dialect.name == "postgresql":
        return _dump_postgresql(engine, target)
    return _dump_sqlite(engine, target)


def _dump_postgresql(engine: Engine, target: Path) -> tuple[str, set[str]]:
    url, password = libpq_url(engine.url.render_as_string(hide_password=False))
    name = "database.dump"
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
        # The snapshot is the transaction's, taken at its first statement: the
        # raw paths read next and pg_dump's whole dump see the same data.
        snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        raw_paths = set(connection.execute(text("SELECT raw_path FROM received_mail")).scalars())
        result = subprocess.run(
            [postgresql_tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}", "--no-password",
             f"--file={target / name}", url],
            env={**os.environ, **password}, capture_output=True, text=True)
        connection.rollback()
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["未知错误"])[0]
        raise BackupError(f"pg_dump 失败：{reason}")
    return name, raw_paths


def _dump_sqlite(engine: Engine, target: Path) -> tuple[str, set[str]]:
    name = "database.sqlite3"
    source = engine.url.database
    if not source or source == ":memory:":
        raise BackupError("内存数据库无法备份")
    origin, copy = sqlite3.connect(source), sqlite3.connect(target / name)
    try:
        # SQLite's online backup: a consistent copy while the service keeps writing.
        origin.backup(copy)
        raw_paths = {row[0] for row in copy.execute("SELECT raw_path FROM received_mail")}
    finally:
        origin.close()
        copy.close()
    return name, raw_paths


@dataclass
class Copied:
    files: int = 0
    requeued: int = 0  # recorded after the dump: put into new/ to be taken up again after a restore


def copy_store(store: Path, target: Path, recorded: set[str]) -> Copied:
    """Copy the raw-mail store into ``target`` (see the module's docstring for ``new/``).

    ``new/`` is copied first: a file a worker moves to ``cur/`` meanwhile is
    then found there, whereas the other order could miss it.
    """
    copied = Copied()
    folders = [store / NEW] + sorted(p for p in store.iterdir() if p.is_dir() and p.name not in (TMP, NEW)) \
        if store.is_dir() else []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if not path.is_file():
                continue
            relative = path.relative_to(store).as_posix()
            if folder.name == NEW or relative in recorded:
                destination = target / relative
            else:
                destination = target / NEW / path.name
                copied.requeued += 1
            if _copy(path, destination):
                copied.files += 1
    return copied


def copy_tree(source: Path, target: Path) -> int:
    """Copy every file under ``source`` (but half-written ``.tmp-`` ones) into ``target``."""
    count = 0
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.is_file() and not path.name.startswith(".tmp-"):
                count += _copy(path, target / path.relative_to(source))
    return count


def _copy(path: Path, destination: Path) -> bool:
    """Copy one file; False if it went away meanwhile (a worker moved it, a purge removed it)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copy2(path, destination)
    except FileNotFoundError:
        return False
    return True
