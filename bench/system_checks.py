"""What the database says after the run: every message one outcome, every ticket once, the audits.

Read straight from PostgreSQL with psycopg, after the load has stopped and
the mail workers have drained the store: the application's own answers
(250, "已受理，工单号 …") are compared with what it committed.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from system_data import TicketCount, one_outcome_each, tally_tickets


@dataclass(frozen=True)
class MailCount:
    sent: int  # answered 250
    recorded: int  # received_mail rows of those messages
    lost: int
    duplicated: int
    outcomes: Counter[str]


def wait_drained(spool_new: Path, seconds: float) -> bool:
    """Wait until the mail workers have taken up every stored message; whether they did."""
    deadline = time.monotonic() + seconds
    while any(spool_new.iterdir()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def count_mail(url: str, mails: Iterable[tuple[str, bool]]) -> MailCount:
    accepted = [message_id for message_id, ok in mails if ok]
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT message_id, outcome FROM received_mail WHERE message_id = ANY(%s)",
                                  (accepted,)).fetchall()
    lost, duplicated = one_outcome_each(accepted, [message_id for message_id, _ in rows])
    return MailCount(len(accepted), len(rows), lost, duplicated, Counter(outcome for _, outcome in rows))


def count_tickets(url: str, created: Iterable[tuple[str, str]], attempted: Iterable[str]) -> TicketCount:
    """Every save the console was asked for, against the tickets with those subjects."""
    attempted = list(attempted)
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT subject, number FROM tickets WHERE subject = ANY(%s)",
                                  (attempted,)).fetchall()
    return tally_tickets(created, attempted, rows)


def count_audit(url: str) -> Counter[str]:
    """``lookup_audit`` rows by outcome."""
    with psycopg.connect(url) as connection:
        return Counter(dict(connection.execute(
            "SELECT outcome, count(*) FROM lookup_audit GROUP BY outcome").fetchall()))


ID_LIKE = re.compile(rb"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")


def leaked_ids(folder: Path, sent: Iterable[str]) -> Counter[str]:
    """Log files of the run (gunicorn, mail, Redis, PostgreSQL) that hold an ID number the run sent,
    with how many times: the rule is that no log line ever holds one."""
    sent = {number.upper().encode() for number in sent}
    found: Counter[str] = Counter()
    for log in [*folder.glob("*.log"), *folder.glob("pg/*.log")]:
        for match in ID_LIKE.findall(log.read_bytes()):
            if match.upper() in sent:
                found[log.name] += 1
    return found


def login_outcomes(url: str, username: str) -> Counter[str]:
    with psycopg.connect(url) as connection:
        return Counter(dict(connection.execute(
            "SELECT outcome, count(*) FROM login_audit WHERE username = %s GROUP BY outcome",
            (username,)).fetchall()))
