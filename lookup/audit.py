"""The lookup audit: one row and one log line per lookup, with no personal data in either."""

from __future__ import annotations

import datetime
import logging
from typing import TYPE_CHECKING

from flask import request
from sqlalchemy import insert
from sqlalchemy.orm import Session

from lookup.models import LookupAudit

if TYPE_CHECKING:
    from lookup.limits import Asked

log = logging.getLogger("xueji.lookup")


def record(session: Session, asked: Asked, outcome: str) -> None:
    """Add the audit row of the current request (flushed with the caller's transaction).

    The identity is the keyed hash of the first identity key; the log line
    carries only its first 12 characters, enough to follow one child's
    attempts through the logs and nothing that could be turned back.
    """
    identity = asked.identities[0]
    # A Core insert: the row is never read back, and the ORM's unit of work
    # would cost as much as the lookup itself.
    session.connection().execute(insert(LookupAudit), [{
        "at": datetime.datetime.now(datetime.UTC), "channel": asked.channel, "kind": asked.kind,
        "outcome": outcome, "client": (request.remote_addr or "")[:45], "identity": identity,
        "field": asked.error.field if asked.error is not None else None}])
    log.info("lookup channel=%s kind=%s outcome=%s identity=%s%s", asked.channel, asked.kind or "-",
             outcome, identity[:12] if identity else "-",
             f" field={asked.error.field} code={asked.error.code}" if asked.error else "")
