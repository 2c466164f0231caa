"""Backups: a manifest of the SHA-256 of every file, and checking files against it (issue 7 item 3).

A backup is a folder (see :mod:`hotline.backup_copy` for how it is made)::

    database.dump        pg_dump --format=custom (database.sqlite3 on SQLite)
    mail/                the raw-mail store (new/, cur/, imap/ …; never tmp/)
    attachments/         ticket attachments, stored under their SHA-256
    MANIFEST.sha256      "<sha256>  <path>" for every file above, as sha256sum writes it

``sha256sum -c MANIFEST.sha256`` checks a backup too; ``xueji backup verify``
also checks the files once restored into the service's own folders, and
reports every missing or corrupt file by name: nothing is skipped silently.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.durable import fsync_directory
from hotline.purge_rules import raw_files
from hotline.tickets.inbox import ReceivedMail
from hotline.tickets.models import Attachment

MANIFEST = "MANIFEST.sha256"
_LINE = re.compile(r"([0-9a-f]{64}) [ *](.+)")


class BackupError(Exception):
    """A backup cannot be made or read. The message is one line for the operator, in Chinese."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def safe_relative(text: str) -> str | None:
    """``text`` if it is a plain relative path inside the backup, else None.

    >>> [safe_relative(p) for p in ("mail/cur/1.P1Q0.host", "/etc/passwd", "mail/../../x", "a\\\\b", "")]
    ['mail/cur/1.P1Q0.host', None, None, None, None]
    """
    path = PurePosixPath(text)
    if not text or "\\" in text or path.is_absolute() or ".." in path.parts or "\n" in text:
        return None
    return path.as_posix()


def files_under(root: Path) -> Iterable[tuple[str, Path]]:
    """Every regular file under ``root`` but the manifest, as (relative path, path), sorted."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.relative_to(root).as_posix() != MANIFEST:
            yield path.relative_to(root).as_posix(), path


def write_manifest(root: Path) -> int:
    """Hash every file of the backup into ``root/MANIFEST.sha256`` (written aside, fsynced, renamed)."""
    lines = []
    for relative, path in files_under(root):
        if safe_relative(relative) is None:
            raise BackupError(f"文件名无法写入清单：{relative!r}")
        lines.append(f"{sha256_of(path)}  {relative}\n")
    temporary = root / f".{MANIFEST}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.writelines(lines)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, root / MANIFEST)
    fsync_directory(root)
    return len(lines)


def read_manifest(root: Path) -> dict[str, str]:
    """The manifest of the backup in ``root``: relative path → SHA-256."""
    path = root / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BackupError(f"{path} 不存在：这不是一份完整的备份") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BackupError(f"{path} 无法读取（{type(exc).__name__}）") from None
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = _LINE.fullmatch(line)
        relative = safe_relative(match.group(2)) if match else None
        if relative is None:
            raise BackupError(f"{path}:{number}: 不是 “<SHA-256>  <路径>” 格式的清单行")
        entries[relative] = match.group(1)
    if not entries:
        raise BackupError(f"{path} 是空的：这不是一份完整的备份")
    return entries


@dataclass(frozen=True)
class Problem:
    kind: str  # missing, corrupt, unreadable
    path: str

    KINDS = {"missing": "缺失", "corrupt": "已损坏（SHA-256 不符）", "unreadable": "无法读取"}

    def __str__(self) -> str:
        return f"{self.KINDS[self.kind]}：{self.path}"


@dataclass
class Report:
    checked: int = 0
    skipped: int = 0  # entries with no file to compare here (the database dump, once restored)
    problems: list[Problem] = field(default_factory=list)


def check(entries: Mapping[str, str], locate: Callable[[str], list[Path] | None]) -> Report:
    """Compare every entry with its file; ``locate`` gives where it may be (None: not checked here).

    Every entry ends up checked, skipped by ``locate``, or a problem.
    """
    report = Report()
    for relative, digest in sorted(entries.items()):
        places = locate(relative)
        if places is None:
            report.skipped += 1
            continue
        found = next((place for place in places if place.is_file()), None)
        if found is None:
            report.problems.append(Problem("missing", relative))
            continue
        try:
            actual = sha256_of(found)
        except OSError:
            report.problems.append(Problem("unreadable", relative))
            continue
        if actual != digest:
            report.problems.append(Problem("corrupt", relative))
        else:
            report.checked += 1
    return report


def in_backup(root: Path) -> Callable[[str], list[Path] | None]:
    """Entries as files of the backup folder itself."""
    return lambda relative: [root / relative]


def restored(store: Path, attachments: Path) -> Callable[[str], list[Path] | None]:
    """Entries as files of a service restored from the backup.

    ``mail/…`` is in the raw-mail store: a message in ``new/`` may since have
    been taken up by a worker and moved to ``cur/``. ``attachments/…`` is in
    the attachments folder. The database dump was restored into the database
    and has no file to compare.

    >>> locate = restored(Path("/srv/mail"), Path("/srv/attachments"))
    >>> locate("mail/new/1.P1Q0.host"), locate("attachments/ab/abcd"), locate("database.dump")
    ([PosixPath('/srv/mail/new/1.P1Q0.host'), PosixPath('/srv/mail/cur/1.P1Q0.host')], \
[PosixPath('/srv/attachments/ab/abcd')], None)
    """
    def locate(relative: str) -> list[Path] | None:
        top, _, rest = relative.partition("/")
        if top == "mail" and rest:
            places = [store / rest]
            if rest.startswith("new/"):
                places.append(store / "cur" / rest.removeprefix("new/"))
            return places
        if top == "attachments" and rest:
            return [attachments / rest]
        return None

    return locate


def rows_without_files(session: Session, store: Path, attachments: Path) -> list[Problem]:
    """Rows of the restored database whose file is not in the restored folders.

    Every received message's raw file (in ``new/`` if no worker moved it yet)
    and every attachment's blob. Named by row id, never by anything personal.
    """
    problems = []
    for row_id, raw_path in session.execute(select(ReceivedMail.id, ReceivedMail.raw_path)
                                            .order_by(ReceivedMail.id)):
        if not any(path.is_file() for path in raw_files(store, raw_path)):
            problems.append(Problem("missing", f"received_mail #{row_id} 的原始邮件 {raw_path}"))
    for row_id, digest in session.execute(select(Attachment.id, Attachment.sha256).order_by(Attachment.id)):
        if not (attachments / digest[:2] / digest).is_file():
            problems.append(Problem("missing", f"ticket_attachments #{row_id} 的附件 {digest[:2]}/{digest}"))
    return problems
