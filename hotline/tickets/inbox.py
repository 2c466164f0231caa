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

The database view ``quarantine`` (migration 0008) lists what waits for a
person (issue 6 item 8): the quarantined rows no replay has superseded.
"""

from __future__ import annotations

import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
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

