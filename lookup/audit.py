"""The lookup audit: one row and one log line per lookup, with no personal data in either."""

from __future__ import annotations

import datetime
import logging
from typing import TYPE_CHECKING

from flask import request
from prometheus_client import Counter

from lookup.dbapi import Statements

if TYPE_CHECKING:
    from lookup.limits import Asked

log = logging.getLogger("xueji.lookup")
# Counted where the audit row is written, so the metric and the audit table
# agree; labelled by channel and outcome only (hotline.metrics serves it).
LOOKUPS = Counter("xueji_lookups", "Lookups answered or refused, by channel (web, api) and outcome "
                  "(found, replaced, not_found, invalid, limited).", ["channel", "outcome"])

# The columns of lookup.models.LookupAudit; the id is the database's.
_INSERT = ("INSERT INTO lookup_audit (at, channel, kind, outcome, client, identity, field) "
           "VALUES (?, ?, ?, ?, ?, ?, ?)")


def record(db: Statements, asked: Asked, outcome: str) -> None:
    """Write the audit row of the current request (committed when ``db`` commits:
    at once on the web site, see :mod:`lookup.dbapi`).

    The identity is the keyed hash of the first identity key; the log line
    carries only its first 12 characters, enough to follow one child's
    attempts through the logs and nothing that could be turned back.
    """
    identity = asked.identities[0]
    error = asked.error
    db.run(_INSERT, db.timestamp_in(datetime.datetime.now(datetime.UTC)), asked.channel, asked.kind,
           outcome, (request.remote_addr or "")[:45], identity, error.field if error is not None else None)
    LOOKUPS.labels(asked.channel, outcome).inc()
    if log.isEnabledFor(logging.INFO):
        log.info("lookup channel=%s kind=%s outcome=%s identity=%s%s", asked.channel, asked.kind or "-",
                 outcome, identity[:12] if identity else "-",
                 f" field={error.field} code={error.code}" if error is not None else "")
