"""Backup and restore: what ``xueji backup create`` saved comes back whole, and damage is named.

The service takes mail in (tickets, an auto-reply, an attachment) through
``xueji mail ingest``; a backup is made while one more message sits in
``cur/`` with no row yet (as if recorded after the dump). The backup is
restored as the README says — pg_restore into a new PostgreSQL database (a
file copy on SQLite), the raw-mail store and the attachments copied back —
and the restored service has the same tickets and received mail, takes the
late message up again, and verifies clean; a corrupted and a deleted raw
file are then both named, with exit status 1.
"""

from __future__ import annotations

import email.utils
import hashlib
import shutil
import subprocess
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import db
from hotline.backup import MANIFEST
from hotline.backup_copy import libpq_url, postgresql_tool
from hotline.tickets.inbox import ReceivedMail
from hotline.tickets.models import Attachment, Ticket
from tests.deploy.conftest import new_database, service_environ
from tests.hotline.test_cli import XUEJI
from tests.mailintake.conftest import message


def xueji(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([XUEJI, *args], env=environ, capture_output=True, text=True, timeout=300)


def with_attachment() -> bytes:
    mail = EmailMessage()
    mail["From"] = "家长 <father@qq.com>"
    mail["To"] = "66119801@moe.edu.cn"
    mail["Subject"] = "学籍证明材料"
    mail["Message-ID"] = email.utils.make_msgid(domain="qq.com")
    mail.set_content("附上孩子的转学证明，请查收。")
    mail.add_attachment(b"%PDF-1.4 transfer certificate", maintype="application", subtype="pdf",
                        filename="转学证明.pdf")
    return mail.as_bytes(policy=SMTP)


def snapshot(url: str) -> dict[str, set]:
    """What must survive a restore: tickets, received mail, attachments."""
    engine = db.make_engine(url)
    with Session(engine) as session:
        found = {
            "tickets": set(session.execute(select(Ticket.number, Ticket.subject, Ticket.step))),
            "received_mail": set(session.execute(
                select(ReceivedMail.source_key, ReceivedMail.outcome, ReceivedMail.raw_path,
                       ReceivedMail.content_sha256))),
            "attachments": set(session.execute(select(Attachment.filename, Attachment.sha256))),
        }
    engine.dispose()
    return found


def restore_database(backup: Path, url: str) -> None:
    """The README's restore of the database: pg_restore into a new, empty database (or the file back)."""
    if url.startswith("postgresql"):
        target, password = libpq_url(url)
        result = subprocess.run([postgresql_tool("pg_restore"), "--no-owner", "--exit-on-error",
                                 f"--dbname={target}", str(backup / "database.dump")],
                                capture_output=True, text=True, env=password or None)
        assert result.returncode == 0, result.stderr
    else:
        shutil.copyfile(backup / "database.sqlite3", url.removeprefix("sqlite:///"))


def test_a_backup_restores_into_a_new_database_whole_and_damage_is_reported(backend, own_database, tmp_path):
    instance = tmp_path / "instance"
    environ = service_environ(own_database, instance)
    letters = tmp_path / "letters"
    letters.mkdir()
    for name, raw in {
        "complaint.eml": message("孩子在学校 2113000001 读书，学籍号查不到。", sender="刘女士 <liu@qq.com>"),
        "auto.eml": message("我正在休假", subject="自动回复：学籍问题", Auto_Submitted="auto-replied"),
        "attachment.eml": with_attachment(),
    }.items():
        (letters / name).write_bytes(raw)
    ingested = xueji(environ, "mail", "ingest", *sorted(map(str, letters.iterdir())))
    assert ingested.returncode == 0, ingested.stderr
    # A message recorded after the dump: its file is in cur/ but the backup's database has no row.
    late = message("补充：孩子已转学。", sender="王先生 <wang@qq.com>")
    late_name = f"1764000000000000000.P9Q9.mx.{hashlib.sha256(late).hexdigest()[:16]}"
    (instance / "mail" / "cur" / late_name).write_bytes(late)
    before = snapshot(own_database)
    assert len(before["tickets"]) == 2 and len(before["attachments"]) == 1

    backup = tmp_path / "backup"
    created = xueji(environ, "backup", "create", str(backup))
    assert created.returncode == 0, created.stderr
    assert "其中 1 封在数据库备份之后才处理完" in created.stdout
    assert (backup / "mail" / "new" / late_name).read_bytes() == late
    assert subprocess.run(["sha256sum", "--check", "--quiet", MANIFEST], cwd=backup).returncode == 0
    assert xueji(environ, "backup", "verify", str(backup)).returncode == 0

    # Restore onto a new machine: a new database, new folders, the same keys.
    restored_instance = tmp_path / "restored"
    databases = new_database(backend, tmp_path / "restored-db")
    (tmp_path / "restored-db").mkdir()
    restored_url = next(databases)
    try:
        restore_database(backup, restored_url)
        restored_instance.mkdir()
        shutil.copytree(backup / "mail", restored_instance / "mail")
        shutil.copytree(backup / "attachments", restored_instance / "attachments")
        restored = service_environ(restored_url, restored_instance)

        assert snapshot(restored_url) == before
        verified = xueji(restored, "backup", "verify", str(backup), "--restored")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        # The worker takes the late message up: it is not lost with the database's last minutes.
        worked = xueji(restored, "mail", "work", "--once", "--no-send")
        assert worked.returncode == 0, worked.stderr
        after = snapshot(restored_url)
        assert after["tickets"] > before["tickets"] and len(after["tickets"]) == 3
        assert xueji(restored, "backup", "verify", str(backup), "--restored").returncode == 0

        # Damage to the restored store: every bad file is named, none skipped.
        complaint = next(path for _, outcome, path, _ in before["received_mail"] if outcome == "ticket")
        auto = next(path for _, outcome, path, _ in before["received_mail"] if outcome == "auto")
        corrupt = restored_instance / "mail" / complaint
        damaged_bytes = bytearray(corrupt.read_bytes())
        damaged_bytes[len(damaged_bytes) // 2] ^= 0x01  # one bit, as a failing disk would
        corrupt.write_bytes(bytes(damaged_bytes))
        (restored_instance / "mail" / auto).unlink()
        damaged = xueji(restored, "backup", "verify", str(backup), "--restored")
        assert damaged.returncode == 1
        lines = damaged.stdout.splitlines()
        assert f"已损坏（SHA-256 不符）：mail/{complaint}" in lines
        assert f"缺失：mail/{auto}" in lines
        assert any(line.startswith("缺失：received_mail #") and line.endswith(auto) for line in lines)
        assert "，3 个有问题" in damaged.stdout
    finally:
        next(databases, None)

    # Damage to the backup itself is found before anyone restores from it.
    blob = next(path for path in (backup / "attachments").rglob("*") if path.is_file())
    blob.write_bytes(b"not the certificate")
    broken = xueji(environ, "backup", "verify", str(backup))
    assert broken.returncode == 1
    assert f"已损坏（SHA-256 不符）：{blob.relative_to(backup).as_posix()}" in broken.stdout.splitlines()


def idle_environ(tmp_path: Path) -> dict[str, str]:
    """A service whose database is never opened: these refusals come before any."""
    return service_environ(f"sqlite:///{tmp_path / 'unused.sqlite3'}", tmp_path / "instance")


def test_a_backup_goes_only_into_a_new_or_empty_folder(tmp_path):
    environ = idle_environ(tmp_path)
    folder = tmp_path / "used"
    folder.mkdir()
    (folder / "old.dump").write_bytes(b"an older backup")
    refused = xueji(environ, "backup", "create", str(folder))
    assert refused.returncode == 1
    assert "不是空目录" in refused.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["old.dump"]


@pytest.mark.parametrize("manifest, message", [
    (None, "MANIFEST.sha256 不存在"),
    ("", "是空的"),
    ("not a manifest line\n", ":1: 不是"),
    ("0" * 64 + "  ../../etc/passwd\n", ":1: 不是"),
])
def test_a_backup_without_a_readable_manifest_is_refused(tmp_path, manifest, message):
    environ = idle_environ(tmp_path)
    folder = tmp_path / "backup"
    folder.mkdir()
    if manifest is not None:
        (folder / MANIFEST).write_text(manifest)
    result = xueji(environ, "backup", "verify", str(folder))
    assert result.returncode == 1
    assert message in result.stderr
