"""The IMAP poller's loop: take what waits, wait for more, reconnect when the connection goes.

``xueji mail imap`` runs :func:`poll`. Each pass takes every message of the
folder not yet flagged done (:func:`sweep`, one message at a time through
:class:`mailintake.imap.Mailbox`), then waits: in IDLE where the server has
it, renewed every few minutes, otherwise for ``XUEJI_IMAP_POLL_SECONDS``.

What goes wrong is sorted in two:

- the settings cannot work (no such folder, login refused, a certificate
  that does not verify): :class:`~mailintake.imap.MailboxError`, raised to
  the command, which says so in one line and exits;
- anything that may pass (the connection dropped or kicked, a server or
  database that is down, a full disk): logged, waited for with backoff
  (1 s doubling to 60 s), then a fresh connection. The message being taken
  was not flagged, so it is taken again: nothing is lost.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable

from flask import Flask
from imapclient.exceptions import IMAPClientError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hotline import db
from mailintake.config import MailConfig
from mailintake.imap import FOLDER, ImapSettings, Mailbox, MailboxError, connect
from mailintake.spool import Spool

log = logging.getLogger(__name__)
FIRST_PAUSE, LAST_PAUSE = 1.0, 60.0
# With --once a mailbox that stays unreachable ends the command (after
# 1 + 2 + 4 + 8 + 16 s) instead of waiting for ever.
ONCE_ATTEMPTS = 6


def sweep(mailbox: Mailbox, session: Session, store: Spool, config: MailConfig, stop: threading.Event,
          counts: Counter[str]) -> int:
    """Take every message not yet done, once, counting outcomes into ``counts`` as each is done
    (``already``: recorded before); how many were taken."""
    taken = 0
    leftovers = mailbox.leftovers()
    if leftovers:
        mailbox.finish(leftovers)
        counts["already"] += len(leftovers)
        taken += len(leftovers)
    for uid in mailbox.pending():
        if stop.is_set():
            break
        outcome = mailbox.take(session, store, config, uid)
        if outcome is not None:
            counts["already" if outcome.already else outcome.outcome] += 1
            taken += 1
    session.close()  # nothing of this pass is kept in memory for the next
    return taken


def poll(app: Flask, imap: ImapSettings, *, stop: threading.Event, once: bool = False,
         ready: Callable[[Mailbox], None] | None = None) -> Counter[str]:
    """Take the mailbox's mail until ``stop`` is set (with ``once``: until none is left).

    ``ready`` is called once, when the folder is first open.

    Raises :class:`MailboxError` when the settings cannot work; with ``once``
    also :class:`OperationalError` (the database is down) and the last
    connection error after :data:`ONCE_ATTEMPTS` failures in a row.
    """
    total: Counter[str] = Counter()
    with app.app_context():
        config = MailConfig.from_app(app)
        store = Spool(config.store)
        store.folder(FOLDER)
        session = db.session()
        mailbox: Mailbox | None = None
        uidvalidity: int | None = None
        pause, failures = FIRST_PAUSE, 0
        try:
            while not stop.is_set():
                try:
                    if mailbox is None:
                        mailbox = _open(imap, uidvalidity)
                        if uidvalidity is None and ready is not None:
                            ready(mailbox)
                        uidvalidity = mailbox.uidvalidity
                    taken = sweep(mailbox, session, store, config, stop, total)
                    pause, failures = FIRST_PAUSE, 0
                    if taken:
                        continue  # look again: mail may have come in meanwhile
                    if once:
                        break
                    mailbox.wait(stop)
                    continue
                except MailboxError:
                    raise
                except OperationalError as error:
                    session.rollback()
                    if once:
                        raise
                    log.error("imap poller: database unavailable (%s); the message stays unflagged, "
                              "retrying in %.0f s", type(error).__name__, pause)
                except (IMAPClientError, OSError) as error:
                    # IMAPClientAbortError (a kick, a dropped connection), a
                    # refused command, a socket timeout, a full disk.
                    session.rollback()
                    failures += 1
                    if once and failures >= ONCE_ATTEMPTS:
                        raise
                    log.warning("imap poller: %s (%s); reconnecting in %.0f s", type(error).__name__,
                                str(error)[:200], pause)
                if mailbox is not None:
                    mailbox.close()
                    mailbox = None
                stop.wait(pause)
                pause = min(pause * 2, LAST_PAUSE)
        finally:
            if mailbox is not None:
                mailbox.close()
    return total


def _open(imap: ImapSettings, uidvalidity: int | None) -> Mailbox:
    client = connect(imap)
    try:
        mailbox = Mailbox(client, imap)
    except BaseException:
        client.shutdown()
        raise
    if uidvalidity is not None and mailbox.uidvalidity != uidvalidity:
        log.warning("imap poller: UIDVALIDITY of %s changed from %d to %d: its messages are taken again "
                    "and copies already recorded count as duplicates", imap.folder, uidvalidity,
                    mailbox.uidvalidity)
    log.info("imap poller: %s selected (UIDVALIDITY %d, %s)", imap.address, mailbox.uidvalidity,
             "IDLE" if mailbox.can_idle else f"polling every {imap.poll_seconds} s")
    return mailbox
