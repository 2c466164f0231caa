"""The rules of ``xueji purge`` (see :mod:`hotline.purge` for what goes when): count, or purge in batches.

Each rule walks its table once, in key order, a batch at a time; each batch
is flushed and the caller commits it. A rule's condition is the same for
counting and purging, so a dry run counts what a real run would change.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import (
    ColumnElement,
    Delete,
    Select,
    Update,
    and_,
    delete,
    exists,
    func,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from hotline.durable import fsync_directory
from hotline.tickets.inbox import ReceivedMail, raw_file
from hotline.tickets.models import Complainant, Ticket
from hotline.tickets.outbox import OutgoingMail

# Outcomes of mail that caused nothing: their rows and raw files may go.
NOISE = ("duplicate", "auto", "bounce", "loop")


class Rule(Protocol):
    """One kind of record that goes after its retention: count it, or purge it batch by batch."""

    table: str
    text: str  # what goes, in Chinese, for the operator
    setting: str  # the Settings field holding its retention in months

    def count(self, session: Session, cutoff: datetime.datetime) -> int: ...

    def batches(self, session: Session, cutoff: datetime.datetime, size: int, store: Path) -> Iterator[int]:
        """Change one batch, flushed, and yield how many rows it changed; the caller commits."""
        ...


def _bulk(session: Session, statement: Delete | Update) -> int:
    """Run a bulk DELETE or UPDATE at once; the rows it changed (fewer if another run was first)."""
    return session.execute(statement, execution_options={"synchronize_session": False}).rowcount


def _count(session: Session, query: Select) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _keyset(session: Session, key, where: ColumnElement[bool], size: int,
            change: Callable[[list], int]) -> Iterator[int]:
    """Walk the rows matching ``where`` in key order, ``size`` at a time, once.

    Each batch starts after the last key of the one before, so a table is read
    once however many batches it takes (a condition that a change makes false,
    scanned again from the start every time, would read it again per batch).
    """
    last = None
    while True:
        query = select(key).where(where).order_by(key).limit(size)
        if last is not None:
            query = query.where(key > last)
        keys = list(session.scalars(query))
        if not keys:
            return
        last = keys[-1]
        yield change(keys)


@dataclass(frozen=True)
class AuditRule:
    model: type
    table: str
    text: str
    setting: str = "retain_audit_months"

    def _where(self, cutoff: datetime.datetime) -> ColumnElement[bool]:
        return self.model.at < cutoff

    def count(self, session: Session, cutoff: datetime.datetime) -> int:
        return _count(session, select(self.model.id).where(self._where(cutoff)))

    def batches(self, session: Session, cutoff: datetime.datetime, size: int, store: Path) -> Iterator[int]:
        def remove(ids: list) -> int:
            return _bulk(session, delete(self.model).where(self.model.id.in_(ids)))

        yield from _keyset(session, self.model.id, self._where(cutoff), size, remove)


class NoiseMailRule:
    """Rows of mail that caused nothing (automatic, bounce, loop, duplicate) and their raw files.

    Other rows may point at one (``duplicate_of`` from a later copy,
    ``replayed_by`` from a quarantined message that was replayed). A row
    pointed at by a row that stays must stay too. Duplicates point only at the
    first copy, never at another duplicate, and quarantined rows never go, so
    such chains are at most two long: a row stays if a staying row points at
    it, or points at a row that points at it. The purge itself deletes only
    rows nothing points at, pass after pass, so that a duplicate goes before
    the message it repeated and a foreign key is never broken.
    """

    table = "received_mail"
    text = "自动回复、退信、回流及重复投递的邮件（含原始邮件文件）"
    setting = "retain_mail_months"
    passes = 4  # two are enough (see above); a spare or two for safety

    @staticmethod
    def _old(row, cutoff: datetime.datetime) -> ColumnElement[bool]:
        return and_(row.outcome.in_(NOISE), row.processed_at < cutoff)

    @staticmethod
    def _points_at(other, row) -> ColumnElement[bool]:
        return or_(other.duplicate_of == row.id, other.replayed_by == row.id)

    def _held(self, row, cutoff: datetime.datetime) -> ColumnElement[bool]:
        """Some row that stays points at ``row``."""
        other = aliased(ReceivedMail)
        return exists().where(self._points_at(other, row), not_(self._old(other, cutoff)))

    def count(self, session: Session, cutoff: datetime.datetime) -> int:
        row, other = ReceivedMail, aliased(ReceivedMail)
        purgeable = and_(self._old(row, cutoff), not_(self._held(row, cutoff)),
                         not_(exists().where(self._points_at(other, row), self._held(other, cutoff))))
        return _count(session, select(row.id).where(purgeable))

    def batches(self, session: Session, cutoff: datetime.datetime, size: int, store: Path) -> Iterator[int]:
        row, other = ReceivedMail, aliased(ReceivedMail)
        free = and_(self._old(row, cutoff), not_(exists().where(self._points_at(other, row))))
        def remove(ids: list) -> int:
            return self._remove(session, ids, store)

        for _ in range(self.passes):
            done = 0
            for changed in _keyset(session, row.id, free, size, remove):
                done += changed
                yield changed
            if not done:
                return

    @staticmethod
    def _remove(session: Session, ids: list, store: Path) -> int:
        paths = list(session.scalars(select(ReceivedMail.raw_path).where(ReceivedMail.id.in_(ids))))
        # Rows first: a foreign key that objects does so before any file is touched.
        removed = _bulk(session, delete(ReceivedMail).where(ReceivedMail.id.in_(ids)))
        folders = set()
        for path in paths:
            for file in raw_files(store, path):
                try:
                    file.unlink()
                except FileNotFoundError:
                    continue  # gone already: an earlier run was stopped before its commit
                folders.add(file.parent)
        for folder in folders:
            # The unlinks must not come back after a crash once the rows are gone.
            fsync_directory(folder)
        return removed


def raw_files(store: Path, raw_path: str) -> list[Path]:
    """Where a row's raw message may be: at ``raw_path``, or still in ``new/`` when a
    worker recorded it and stopped before moving it to ``cur/``.

    >>> raw_files(Path("/nonexistent/mail"), "cur/1764000000.P1Q0.host.ab12")
    [PosixPath('/nonexistent/mail/cur/1764000000.P1Q0.host.ab12'), \
PosixPath('/nonexistent/mail/new/1764000000.P1Q0.host.ab12')]
    >>> raw_files(Path("/nonexistent/mail"), "../etc/passwd")
    []
    """
    found = raw_file(store, raw_path)
    if found is None:
        return []  # a path leading out of the store is never ours to delete
    files = [found]
    if raw_path.startswith("cur/") and (waiting := raw_file(store, "new/" + raw_path[4:])) is not None:
        files.append(waiting)
    return files


def _closed_before(cutoff: datetime.datetime) -> ColumnElement[bool]:
    return and_(Ticket.step == "closed", Ticket.updated_at < cutoff)


class ContactRule:
    """The complainant's name and contact (and their keyed hashes) of tickets closed long ago.

    The hashes go too: after this, nothing ties the ticket to a person, and
    the public status page answers for it as for any unknown number.
    """

    table = "complainants"
    text = "已办结工单的投诉人姓名与联系方式"
    setting = "retain_contact_months"
    fields = ("name", "phone", "email", "phone_hash", "email_hash")

    def _where(self, cutoff: datetime.datetime) -> ColumnElement[bool]:
        held = or_(*(getattr(Complainant, name).is_not(None) for name in self.fields))
        return and_(Complainant.ticket_id.in_(select(Ticket.id).where(_closed_before(cutoff))), held)

    def count(self, session: Session, cutoff: datetime.datetime) -> int:
        return _count(session, select(Complainant.ticket_id).where(self._where(cutoff)))

    def batches(self, session: Session, cutoff: datetime.datetime, size: int, store: Path) -> Iterator[int]:
        def clear(ids: list) -> int:
            return _bulk(session, update(Complainant).where(Complainant.ticket_id.in_(ids))
                         .values(dict.fromkeys(self.fields)))

        yield from _keyset(session, Complainant.ticket_id, self._where(cutoff), size, clear)


class RecipientRule:
    """The recipient's address on mail sent (or given up on) for tickets closed long ago."""

    table = "outgoing_mail"
    text = "已办结工单发出邮件的收件地址"
    setting = "retain_contact_months"

    def _where(self, cutoff: datetime.datetime) -> ColumnElement[bool]:
        return and_(OutgoingMail.status.in_(("sent", "failed")), OutgoingMail.to_addr != "",
                    OutgoingMail.ticket_id.in_(select(Ticket.id).where(_closed_before(cutoff))))

    def count(self, session: Session, cutoff: datetime.datetime) -> int:
        return _count(session, select(OutgoingMail.id).where(self._where(cutoff)))

    def batches(self, session: Session, cutoff: datetime.datetime, size: int, store: Path) -> Iterator[int]:
        def clear(ids: list) -> int:
            return _bulk(session, update(OutgoingMail).where(OutgoingMail.id.in_(ids)).values(to_addr=""))

        yield from _keyset(session, OutgoingMail.id, self._where(cutoff), size, clear)
