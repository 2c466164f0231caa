"""What the mail pipeline needs to know, gathered once per worker from the app.

Settings are read in ``hotline.config`` only (STYLE habit 5); this module
turns them into what the pipeline uses: our addresses, the receiving unit,
the keys, the limits, the raw-mail store, and three things worth keeping
between messages (the place-name index, the working-day calendar and the
authority tree).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.calendar import WorkCalendar
from hotline.config import mail_store_path, resolve_secret
from hotline.routing import TreeCache
from hotline.tickets.attachments import attachments_folder
from hotline.tickets.contacts import contact_hasher
from lookup.privacy import id_hasher
from mailintake.parsing import Limits
from mailintake.places import PlaceIndex

# The header we put on every message we send (issue 6 item 5): seen on
# incoming mail, it means our own mail came back, and the message is a loop.
LOOP_HEADER = "X-Xueji-Loop"
# A schedule loaded with ``xueji calendar load`` reaches a running worker
# within this many seconds.
CALENDAR_SECONDS = 60.0


@dataclass
class MailConfig:
    """The mail worker's settings and caches (one per process)."""

    receiving_unit: str
    mailboxes: tuple[str, ...]
    mail_from: str
    reply_key: bytes
    reopen_days: int
    ack_per_hour: int
    limits: Limits
    store: Path  # the raw-mail store (a Maildir)
    attachments: Path  # where ticket attachments are kept, by hash
    hash_id: Callable[[str], str]  # keyed hash of a resident ID number
    hash_contact: Callable[[str], str]  # keyed hash of a contact, as Complainant.email_hash
    loop_header: str = LOOP_HEADER
    _places: PlaceIndex | None = field(default=None, repr=False)
    _calendar: tuple[float, WorkCalendar] | None = field(default=None, repr=False)
    # The authority tree, read again at most every hotline.routing.TREE_SECONDS.
    tree: TreeCache = field(default_factory=TreeCache, repr=False)

    @classmethod
    def from_app(cls, app: Flask) -> MailConfig:
        """Inside an app context: the running service's settings."""
        settings = app.config["XUEJI"]
        instance = Path(app.instance_path)
        return cls(
            receiving_unit=settings.mail_receiving_unit,
            mailboxes=tuple(a.strip().lower() for a in settings.mail_addresses),
            mail_from=settings.mail_from.strip().lower(),
            reply_key=resolve_secret(settings, "mail_reply_key", instance).encode(),
            reopen_days=settings.mail_reopen_days,
            ack_per_hour=settings.mail_ack_per_hour,
            limits=Limits(max_bytes=settings.mail_max_bytes),
            store=store_path(app),
            attachments=attachments_folder(instance),
            hash_id=id_hasher(app.config["ID_HASH_KEY"]),
            hash_contact=contact_hasher(),
        )

    @property
    def our_addresses(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.mailboxes, self.mail_from)))

    def places(self, session: Session) -> PlaceIndex:
        """The place-name index of the divisions table, built on first use (a few ms)."""
        if self._places is None:
            from lookup.models import Division

            rows = session.execute(select(Division.code, Division.name, Division.valid_to))
            self._places = PlaceIndex(rows)
        return self._places

    def calendar(self, session: Session) -> WorkCalendar:
        """The working-day calendar, read again at most once a minute."""
        moment = time.monotonic()
        if self._calendar is None or moment - self._calendar[0] > CALENDAR_SECONDS:
            self._calendar = (moment, WorkCalendar.from_session(session))
        return self._calendar[1]


def store_path(app: Flask) -> Path:
    """The raw-mail store (defined in ``hotline.config``, which the console reads it by too)."""
    return mail_store_path(app.config["XUEJI"], app.instance_path)
