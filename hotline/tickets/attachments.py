"""Files that come with a ticket, stored once under their SHA-256 in the instance folder."""

from __future__ import annotations

import hashlib
import os
import tempfile
import unicodedata
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.durable import fsync_directory
from hotline.tickets.intake import TicketError, now
from hotline.tickets.models import Attachment, Ticket

MAX_SIZE = 10 * 1024 * 1024  # per file
MAX_COUNT = 20  # per ticket


def attachments_folder(instance_path: Path | str) -> Path:
    """Where ticket attachments are kept: ``attachments/`` in the instance folder
    (the mail worker stores there, the backup copies from there)."""
    return Path(instance_path) / "attachments"


def safe_filename(name: str) -> str:
    """A display name without paths or control characters (the stored file is named by hash).

    >>> safe_filename("../../etc/学籍\\x00表.xlsx")
    '学籍表.xlsx'
    >>> safe_filename("   ")
    '附件'
    """
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    return name[:255] or "附件"


def store_blob(folder: Path, data: bytes) -> str:
    """Write ``data`` durably under its SHA-256 (temp file, fsync, rename); return the digest."""
    digest = hashlib.sha256(data).hexdigest()
    target = folder / digest[:2] / digest
    if target.exists():
        return digest
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    fsync_directory(target.parent)
    return digest


def add_attachment(
    session: Session, ticket: Ticket, folder: Path, *, filename: str, content_type: str, data: bytes
) -> Attachment:
    """Attach a file; refused past the size and count limits, with nothing stored.

    The file is written before the row: a crash in between leaves an
    unreferenced file (harmless, found by its hash) and never a row without
    its file.
    """
    if len(data) > MAX_SIZE:
        raise TicketError(f"附件不能超过 {MAX_SIZE // (1024 * 1024)} MB", "attachments")
    count = session.scalar(
        select(func.count()).select_from(Attachment).where(Attachment.ticket_id == ticket.id)
    )
    if count >= MAX_COUNT:
        raise TicketError(f"每个工单最多 {MAX_COUNT} 个附件", "attachments")
    digest = store_blob(folder, data)
    attachment = Attachment(
        ticket_id=ticket.id,
        filename=safe_filename(filename),
        content_type=(content_type or "application/octet-stream")[:127],
        size=len(data),
        sha256=digest,
        added_at=now(),
    )
    session.add(attachment)
    return attachment
