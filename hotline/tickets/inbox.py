"""Received mail (收件记录): one row per message the service mailbox took in, and its outcome.

Issue 6 items 6 and 8: every message is kept raw and ends in exactly one
recorded outcome. The mail worker (``mailintake``) writes a row in the same
transaction as what the message caused (a ticket, a reply on a ticket, an
acknowledgement queued), so a crash leaves either all of it or none of it.
This module only declares the table, so that ``hotline.db.load_models`` knows
it without importing the mail worker.

Two unique keys make the worker exactly-once:

- ``(source, source_key)``: where the stored raw message came from (a spool
  file's name, an IMAP mailbox/UIDVALIDITY/UID). A worker that restarts finds
  the row and only finishes moving the file; two workers that take the same
  file at once collide here and the loser rolls back.
- ``(message_id, content_sha256)`` among the rows that count (not
  ``duplicate``, not ``quarantine``): the same message arriving again (an SMTP
  retry, an IMAP re-fetch) becomes a ``duplicate`` row that changes nothing.
  A *different* message reusing a Message-ID has another hash and is not one.
  Without a Message-ID the content hash alone decides.

The database view ``quarantine`` (migration 0008, with the replay columns
since 0010) lists what waits for a person (issue 6 item 8): the quarantined
rows no replay has superseded. The console (hotline.console.mail_quarantine)
shows them and records a replay request on the row; the mail worker
(``mailintake.worker.replay``) stores a copy of the raw message into the
store's ``new/`` and marks the request done, and the copy's own row then
supersedes the quarantined one (``replayed_by``).
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db import Base, UTCDateTime
from hotline.tickets.models import BigId

OUTCOMES = ("ticket", "reply", "duplicate", "auto", "bounce", "loop", "quarantine")
SOURCES = ("spool", "imap")
OUTCOME_TEXT = {
    "ticket": "新建工单",
    "reply": "追加到已有工单",
    "duplicate": "重复投递，已忽略",
    "auto": "自动回复，未建工单",
    "bounce": "退信，未建工单",
    "loop": "本系统发出的邮件回流，未建工单",
    "quarantine": "已隔离，待人工处理",
}
# The rows a later copy of the same message is a duplicate of.
COUNTING = "outcome NOT IN ('duplicate', 'quarantine')"
# A replay asked for in the console that no mail worker has taken up yet.
REPLAY_PENDING = "replay_requested_at IS NOT NULL AND replay_stored_as IS NULL"
# Why mail was quarantined: the word before "：" in ``reason``, as the mail
# pipeline writes it (mailintake.parsing's Refused reasons, and intake's own).
QUARANTINE_REASONS = {
    "empty": "空邮件",
    "too_large": "邮件过大",
    "too_many_lines": "行数过多",
    "header_too_large": "邮件头过大",
    "too_many_headers": "邮件头行数过多",
    "too_many_parts": "MIME 部分过多",
    "too_deep": "MIME 嵌套过深",
    "too_many_attachments": "附件过多",
    "attachment_too_large": "单个附件过大",
    "attachments_too_large": "附件总量过大",
    "unreadable": "无法解析",
    "no_sender": "没有可用的发件人",
    "error": "处理出错",
}


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class ReceivedMail(Base):
    """One message taken in: where its raw bytes are, what it was, and what it caused."""

    __tablename__ = "received_mail"
    __table_args__ = (
        CheckConstraint(f"outcome IN {_in(OUTCOMES)}", name="outcome"),
        CheckConstraint(f"source IN {_in(SOURCES)}", name="source"),
        UniqueConstraint("source", "source_key", name="uq_received_mail_source_key"),
        Index("uq_received_mail_message", "message_id", "content_sha256", unique=True,
              sqlite_where=text(f"message_id IS NOT NULL AND {COUNTING}"),
              postgresql_where=text(f"message_id IS NOT NULL AND {COUNTING}")),
        Index("uq_received_mail_content", "content_sha256", unique=True,
              sqlite_where=text(f"message_id IS NULL AND {COUNTING}"),
              postgresql_where=text(f"message_id IS NULL AND {COUNTING}")),
        # Acknowledgements sent to one sender in the last hour (the rate limit).
        Index("ix_received_mail_sender_hash_processed_at", "sender_hash", "processed_at"),
        Index("ix_received_mail_outcome_processed_at", "outcome", "processed_at"),
        # The mail worker looks for replay requests on every pass: only the pending ones are indexed.
        Index("ix_received_mail_replay_pending", "replay_requested_at",
              sqlite_where=text(REPLAY_PENDING), postgresql_where=text(REPLAY_PENDING)),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(8))
    source_key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the message as its sender sent it (our own SMTP trace
    # headers left out, so that a retried delivery hashes the same).
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    message_id: Mapped[str | None] = mapped_column(String(255), index=True)
    # Where the raw message is kept, relative to the raw-mail store.
    raw_path: Mapped[str] = mapped_column(String(1024))
    size: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(12))
    # Why (classification, quarantine reason, routing remark), in Chinese, for the console.
    reason: Mapped[str | None] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    # The unit responsible for the ticket (or holding it, while in triage).
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"))
    # Keyed hash of the sender's address: the acknowledgement limit counts
    # by it without keeping the address in this table.
    sender_hash: Mapped[str | None] = mapped_column(String(64))
    acked: Mapped[bool] = mapped_column(Boolean, default=False)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("received_mail.id"))
    # A quarantined message replayed after a fix points at the row of its replay.
    replayed_by: Mapped[int | None] = mapped_column(ForeignKey("received_mail.id"))
    # A replay asked for in the console (who, when), and the name in the store's
    # new/ of the copy the mail worker stored for it (set: the request is done;
    # the copy's own row has source "spool" and this name as its source_key).
    replay_requested_at: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)
    replay_requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    replay_stored_as: Mapped[str | None] = mapped_column(String(255))


def waiting_clause() -> ColumnElement[bool]:
    """The rows of the ``quarantine`` view: quarantined, and not superseded by a replay."""
    return and_(ReceivedMail.outcome == "quarantine", ReceivedMail.replayed_by.is_(None))


def replay_pending_clause() -> ColumnElement[bool]:
    """Rows with a replay asked for that no mail worker has taken up yet (as the partial index)."""
    return and_(ReceivedMail.replay_requested_at.is_not(None), ReceivedMail.replay_stored_as.is_(None))


def reason_kind(reason: str | None) -> str:
    """The kind of a quarantine reason (a key of QUARANTINE_REASONS), or "other".

    >>> reason_kind("too_large：邮件大小 30000000 字节，超过上限 26214400 字节")
    'too_large'
    >>> reason_kind("邮件无法解析"), reason_kind(None)
    ('other', 'other')
    """
    kind = (reason or "").partition("：")[0]
    return kind if kind in QUARANTINE_REASONS else "other"


def raw_file(store: Path, raw_path: str) -> Path | None:
    """The raw message's file: ``raw_path`` inside the store, or None if it would lead out of it.

    ``raw_path`` comes from the database, which must not become a way to read
    any file the service can: absolute paths, ``..`` and symbolic links that
    end outside the store are refused (whether the file exists is the caller's
    question).

    >>> raw_file(Path("/nonexistent/mail"), "cur/1764000000.P1Q0.host.ab12")
    PosixPath('/nonexistent/mail/cur/1764000000.P1Q0.host.ab12')
    >>> [raw_file(Path("/nonexistent/mail"), p)
    ...  for p in ("/etc/passwd", "../x", "cur/../../x", "", ".", "a\\x00b")]
    [None, None, None, None, None, None]
    """
    if not raw_path or "\x00" in raw_path or os.path.isabs(raw_path):
        return None
    root = Path(store).resolve()
    path = (root / raw_path).resolve()
    if path == root or not path.is_relative_to(root):
        return None
    return path

