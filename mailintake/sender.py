"""The sender (发信): drains ``outgoing_mail`` through the configured SMTP relay (issue 6 item 7).

One row at a time, in three short steps, each its own transaction:

1. **claim** — one ``UPDATE … WHERE id = (SELECT … LIMIT 1 FOR UPDATE SKIP
   LOCKED) RETURNING …``: the row becomes ``sending``, its ``attempts`` go up
   by one and its ``next_attempt_at`` becomes the end of a lease
   (:data:`LEASE`). On PostgreSQL several senders skip each other's rows; on
   SQLite the statement takes the database's write lock, so senders take
   turns. Committed before any SMTP, so a claimed row is never taken twice.
2. **send** — through one SMTP connection kept for the round (STARTTLS or
   TLS and login as configured: :mod:`mailintake.relay`), without any
   transaction open.
3. **record** — ``sent``; or back to ``queued`` with ``last_error`` and a
   ``next_attempt_at`` after exponential backoff (:func:`backoff`); or
   ``failed`` after a permanent refusal (5xx) or the last of
   :data:`MAX_ATTEMPTS`, noted on the ticket's timeline so that an agent
   phones the complainant instead.

A sender that dies between claim and record leaves its row ``sending``;
when the lease ends the row is due again and is taken up as a new attempt.
The lease is far longer than an SMTP conversation can last (every socket
operation times out after :data:`SMTP_TIMEOUT`), so in the normal path a
message is sent once. The one window left is a crash after the relay's 250
and before the record's commit: that message is sent again when the lease
ends (at least once, never lost), with the same Message-ID, by which the
receiving side can tell the copy.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import smtplib
import threading
from collections import Counter
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import case, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hotline import db
from hotline.tickets.intake import Actor, log, now
from hotline.tickets.models import Ticket
from hotline.tickets.outbox import OutgoingMail, one_line
from mailintake.compose import Queued, Unsendable, compose
from mailintake.config import MailConfig
from mailintake.relay import Relay, RelayError, close, connect

logger = logging.getLogger(__name__)

# Retry schedule: 1, 2, 4 … minutes, at most 2 hours apart; failed after the
# 16th attempt, about 20 hours after the first — a relay down overnight
# still delivers the morning's acknowledgements.
MAX_ATTEMPTS = 16
FIRST_RETRY = datetime.timedelta(minutes=1)
MAX_RETRY = datetime.timedelta(hours=2)
# How long a claimed row is ours; after that a crashed sender's row is due again.
LEASE = datetime.timedelta(minutes=15)
SYSTEM = "邮件发送"
INTERRUPTED = "上次发送中断（发信进程退出），已重新发送"


@dataclass(frozen=True)
class Failure:
    """Why one attempt did not end in the relay's 250."""

    error: str
    permanent: bool = False
    # The connection is unusable (or was never there): the round ends.
    connection: bool = False


def backoff(attempts: int) -> datetime.timedelta:
    """The wait after the ``attempts``-th failed attempt.

    >>> [backoff(n).total_seconds() / 60 for n in (1, 2, 3, 8, 30)]
    [1.0, 2.0, 4.0, 120.0, 120.0]
    """
    return min(FIRST_RETRY * 2 ** min(max(attempts, 1) - 1, 20), MAX_RETRY)


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return one_line(f"{code} {text}", 500)


def failure(error: Exception, relay: Relay) -> Failure:
    """What an exception of smtplib (or of the socket under it) means for the row."""
    if isinstance(error, Unsendable):
        return Failure(str(error), permanent=True)
    if isinstance(error, RelayError):
        # TLS or login: ours to fix at the relay, retried with backoff meanwhile.
        return Failure(str(error), connection=True)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()))
        return Failure(f"发信服务器拒收（{_reply(code, text)}）", permanent=code >= 500)
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return Failure("发信服务器不支持中文邮箱地址（SMTPUTF8）", permanent=True)
    if isinstance(error, (smtplib.SMTPConnectError, smtplib.SMTPHeloError)):
        # A relay that greets us with an error is ours to fix, not the message's fault.
        reply = _reply(error.smtp_code, error.smtp_error)
        return Failure(f"发信服务器 {relay.host}:{relay.port} 拒绝连接（{reply}）", connection=True)
    if isinstance(error, smtplib.SMTPResponseException):
        # RFC 5321 section 4.2.1: 4yz is transient, 5yz permanent; 421 also closes the connection.
        return Failure(f"发信服务器拒收（{_reply(error.smtp_code, error.smtp_error)}）",
                       permanent=error.smtp_code >= 500, connection=error.smtp_code == 421)
    # SMTPServerDisconnected, refused connections, timeouts, DNS: all transient.
    return Failure(f"无法连接发信服务器 {relay.host}:{relay.port}（{type(error).__name__}）", connection=True)


def claim(session: Session, at: datetime.datetime) -> Queued | None:
    """Take the next due row (queued and due, or a crashed sender's after its lease); committed."""
    due = (select(OutgoingMail.id)
           .where(OutgoingMail.status.in_(("queued", "sending")), OutgoingMail.next_attempt_at <= at)
           .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id).limit(1)
           .with_for_update(skip_locked=True))  # rendered on PostgreSQL only
    # A row still "sending" here was a crashed sender's: the new attempt says so.
    note = case((OutgoingMail.status == "sending", INTERRUPTED), else_=OutgoingMail.last_error)
    claimed = session.execute(
        update(OutgoingMail).where(OutgoingMail.id == due.scalar_subquery())
        .values(status="sending", attempts=OutgoingMail.attempts + 1, next_attempt_at=at + LEASE,
                last_error=note)
        .returning(OutgoingMail.id).execution_options(synchronize_session=False)
    ).scalar()
    if claimed is None:
        session.commit()
        return None
    columns = [getattr(OutgoingMail, name) for name in Queued.__dataclass_fields__ if name != "ticket_number"]
    row = session.execute(
        select(Ticket.number.label("ticket_number"), *columns)
        .join(Ticket, Ticket.id == OutgoingMail.ticket_id).where(OutgoingMail.id == claimed)
    ).one()
    session.commit()
    return Queued(**row._asdict())


def record(session: Session, mail: Queued, outcome: Failure | None, at: datetime.datetime) -> str:
    """Write the attempt's outcome (committed); returns "sent", "retry", "failed" or "lost".

    "lost": the lease ran out and another sender took the row over; it is
    theirs to record (this can only happen when a send outlived the lease).
    """
    mine = (OutgoingMail.id == mail.id, OutgoingMail.status == "sending",
            OutgoingMail.attempts == mail.attempts)
    if outcome is None:
        values: dict[str, object] = {"status": "sent", "sent_at": at, "last_error": None}
        result = "sent"
    elif outcome.permanent or mail.attempts >= MAX_ATTEMPTS:
        values = {"status": "failed", "next_attempt_at": at, "last_error": outcome.error}
        result = "failed"
    else:
        values = {"status": "queued", "next_attempt_at": at + backoff(mail.attempts),
                  "last_error": outcome.error}
        result = "retry"
    updated = session.execute(update(OutgoingMail).where(*mine).values(**values)
                              .execution_options(synchronize_session=False)).rowcount
    if not updated:
        session.rollback()
        logger.warning("outgoing mail %s: lease lost to another sender during attempt %s",
                       mail.id, mail.attempts)
        return "lost"
    if result == "failed":
        ticket = session.scalars(select(Ticket).where(Ticket.number == mail.ticket_number)).one()
        what = "受理回执" if mail.kind == "ack" else "答复"
        why = "被拒收" if outcome and outcome.permanent else f"经 {mail.attempts} 次尝试仍未发出"
        log(session, ticket, Actor(SYSTEM, ticket.current_unit_code), "undeliverable",
            f"发给投诉人的{what}邮件{why}，请改用电话联系", at=at)
    session.commit()
    # The address and the relay's words stay in the row; the log says only what happened.
    logger.info("outgoing mail %s: attempt %s %s", mail.id, mail.attempts, result)
    return result


def send_due(session: Session, relay: Relay, config: MailConfig, *, at: datetime.datetime | None = None,
             stop: threading.Event | None = None) -> Counter[str]:
    """Send every due row once (one round); returns the results counted.

    ``at`` fixes the clock for the round (tests); otherwise each row is
    claimed at the current time. The round ends early when the relay cannot
    be reached: the row being tried records the attempt, the rest wait for
    the next round.
    """
    counts: Counter[str] = Counter()
    client: smtplib.SMTP | None = None
    try:
        while stop is None or not stop.is_set():
            moment = at or now()
            mail = claim(session, moment)
            if mail is None:
                break
            outcome: Failure | None = None
            if mail.attempts > MAX_ATTEMPTS:
                # A crashed sender's row that had used its last attempt: not sent again.
                mail = dataclasses.replace(mail, attempts=mail.attempts - 1)
                session.execute(update(OutgoingMail).where(OutgoingMail.id == mail.id)
                                .values(attempts=mail.attempts).execution_options(synchronize_session=False))
                outcome = Failure(INTERRUPTED.removesuffix("，已重新发送"), permanent=True)
            else:
                try:
                    message = compose(mail, mail_from=config.mail_from, reply_key=config.reply_key, at=moment)
                    if client is None:
                        client = connect(relay, config.mail_from.rpartition("@")[2] or None)
                    client.send_message(message, from_addr=config.mail_from, to_addrs=[mail.to_addr.strip()])
                except (Unsendable, RelayError, smtplib.SMTPException, OSError) as error:
                    outcome = failure(error, relay)
                    if isinstance(error, RelayError):
                        # Names only the relay and its reply: the operator's to see and fix.
                        logger.warning("mail relay: %s", error)
            counts[record(session, mail, outcome, moment)] += 1
            if outcome is not None and outcome.connection:
                close(client)
                client = None
                break
    finally:
        close(client)
    return counts


def run(app: Flask, *, stop: threading.Event, interval: float = 5.0, once: bool = False) -> Counter[str]:
    """Send due mail until ``stop`` is set (with ``once``: one round).

    A database that cannot be reached is waited for, with backoff; a relay
    that cannot be reached costs the row being tried one attempt per round.
    """
    total: Counter[str] = Counter()
    with app.app_context():
        config = MailConfig.from_app(app)
        relay = Relay.from_app(app)
        if relay is None:
            raise ValueError("no relay configured (XUEJI_OUTBOUND_SMTP_HOST)")
        session = db.session()
        pause = interval
        while not stop.is_set():
            try:
                total.update(send_due(session, relay, config, stop=stop))
            except Exception as error:
                session.rollback()
                if once:
                    raise
                if isinstance(error, OperationalError):
                    logger.error("mail sender: database unavailable (%s); retrying in %.0f s",
                                 type(error).__name__, pause)
                else:
                    # A bug of ours: the row stays claimed until its lease ends, the sender goes on.
                    logger.exception("mail sender: unexpected error; retrying in %.0f s", pause)
                stop.wait(pause)
                pause = min(pause * 2, 60.0)
                continue
            finally:
                session.close()
            pause = interval
            if once:
                break
            stop.wait(interval)
    return total
