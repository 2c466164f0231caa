"""Outgoing mail (发件队列): agents' replies and acknowledgements, queued for the mail worker.

Nothing here talks SMTP. A reply is a row of ``outgoing_mail`` written in
the same transaction as the action that asked for it, so a rolled-back
request sends nothing and a committed one is never forgotten; the mail
worker's sender drains the queue (``status``/``next_attempt_at``, with
retries and backoff, issue 6 item 7).

Threading (issue 6 item 4): the subject carries the ticket's number as a tag
(``[学籍工单 2026-000123]``), every message gets our own Message-ID
(``<ticket-2026-000123.N.random@host>``), and In-Reply-To/References point at
the last message of the ticket's thread, so that the complainant's answer
comes back to the same ticket even from clients that drop one of them.
"""

from __future__ import annotations

import datetime
import re
import secrets

from flask import current_app
from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from hotline.db import Base, UTCDateTime
from hotline.tickets.intake import Actor, TicketError, log, now
from hotline.tickets.models import BigId, Complainant, Ticket

KINDS = ("reply", "ack")
STATUSES = ("queued", "sending", "sent", "failed")
MAX_BODY = 10_000
# A References header naming every earlier message grows without bound on a
# long thread; RFC 5322 section 3.6.4 allows dropping the middle ones, and
# the first and the last few are what clients thread on.
MAX_REFERENCES = 10
SUBJECT_TAG = "[学籍工单 {number}]"
FOOTER = ("\n\n——\n学籍技术服务中心\n"
          "如需补充情况，请直接回复本邮件，并保留邮件主题中的工单编号 {tag}。")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class OutgoingMail(Base):
    """One message waiting to be sent, being sent, sent, or given up on."""

    __tablename__ = "outgoing_mail"
    __table_args__ = (
        CheckConstraint(f"kind IN {_in(KINDS)}", name="kind"),
        CheckConstraint(f"status IN {_in(STATUSES)}", name="status"),
        # What the sender asks for on every round: the queued mail that is due.
        Index("ix_outgoing_mail_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    to_addr: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(255))
    references: Mapped[str | None] = mapped_column(Text)
    reply_to: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(8), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime.datetime | None] = mapped_column(UTCDateTime)


def mailbox() -> str:
    """The service mailbox our mail comes from (``XUEJI_MAIL_FROM``)."""
    return current_app.config["XUEJI"].mail_from


def reply_address(ticket_number: str) -> str:
    """The address a reply about ``ticket_number`` should be sent to: the service mailbox.

    The mail worker turns it into the signed per-ticket address
    (plus-addressing with an HMAC of the number, issue 6 item 4) when it
    sends the message, so that the key never leaves the worker.
    """
    return mailbox()


def subject_tag(ticket_number: str) -> str:
    """
    >>> subject_tag("2026-000123")
    '[学籍工单 2026-000123]'
    """
    return SUBJECT_TAG.format(number=ticket_number)


def one_line(text: str, limit: int) -> str:
    """Text safe inside a mail header: no line breaks or other controls, at most ``limit`` characters.

    A ticket's subject is typed by the public; a line break in it would let
    them add headers to our mail (header injection).

    >>> one_line("学籍\\r\\nBcc: x@example.com", 40)
    '学籍 Bcc: x@example.com'
    """
    return re.sub(r"\s+", " ", re.sub(r"[\x00-\x1f\x7f\u2028\u2029]", " ", text)).strip()[:limit]


def new_message_id(ticket_number: str, serial: int, host: str) -> str:
    """Our own Message-ID for the ``serial``-th message of the ticket's thread.

    >>> new_message_id("2026-000123", 2, "moe.edu.cn").startswith("<ticket-2026-000123.2.")
    True
    """
    return f"<ticket-{ticket_number}.{serial}.{secrets.token_hex(8)}@{host}>"


def thread_tail(session: Session, ticket: Ticket) -> tuple[str | None, str | None]:
    """(In-Reply-To, References) for the next message of the ticket's thread.

    The thread is the mail already queued or sent on the ticket, newest last.
    The mail-intake worker records the complainant's own messages; when it
    does, their Message-IDs belong to the thread too, and this is the one
    place that needs to learn about them.
    """
    last = session.execute(
        select(OutgoingMail.message_id, OutgoingMail.references)
        .where(OutgoingMail.ticket_id == ticket.id).order_by(OutgoingMail.id.desc()).limit(1)
    ).first()
    if last is None:
        return None, None
    ids = [*(last.references or "").split(), last.message_id]
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1):]]
    return last.message_id, " ".join(ids)


def queue_reply(
    session: Session, ticket: Ticket, actor: Actor, *, body: str, at: datetime.datetime | None = None
) -> OutgoingMail:
    """Queue an e-mail reply to the ticket's complainant and record it on the timeline.

    Refused (nothing written) when the complainant left no e-mail address,
    or the text is empty or too long.
    """
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise TicketError("请填写答复内容", "body")
    if len(body) > MAX_BODY:
        raise TicketError(f"答复内容不能超过 {MAX_BODY} 字", "body")
    address = session.scalar(select(Complainant.email).where(Complainant.ticket_id == ticket.id))
    if not address:
        raise TicketError("投诉人没有留下电子邮箱，不能通过邮件答复；请通过电话告知", "body")
    at = at or now()
    serial = 1 + session.scalar(select(func.count()).select_from(OutgoingMail)
                                .where(OutgoingMail.ticket_id == ticket.id))
    in_reply_to, references = thread_tail(session, ticket)
    tag = subject_tag(ticket.number)
    mail = OutgoingMail(
        ticket_id=ticket.id,
        kind="reply",
        to_addr=address,
        subject=one_line(f"{tag} 关于“{ticket.subject}”的答复", 255),
        body_text=body + FOOTER.format(tag=tag),
        message_id=new_message_id(ticket.number, serial, mailbox().rpartition("@")[2] or "localhost"),
        in_reply_to=in_reply_to,
        references=references,
        reply_to=reply_address(ticket.number),
        status="queued",
        attempts=0,
        next_attempt_at=at,
        created_at=at,
    )
    session.add(mail)
    # The timeline says that the complainant was answered, not where to.
    log(session, ticket, actor, "replied", f"通过电子邮件答复投诉人（第 {serial} 封邮件）", at=at)
    session.flush()
    return mail
