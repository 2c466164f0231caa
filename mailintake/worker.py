"""The spool's side of the pipeline: draining ``new/`` and ingesting files (issue 6 items 1 and 6).

The SMTP receiver hands off by storing each message into the raw-mail
store's ``new/`` (fsynced before its 250). A worker takes each file there,
calls :func:`mailintake.intake.deliver` with the file's name as the key, and
moves the file to ``cur/`` only after the commit. ``xueji mail ingest`` does
the same for an .eml file, after copying it into the store, so a replayed
file is kept raw like any other.

Exactly once, whatever happens:

- killed before the commit: nothing was recorded, the file is still in
  ``new/`` and is processed again from the start;
- killed after the commit, before the move: the next pass finds the file's
  row (same source and key) and only moves it;
- several workers at once (several processes, several machines sharing the
  store): each starts at a random place in ``new/``; two that take the same
  file collide on the unique key ``(source, source_key)`` of
  ``received_mail`` — on PostgreSQL the second waits for the first's commit,
  then rolls back cleanly and only moves the file. No lock of our own.

Each pass first takes up the replays asked for in the console (issue 6
item 8, :func:`replay`): a copy of the quarantined raw message is stored
into ``new/`` (fsynced) *before* the request is marked done, so a crash
in between leaves the request pending and the next pass stores a second
copy; the pipeline records that one as a ``duplicate`` of the first (or, if
the first was quarantined again, lets it supersede it). The other order
could mark a request done whose copy never reached the disk.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hotline import db
from hotline.tickets.inbox import ReceivedMail, raw_file, replay_pending_clause
from hotline.tickets.intake import now
from mailintake.config import MailConfig
from mailintake.intake import Outcome, deliver
from mailintake.spool import Spool

log = logging.getLogger(__name__)
SOURCE = "spool"
# `xueji mail ingest` stores this many files (or this many bytes) at once,
# with one directory fsync for the batch (see ingest_many).
INGEST_BATCH = 100
INGEST_BATCH_BYTES = 32 * 1024 * 1024


def received_time(name: str) -> datetime.datetime | None:
    """When the store took the message, from its Maildir name ("seconds.Mmicroseconds…";
    stores written before that began with nanoseconds).

    >>> received_time("1764000000.M000250P1Q0.host.abc").isoformat()
    '2025-11-24T16:00:00.000250+00:00'
    >>> received_time("1764000000000000000.P1Q0.host.abc").isoformat()
    '2025-11-24T16:00:00+00:00'
    >>> received_time("odd-name") is None
    True
    """
    head, _, rest = name.partition(".")
    if not head.isdigit():
        return None
    if len(head) > 12:  # nanoseconds
        return datetime.datetime.fromtimestamp(int(head) / 1e9, datetime.UTC)
    micro = rest[1:7] if rest.startswith("M") else ""
    moment = datetime.datetime.fromtimestamp(int(head), datetime.UTC)
    return moment.replace(microsecond=int(micro)) if micro.isdigit() else moment


def finish(spool: Spool, name: str) -> None:
    """Move a recorded message from ``new/`` to ``cur/`` (already moved: nothing to do)."""
    # Gone already: another worker recorded and moved it.
    with contextlib.suppress(FileNotFoundError):
        os.rename(spool.root / "new" / name, spool.root / "cur" / name)


def take(session: Session, spool: Spool, path: Path, config: MailConfig) -> Outcome | None:
    """Process one file of ``new/``; None when another worker moved it first."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    outcome = deliver(session, raw, source=SOURCE, source_key=path.name, settings=config,
                      raw_path=f"cur/{path.name}", received_at=received_time(path.name))
    finish(spool, path.name)
    return outcome


def _claim_replay(session: Session) -> tuple[int, str, bool] | None:
    """The oldest pending replay request, locked until the commit: (row id, raw_path, still waiting).

    A write first, as in mailintake.sender.claim: on SQLite it takes the
    database's write lock before anything is read, on PostgreSQL the row
    lock with SKIP LOCKED, so two workers never take the same request at once.
    """
    oldest = (select(ReceivedMail.id).where(replay_pending_clause())
              .order_by(ReceivedMail.replay_requested_at, ReceivedMail.id).limit(1)
              .with_for_update(skip_locked=True))  # rendered on PostgreSQL only
    claimed = session.execute(
        update(ReceivedMail).where(ReceivedMail.id == oldest.scalar_subquery())
        .values(replay_requested_at=ReceivedMail.replay_requested_at)
        .returning(ReceivedMail.id, ReceivedMail.raw_path, ReceivedMail.outcome, ReceivedMail.replayed_by)
        .execution_options(synchronize_session=False)).first()
    if claimed is None:
        return None
    row_id, raw_path, outcome, replayed_by = claimed
    return row_id, raw_path, outcome == "quarantine" and replayed_by is None


def _settle(session: Session, row_id: int, **values: object) -> None:
    session.execute(update(ReceivedMail).where(ReceivedMail.id == row_id, replay_pending_clause())
                    .values(**values).execution_options(synchronize_session=False))
    session.commit()


def replay(session: Session, spool: Spool) -> int:
    """Store a copy of every quarantined message whose replay was asked for; returns how many.

    The copy lands in ``new/`` and the same pass of :func:`drain` takes it
    through the pipeline. A request whose raw file is gone (or whose path
    leads out of the store) cannot be carried out: it is withdrawn with an
    error in the log, and the console shows why. A store that fails (a full
    disk) leaves the request pending for the next pass.
    """
    pending = session.scalar(select(ReceivedMail.id).where(replay_pending_clause()).limit(1))
    # End the read: on SQLite a transaction that read before it writes may
    # find its snapshot stale when it comes to the write, so claims start afresh.
    session.commit()
    if pending is None:
        return 0
    stored = 0
    while (claimed := _claim_replay(session)) is not None:
        row_id, raw_path, waiting = claimed
        if not waiting:
            # Replayed meanwhile (xueji mail ingest of the same file): nothing left to do.
            _settle(session, row_id, replay_requested_at=None, replay_requested_by=None)
            continue
        path = raw_file(spool.root, raw_path)
        try:
            raw = path.read_bytes() if path is not None else None
        except FileNotFoundError:
            raw = None
        except OSError as error:
            session.rollback()
            log.error("mail replay of received_mail %d: %s reading the raw file; retrying later",
                      row_id, type(error).__name__)
            break
        if raw is None:
            log.error("mail replay of received_mail %d: the raw file is missing or outside the store; "
                      "request withdrawn", row_id)
            _settle(session, row_id, replay_requested_at=None, replay_requested_by=None)
            continue
        try:
            name = spool.store(raw)  # durable in new/ before the request is marked done
        except OSError as error:
            session.rollback()
            log.error("mail replay of received_mail %d: %s storing the copy; retrying later",
                      row_id, type(error).__name__)
            break
        _settle(session, row_id, replay_stored_as=name)
        log.info("mail replay of received_mail %d: stored again as %s", row_id, name)
        stored += 1
    session.commit()  # the last, empty claim
    return stored


def drain(session: Session, spool: Spool, config: MailConfig, *, stop: threading.Event | None = None,
          report: Callable[[Path, Outcome], None] | None = None) -> Counter[str]:
    """Take up the replays asked for, then every message waiting in ``new/``, once; returns the outcomes."""
    counts: Counter[str] = Counter()
    replay(session, spool)
    waiting = spool.waiting()
    if len(waiting) > 1:
        # Workers that walked new/ in the same order would meet on every file.
        start = random.randrange(len(waiting))
        waiting = waiting[start:] + waiting[:start]
    for path in waiting:
        if stop is not None and stop.is_set():
            break
        outcome = take(session, spool, path, config)
        if outcome is None:
            continue
        counts["already" if outcome.already else outcome.outcome] += 1
        if report is not None:
            report(path, outcome)
    session.close()  # nothing of this pass is kept in memory for the next
    return counts


def work(app: Flask, *, stop: threading.Event, interval: float = 1.0, once: bool = False) -> Counter[str]:
    """Drain the store until ``stop`` is set (or, with ``once``, until ``new/`` is empty).

    A database that cannot be reached is waited for, with backoff, and every
    message stays in ``new/`` meanwhile: nothing is lost and nothing skipped.
    """
    total: Counter[str] = Counter()
    with app.app_context():
        config = MailConfig.from_app(app)
        spool = Spool(config.store)
        session = db.session()
        pause = interval
        while not stop.is_set():
            try:
                counts = drain(session, spool, config, stop=stop)
            except OperationalError as error:
                session.rollback()
                if once:
                    raise
                log.error("mail worker: database unavailable (%s); retrying in %.0f s",
                          type(error).__name__, pause)
                stop.wait(pause)
                pause = min(pause * 2, 60.0)
                continue
            pause = interval
            total.update(counts)
            if not counts:
                if once:
                    break
                stop.wait(interval)
    return total


def ingest(session: Session, spool: Spool, raw: bytes, config: MailConfig) -> Outcome:
    """Keep ``raw`` in the store, then take it through the pipeline like a received message."""
    return next(ingest_many(session, spool, [raw], config))


def ingest_many(session: Session, spool: Spool, raws: Sequence[bytes],
                config: MailConfig) -> Iterator[Outcome]:
    """Keep a batch of messages in the store, then take each through the pipeline; the outcomes, in order.

    The whole batch is stored first (Spool.store_many: one directory fsync
    for all), so every file is durable before the commit of its row. Each
    message is then delivered, committed and moved on its own: a crash, or a
    database that stops answering, leaves the rest of the batch in ``new/``,
    where ``xueji mail work`` takes it up.
    """
    for raw, name in zip(raws, spool.store_many(raws), strict=True):
        outcome = deliver(session, raw, source=SOURCE, source_key=name, settings=config,
                          raw_path=f"cur/{name}", received_at=received_time(name) or now())
        finish(spool, name)
        yield outcome
