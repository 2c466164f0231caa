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
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import random
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hotline import db
from hotline.tickets.intake import now
from mailintake.config import MailConfig
from mailintake.intake import Outcome, deliver
from mailintake.spool import Spool

log = logging.getLogger(__name__)
SOURCE = "spool"


def received_time(name: str) -> datetime.datetime | None:
    """When the store took the message: the nanoseconds that start its Maildir name.

    >>> received_time("1764000000000000000.P1Q0.host.abc").isoformat()
    '2025-11-24T16:00:00+00:00'
    >>> received_time("odd-name") is None
    True
    """
    head = name.split(".", 1)[0]
    if not head.isdigit():
        return None
    return datetime.datetime.fromtimestamp(int(head) / 1e9, datetime.UTC)


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


def drain(session: Session, spool: Spool, config: MailConfig, *, stop: threading.Event | None = None,
          report: Callable[[Path, Outcome], None] | None = None) -> Counter[str]:
    """Take up every message waiting in ``new/`` once; returns the outcomes counted."""
    counts: Counter[str] = Counter()
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
    name = spool.store(raw)
    outcome = deliver(session, raw, source=SOURCE, source_key=name, settings=config, raw_path=f"cur/{name}",
                      received_at=now())
    finish(spool, name)
    return outcome
