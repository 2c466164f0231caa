"""Retention: what ``xueji purge`` removes, and when (issue 7 item 3).

Nothing younger than 6 months is ever purged: network logs must be kept at
least six months (网络安全法 article 21), and the other rules keep at least
that too. Each rule has its retention in months (``XUEJI_RETAIN_*_MONTHS``,
never under 6); a record goes when it is older than that many months before
today (Asia/Shanghai), counted from 00:00 of that day.

- ``lookup_audit``, ``login_audit``, ``access_audit``: the row, ``XUEJI_RETAIN_AUDIT_MONTHS``
  (12) after it was written;
- ``received_mail``: rows of automatic, bounced, looped and duplicate mail and
  their raw files, ``XUEJI_RETAIN_MAIL_MONTHS`` (6) after they were processed;
- ``complainants``: name, phone, e-mail and their keyed hashes (the relation
  stays) of closed tickets, ``XUEJI_RETAIN_CONTACT_MONTHS`` (24) after the
  ticket's last change;
- ``outgoing_mail``: the recipient's address of mail sent (or given up on) for
  those tickets, at the same time.

Kept, on purpose: tickets, their timelines, forms and replies (the record of
the matter); the received mail of tickets, replies and quarantine with its
raw files (issue 6: every message is kept raw); ``account_audit`` (who held
which rights; small, no data of the public); attachments; the dashboard's
counts.

A real run works in batches of ``batch_size`` rows, one transaction each,
walking each table once by its key; running it twice changes nothing the
second time. Mail rows are deleted first and their raw files unlinked (and
the folders fsynced) before the commit, so a process killed between the two
leaves rows whose raw files are already gone, which the next run deletes; a
file whose row was committed away never stays behind.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from hotline.config import MIN_RETENTION_MONTHS, Settings
from hotline.console.models import AccessAudit, LoginAudit
from hotline.purge_rules import AuditRule, ContactRule, NoiseMailRule, RecipientRule, Rule
from lookup.models import LookupAudit

SHANGHAI = ZoneInfo("Asia/Shanghai")


def months_before(day: datetime.date, months: int) -> datetime.date:
    """The same day ``months`` calendar months earlier, or the month's last day if it has fewer.

    >>> months_before(datetime.date(2026, 8, 31), 6), months_before(datetime.date(2024, 8, 31), 6)
    (datetime.date(2026, 2, 28), datetime.date(2024, 2, 29))
    >>> months_before(datetime.date(2026, 1, 10), 6), months_before(datetime.date(2026, 3, 15), 24)
    (datetime.date(2025, 7, 10), datetime.date(2024, 3, 15))
    """
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    following = datetime.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    return datetime.date(year, month + 1, min(day.day, (following - datetime.timedelta(days=1)).day))


def start_of(day: datetime.date) -> datetime.datetime:
    """00:00 Asia/Shanghai of ``day``, in UTC (how every timestamp is stored).

    >>> start_of(datetime.date(2026, 2, 1)).isoformat()
    '2026-01-31T16:00:00+00:00'
    """
    return datetime.datetime.combine(day, datetime.time(), SHANGHAI).astimezone(datetime.UTC)


def today() -> datetime.date:
    return datetime.datetime.now(SHANGHAI).date()


def latest_allowed(on: datetime.date) -> datetime.date:
    """The latest ``--before`` date allowed on ``on``: anything later would purge records
    younger than 6 months.

    >>> latest_allowed(datetime.date(2026, 8, 31))
    datetime.date(2026, 2, 28)
    """
    return months_before(on, MIN_RETENTION_MONTHS)


RULES: tuple[Rule, ...] = (
    AuditRule(LookupAudit, "lookup_audit", "公众查询记录"),
    AuditRule(LoginAudit, "login_audit", "控制台登录记录"),
    AuditRule(AccessAudit, "access_audit", "个人信息查看记录"),
    NoiseMailRule(),
    ContactRule(),
    RecipientRule(),
)


@dataclass(frozen=True)
class Planned:
    rule: Rule
    before: datetime.date  # records older than 00:00 Asia/Shanghai of this day go


class TooRecent(ValueError):
    """A ``--before`` date that would purge records younger than 6 months."""


def plan(settings: Settings, *, on: datetime.date, before: datetime.date | None = None) -> list[Planned]:
    """Each rule with the day before which its records go.

    ``before`` replaces every rule's own retention (the operator's explicit
    choice), but never reaches into the last 6 months.
    """
    planned = [Planned(rule, before or months_before(on, getattr(settings, rule.setting))) for rule in RULES]
    # Settings are checked when loaded; this holds the floor whatever built them.
    for item in planned:
        if item.before > latest_allowed(on):
            raise TooRecent(item.before)
    return planned


@dataclass(frozen=True)
class Done:
    table: str
    text: str
    before: datetime.date
    rows: int


def purge(session: Session, planned: list[Planned], *, store: Path, dry_run: bool,
          batch_size: int = 1000) -> list[Done]:
    """Count (``dry_run``: nothing changes) or purge what each rule says, committing each batch."""
    done = []
    for item in planned:
        cutoff = start_of(item.before)
        if dry_run:
            rows = item.rule.count(session, cutoff)
            session.rollback()
        else:
            rows = 0
            for changed in item.rule.batches(session, cutoff, batch_size, store):
                session.commit()
                rows += changed
        done.append(Done(item.rule.table, item.rule.text, item.before, rows))
    return done
