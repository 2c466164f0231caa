"""The one pipeline: a stored raw message → exactly one recorded outcome (issue 6 items 1, 5, 6, 8).

Every entrance (the SMTP receiver's spool, ``xueji mail ingest``, the IMAP
poller) first stores the raw bytes durably, then calls :func:`deliver` with
them and a key that names where they came from (``source``/``source_key``).
:func:`process` decides, in one transaction:

    already recorded (same source and key)  → the recorded outcome, nothing new
    not parseable / over a limit            → quarantine (kept raw, with the reason)
    same Message-ID and same content seen   → duplicate
    our loop header or our own address      → loop
    delivery status notification            → bounce (a permanent one of our
                                              mail is noted on its ticket)
    auto-reply, list or bulk mail           → auto
    a reply to a ticket (headers, signed
      address, or tag from the complainant) → reply (reopened within the window)
    anything else                           → ticket, routed, acknowledged

and writes one ``received_mail`` row with whatever the message caused. The
caller commits (:func:`deliver` does), and only then marks the raw message
done (moves the spool file, flags the IMAP message). A crash before the
commit leaves nothing; after it, the row makes the next attempt a no-op.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from hotline import routing
from hotline.tickets.contacts import ContactError, normalize_email
from hotline.tickets.inbox import ReceivedMail
from hotline.tickets.intake import now
from hotline.tickets.models import Ticket
from mailintake import ack
from mailintake import threading as thread
from mailintake.classify import bounce_info, classify
from mailintake.config import MailConfig
from mailintake.parsing import Parsed, Refused, parse
from mailintake.redact import redact
from mailintake.tickets import open_ticket

log = logging.getLogger(__name__)

# The trace mailintake.smtp puts on top of what it stores: Return-Path, then
# our Received line naming the envelope recipient. Left out of the content
# hash, so that a retried delivery (new trace, same message) is a duplicate.
_OUR_TRACE = re.compile(rb"\AReturn-Path: <[^\r\n]*>\r\nReceived: from [^\r\n]*\r\n"
                        rb"\tby [^\r\n]* with E?SMTP for <([^<>\r\n]*)>; [^\r\n]*\r\n")
RETRIES = 5
# Built once: making a statement and its cache key costs more than running
# it, and every message runs this one (see _earlier).
_EARLIER = select(ReceivedMail).where(or_(
    and_(ReceivedMail.source == bindparam("source"), ReceivedMail.source_key == bindparam("key")),
    and_(ReceivedMail.content_sha256 == bindparam("content"), ReceivedMail.outcome != "duplicate",
         or_(ReceivedMail.outcome != "quarantine", ReceivedMail.replayed_by.is_(None)))))


@dataclass(frozen=True)
class Outcome:
    """What became of one message, as ``xueji mail ingest --json`` prints it."""

    outcome: str  # ticket, reply, duplicate, auto, bounce, loop, quarantine
    ticket: str | None  # the ticket's number
    unit: str | None  # the responsible unit's code (the holding unit while in triage)
    reason: str | None
    record_id: int
    already: bool = False  # recorded by an earlier attempt; nothing was done now


def sent_content(raw: bytes) -> tuple[bytes, str | None]:
    """The message as its sender sent it, and the envelope recipient, without our SMTP trace.

    >>> sent_content(b"Return-Path: <a@b>\\r\\nReceived: from x ([1.2.3.4])\\r\\n"
    ...              b"\\tby xueji with ESMTP for <m@moe.edu.cn>; now\\r\\nSubject: s\\r\\n\\r\\nbody")
    (b'Subject: s\\r\\n\\r\\nbody', 'm@moe.edu.cn')
    """
    match = _OUR_TRACE.match(raw[:4096])
    if match is None:
        return raw, None
    return raw[match.end():], match.group(1).decode("ascii", "replace")


def _outcome(session: Session, row: ReceivedMail, *, already: bool = False) -> Outcome:
    number = None
    if row.ticket_id is not None:
        number = session.scalar(select(Ticket.number).where(Ticket.id == row.ticket_id))
    return Outcome(row.outcome, number, row.unit_code, row.reason, row.id, already)


def _unit(ticket: Ticket) -> str:
    """The unit a message's outcome names: responsible, or holding the ticket while in triage."""
    return ticket.responsible_unit_code or ticket.current_unit_code


def _contact(parsed: Parsed) -> str | None:
    """The address the complainant is answered at: From, else Reply-To, else the envelope sender."""
    for candidate in (parsed.from_addr, parsed.reply_to, parsed.return_path):
        try:
            address = normalize_email(candidate)
        except ContactError:
            continue
        if address and len(address) <= 254:
            return address
    return None


def _row(raw: bytes, content: bytes, *, source: str, source_key: str, raw_path: str,
         received_at: datetime.datetime | None, at: datetime.datetime) -> ReceivedMail:
    return ReceivedMail(source=source, source_key=source_key,
                        content_sha256=hashlib.sha256(content).hexdigest(), raw_path=raw_path, size=len(raw),
                        received_at=received_at or at, processed_at=at, acked=False)


def _usable_id(message_id: str | None) -> str | None:
    return message_id if message_id and len(message_id) <= 255 else None


def process(session: Session, raw: bytes, *, source: str, source_key: str, settings: MailConfig,
            raw_path: str, received_at: datetime.datetime | None = None) -> Outcome:
    """Record ``raw``'s outcome and everything it causes; flushed, not committed.

    Raises :class:`IntegrityError` when another worker recorded this message
    (or another copy of it) first: roll back and call again (see :func:`deliver`).
    """
    content, envelope_to = sent_content(raw)
    at = now()
    row = _row(raw, content, source=source, source_key=source_key, raw_path=raw_path, received_at=received_at,
               at=at)
    earlier = _earlier(session, row)
    existing = next((r for r in earlier if (r.source, r.source_key) == (source, source_key)), None)
    if existing is not None:
        return _outcome(session, existing, already=True)
    parsed = parse(raw, limits=settings.limits)
    replays = [r for r in earlier if r.outcome == "quarantine" and r.replayed_by is None]
    if isinstance(parsed, Refused):
        return _record(session, row, "quarantine", f"{parsed.reason}：{parsed.message}", replays)
    row.message_id = _usable_id(parsed.message_id)
    original = _original(earlier, row)
    if original is not None:
        row.duplicate_of, row.ticket_id, row.unit_code = original.id, original.ticket_id, original.unit_code
        return _record(session, row, "duplicate", f"与第 {original.id} 号收件记录是同一封邮件", replays)
    kind = classify(parsed, our_loop_header=settings.loop_header, our_addresses=settings.our_addresses)
    if kind.name != "normal":
        row = _claim(session, row, kind.name, kind.reason)
        if kind.name == "bounce":
            ticket, remark = ack.record_bounce(session, bounce_info(parsed), at=at)
            row.reason = f"{kind.reason}；{remark}"
            if ticket is not None:
                row.ticket_id, row.unit_code = ticket.id, _unit(ticket)
            return _done(session, row, replays, ticket)
        return _done(session, row, replays)
    contact = _contact(parsed)
    if contact is None:
        return _record(session, row, "quarantine", "no_sender：邮件没有可用的发件人地址，无法建立工单和答复",
                       replays)
    row.sender_hash = settings.hash_contact(contact)
    # The claim: written before the work, so that a concurrent copy of this
    # message waits here (PostgreSQL) and then fails cleanly, not after.
    row = _claim(session, row, "ticket", None)
    match = thread.find(session, parsed, settings, sender_hash=row.sender_hash,
                        envelope=[envelope_to] if envelope_to else [])
    link: tuple[str, ...] = ()
    if match.ticket is not None:
        joined, link = thread.join(session, match, parsed, settings, at=at)
        if joined is not None:
            row.outcome, row.ticket_id, row.unit_code = "reply", joined.id, _unit(joined)
            return _done(session, row, replays, joined)
    ticket, remarks = open_ticket(session, parsed, settings, contact=contact,
                                  received_at=row.received_at, notes=(*match.notes, *link))
    if match.ticket is not None:
        thread.link_back(session, match.ticket, ticket, at=at)
    mail, remark = ack.queue_ack(session, ticket, parsed, settings, to_addr=contact,
                                 sender_hash=row.sender_hash, at=at)
    row.acked = mail is not None
    row.ticket_id, row.unit_code = ticket.id, _unit(ticket)
    row.reason = "；".join(r for r in (*remarks, remark) if r) or None
    return _done(session, row, replays, ticket)


def _earlier(session: Session, row: ReceivedMail) -> list[ReceivedMail]:
    """In one query, the rows a new message is checked against: its own (same source and key:
    recorded by an earlier attempt), and the other copies of its content that still count
    (an original it may duplicate, a quarantined copy that it replays).

    Later duplicates are left out: there may be any number of them, and they decide nothing.
    """
    return list(session.scalars(_EARLIER, {"source": row.source, "key": row.source_key,
                                           "content": row.content_sha256}))


def _original(earlier: list[ReceivedMail], row: ReceivedMail) -> ReceivedMail | None:
    """An earlier copy of the same message that counted (not a duplicate or quarantined)."""
    return next((r for r in earlier if r.content_sha256 == row.content_sha256
                 and r.outcome not in ("duplicate", "quarantine") and r.message_id == row.message_id), None)


def _claim(session: Session, row: ReceivedMail, outcome: str, reason: str | None) -> ReceivedMail:
    row.outcome, row.reason = outcome, reason
    session.add(row)
    session.flush()
    return row


def _record(session: Session, row: ReceivedMail, outcome: str, reason: str,
            replays: Sequence[ReceivedMail] = ()) -> Outcome:
    return _done(session, _claim(session, row, outcome, reason), replays)


def _done(session: Session, row: ReceivedMail, replays: Sequence[ReceivedMail],
          ticket: Ticket | None = None) -> Outcome:
    if row.reason:
        # Reasons quote subjects and addresses; never an ID number in clear.
        row.reason = redact(row.reason)
    # A quarantined copy of this content (found by _earlier) has now been
    # replayed: it leaves the quarantine view. A replay that turns out to be a
    # duplicate counts too: the content has its outcome, on the original.
    for quarantined in replays:
        quarantined.replayed_by = row.id
    session.flush()
    if ticket is not None:
        return Outcome(row.outcome, ticket.number, row.unit_code, row.reason, row.id)
    return _outcome(session, row)


def deliver(session: Session, raw: bytes, *, source: str, source_key: str, settings: MailConfig,
            raw_path: str, received_at: datetime.datetime | None = None) -> Outcome:
    """:func:`process` and commit: the boundary every entrance calls.

    A lost race (another worker recorded the message first) is rolled back
    and looked at again. A bug of ours in processing one message quarantines
    it, in a fresh transaction, rather than stopping the worker on it for
    ever. A database that is unreachable or busy raises
    :class:`OperationalError` after a few tries: the raw message stays where
    it is and is taken up again later.
    """
    for attempt in range(RETRIES):
        try:
            with routing.cached_tree(session, settings.tree):
                outcome = process(session, raw, source=source, source_key=source_key, settings=settings,
                                  raw_path=raw_path, received_at=received_at)
            session.commit()
            # Only the key, the outcome and the ticket: nothing the sender wrote.
            log.info("mail %s/%s: %s%s %s", source, source_key,
                     "already recorded as " if outcome.already else "", outcome.outcome, outcome.ticket or "")
            return outcome
        except IntegrityError:
            session.rollback()
            if attempt >= 2:
                log.error("mail %s/%s: integrity error on every attempt", source, source_key)
                break
        except OperationalError:
            session.rollback()
            if attempt == RETRIES - 1:
                raise
            time.sleep(0.05 * 2 ** attempt)  # SQLite "database is locked", a server failover
        except Exception as error:  # one message must not stop the worker
            session.rollback()
            # Only the type: the text of a database error can quote the mail.
            log.error("mail %s/%s quarantined: %s while processing", source, source_key, type(error).__name__)
            reason = f"error：处理时出错（{type(error).__name__}），已隔离待人工处理"
            return _quarantine(session, raw, source=source, source_key=source_key, raw_path=raw_path,
                               received_at=received_at, reason=reason)
    return _quarantine(session, raw, source=source, source_key=source_key, raw_path=raw_path,
                       received_at=received_at, reason="error：无法写入收件记录，已隔离待人工处理")


def _quarantine(session: Session, raw: bytes, *, source: str, source_key: str, raw_path: str,
                received_at: datetime.datetime | None, reason: str) -> Outcome:
    existing = session.scalar(select(ReceivedMail).where(ReceivedMail.source == source,
                                                         ReceivedMail.source_key == source_key))
    if existing is not None:
        return _outcome(session, existing, already=True)
    row = _row(raw, sent_content(raw)[0], source=source, source_key=source_key, raw_path=raw_path,
               received_at=received_at, at=now())
    row.outcome, row.reason = "quarantine", reason
    session.add(row)
    session.commit()
    return _outcome(session, row)
