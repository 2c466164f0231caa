"""Replay of quarantined mail asked for in the console (issue 6 item 8): the worker's pass.

The console records the request on the row (hotline.console.mail_quarantine);
the worker stores a copy of the raw message into new/ and only then marks the
request done. These tests take each order of events, including a crash between
the two steps, and check that nothing is lost and a second copy is at worst a
``duplicate``.
"""

from __future__ import annotations

import errno
import logging
import re
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

import mailintake
from hotline import db
from hotline.console.accounts import create_user
from hotline.console.mail_quarantine import request_replay
from hotline.tickets.inbox import QUARANTINE_REASONS, ReceivedMail
from hotline.tickets.intake import now
from hotline.tickets.models import Ticket
from mailintake import worker
from mailintake.parsing import Limits
from mailintake.spool import Spool
from tests.mailintake.conftest import fresh_app, message


@pytest.fixture
def agent_id(maildesk) -> int:
    user = create_user(maildesk.session, username="mailagent", unit_code="000000", role="agent",
                       password="Xueji#Console2026")
    maildesk.session.commit()
    return user.id


def hold(maildesk, raw: bytes) -> ReceivedMail:
    """``raw`` quarantined as too large (a limit below its size), then the limit fixed."""
    maildesk.config.limits = Limits(max_bytes=len(raw) - 1)
    outcome = maildesk.ingest(raw)
    maildesk.config.limits = Limits()
    assert outcome.outcome == "quarantine"
    return maildesk.record(outcome)


def ask(maildesk, row: ReceivedMail, agent_id: int) -> None:
    request_replay(maildesk.session, row, agent_id)
    maildesk.session.commit()


def waiting_ids(maildesk) -> list[int]:
    return list(maildesk.session.execute(text("SELECT id FROM quarantine ORDER BY id")).scalars())


def fresh(maildesk, row_id: int) -> ReceivedMail:
    maildesk.session.expire_all()
    return maildesk.session.get(ReceivedMail, row_id)


def by_key(maildesk, key: str) -> ReceivedMail:
    return maildesk.session.scalars(select(ReceivedMail).where(ReceivedMail.source_key == key)).one()


def test_a_requested_replay_becomes_a_ticket_and_supersedes_the_quarantined_row(maildesk, agent_id):
    held = hold(maildesk, message("学校标识码 2113000001，学籍转不过来"))
    ask(maildesk, held, agent_id)
    counts = worker.drain(maildesk.session, maildesk.spool, maildesk.config)
    assert counts == Counter({"ticket": 1})
    held = fresh(maildesk, held.id)
    copy = by_key(maildesk, held.replay_stored_as)
    assert (copy.outcome, copy.unit_code) == ("ticket", "130102")
    assert held.replayed_by == copy.id and held.replay_requested_by == agent_id
    assert waiting_ids(maildesk) == []
    assert list((maildesk.spool.root / "new").iterdir()) == []
    # Nothing is left for the next pass.
    assert worker.drain(maildesk.session, maildesk.spool, maildesk.config) == Counter()


def test_a_replay_of_mail_recorded_meanwhile_is_a_duplicate_and_leaves_the_list(maildesk, agent_id):
    raw = message("学校标识码 2113000001，又寄了一次")
    first = maildesk.ingest(raw)
    assert first.outcome == "ticket"
    held = hold(maildesk, raw)  # a later copy, quarantined (too large then)
    ask(maildesk, held, agent_id)
    assert worker.drain(maildesk.session, maildesk.spool, maildesk.config) == Counter({"duplicate": 1})
    held = fresh(maildesk, held.id)
    copy = maildesk.session.get(ReceivedMail, held.replayed_by)
    assert (copy.outcome, copy.duplicate_of) == ("duplicate", first.record_id)
    assert waiting_ids(maildesk) == []


def test_a_replay_quarantined_again_shows_up_with_its_new_reason(maildesk, agent_id):
    """Too large at first; with the limit fixed it turns out to have no sender: it waits again, so."""
    raw = message("没有发件人的来信").replace(b"From: ", b"X-Old-From: ")
    held = hold(maildesk, raw)
    assert held.reason.startswith("too_large")
    ask(maildesk, held, agent_id)
    assert worker.drain(maildesk.session, maildesk.spool, maildesk.config) == Counter({"quarantine": 1})
    held = fresh(maildesk, held.id)
    again = maildesk.session.get(ReceivedMail, held.replayed_by)
    assert again.reason.startswith("no_sender")
    assert waiting_ids(maildesk) == [again.id]


def test_a_crash_between_storing_the_copy_and_marking_it_done_gives_a_duplicate_not_a_loss(
        maildesk, agent_id, monkeypatch):
    held = hold(maildesk, message("学校标识码 2113000001，第二次发送"))
    ask(maildesk, held, agent_id)
    settle = worker._settle
    seen = []

    def killed(session: Session, row_id: int, **values: object) -> None:
        # The copy is durable in new/ by the time the request would be marked done ...
        seen.extend(p.name for p in (maildesk.spool.root / "new").iterdir())
        raise KeyboardInterrupt("killed")  # ... and the worker dies right there.

    monkeypatch.setattr(worker, "_settle", killed)
    with pytest.raises(KeyboardInterrupt):
        worker.replay(maildesk.session, maildesk.spool)
    maildesk.session.rollback()  # what the dead connection's transaction becomes
    assert len(seen) == 1 and fresh(maildesk, held.id).replay_stored_as is None  # still pending
    monkeypatch.setattr(worker, "_settle", settle)
    counts = worker.drain(maildesk.session, maildesk.spool, maildesk.config)
    assert counts == Counter({"ticket": 1, "duplicate": 1})
    assert maildesk.count(Ticket) == 1 and len(maildesk.acks()) == 1
    held = fresh(maildesk, held.id)
    first = maildesk.session.get(ReceivedMail, held.replayed_by)
    duplicates = select(ReceivedMail).where(ReceivedMail.outcome == "duplicate")
    duplicate = maildesk.session.scalars(duplicates).one()
    assert first.outcome == "ticket" and duplicate.duplicate_of == first.id
    # Two copies, the one stored before the crash and the one stored after it, each with one row.
    assert held.replay_stored_as != seen[0]
    assert {first.source_key, duplicate.source_key} == {seen[0], held.replay_stored_as}
    assert waiting_ids(maildesk) == []


def test_a_copy_that_cannot_be_stored_leaves_the_request_pending(maildesk, agent_id, monkeypatch):
    """The other order would lose the replay: the request is never marked done without its copy."""
    held = hold(maildesk, message("学校标识码 2113000001，磁盘满了"))
    ask(maildesk, held, agent_id)

    def full(self: Spool, content: bytes) -> str:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Spool, "store", full)
    assert worker.replay(maildesk.session, maildesk.spool) == 0
    held = fresh(maildesk, held.id)
    assert held.replay_requested_at is not None and held.replay_stored_as is None
    monkeypatch.undo()
    assert worker.drain(maildesk.session, maildesk.spool, maildesk.config) == Counter({"ticket": 1})
    assert fresh(maildesk, held.id).replayed_by is not None


@pytest.mark.parametrize("raw_path", ["missing", "/etc/passwd", "../../outside.eml", "cur/../../outside.eml"])
def test_a_request_whose_raw_file_is_gone_or_outside_the_store_is_withdrawn(maildesk, agent_id, caplog,
                                                                             raw_path):
    held = hold(maildesk, message("学校标识码 2113000001"))
    ask(maildesk, held, agent_id)
    root, kept = maildesk.spool.root, maildesk.spool.root / held.raw_path
    for folder in (root.parent, root.parent.parent):  # readable, but outside the store
        (folder / "outside.eml").write_bytes(kept.read_bytes())
    if raw_path == "missing":
        kept.unlink()
    else:
        held.raw_path = raw_path
        maildesk.session.commit()
    with caplog.at_level(logging.ERROR, logger="mailintake.worker"):
        assert worker.drain(maildesk.session, maildesk.spool, maildesk.config) == Counter()
    held = fresh(maildesk, held.id)
    assert held.replay_requested_at is None and held.replay_stored_as is None and held.replayed_by is None
    assert list((maildesk.spool.root / "new").iterdir()) == []
    assert any(f"received_mail {held.id}" in r.getMessage() and "withdrawn" in r.getMessage()
               for r in caplog.records)


def test_a_request_on_mail_replayed_meanwhile_by_ingest_is_withdrawn_without_a_copy(maildesk, agent_id):
    held = hold(maildesk, message("学校标识码 2113000001，运维已手工重新处理"))
    ask(maildesk, held, agent_id)
    assert maildesk.ingest((maildesk.spool.root / held.raw_path).read_bytes()).outcome == "ticket"
    assert worker.drain(maildesk.session, maildesk.spool, maildesk.config) == Counter()
    held = fresh(maildesk, held.id)
    assert held.replayed_by is not None and held.replay_requested_at is None
    assert maildesk.count(Ticket) == 1


def test_two_workers_never_take_the_same_request(backend, fresh_database, tmp_path):
    """PostgreSQL: the second skips the row the first holds; SQLite: it waits for the write lock."""
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers: the second claim waits for the first's commit")
    app = fresh_app(fresh_database, tmp_path / "instance")
    with app.app_context():
        session = db.session()
        user = create_user(session, username="mailagent", unit_code="000000", role="agent",
                           password="Xueji#Console2026")
        session.add(ReceivedMail(source="spool", source_key="k", content_sha256="0" * 64, raw_path="cur/k",
                                 size=1, received_at=now(), processed_at=now(), outcome="quarantine",
                                 reason="too_large：x", acked=False, replay_requested_at=now(),
                                 replay_requested_by=user.id))
        session.commit()
        other = Session(db.engine())
        try:
            first = worker._claim_replay(session)
            assert first is not None and worker._claim_replay(other) is None
            other.rollback()
        finally:
            session.rollback()
            other.close()
    app.extensions["xueji.engine"].dispose()


REASON_SOURCES = [Path(mailintake.__file__).parent / name for name in ("parsing.py", "intake.py")]


@pytest.mark.parametrize("source", REASON_SOURCES, ids=lambda p: p.name)
def test_every_quarantine_reason_the_pipeline_writes_has_a_chinese_name(source):
    written = set(re.findall(r'Refused\(\s*"(\w+)"', source.read_text()))
    written |= set(re.findall(r'"(\w+)：', source.read_text()))
    assert written, "the pipeline's reasons were not found: update this test"
    assert written - set(QUARANTINE_REASONS) == set()
