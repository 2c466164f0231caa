"""Exactly once: a message arriving again changes nothing; a crash or a race loses and duplicates nothing.

Issue 6 item 6.
"""

from __future__ import annotations

import email.utils
import smtplib
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from hotline import db
from hotline.tickets.inbox import ReceivedMail
from hotline.tickets.models import Ticket
from hotline.tickets.outbox import OutgoingMail
from mailintake.config import MailConfig
from mailintake.intake import deliver
from mailintake.smtp import make_controller
from mailintake.spool import Spool
from mailintake.worker import drain
from tests.hotline.test_serve import free_port
from tests.mailintake.conftest import MAILBOX, fresh_app, message


def rows(maildesk) -> list[ReceivedMail]:
    return list(maildesk.session.scalars(select(ReceivedMail).order_by(ReceivedMail.id)))


def test_the_same_message_ingested_twice_is_one_ticket_and_a_duplicate(maildesk):
    raw = message("学校标识码 2113000001", message_id="<same@qq.com>")
    first, second = maildesk.ingest(raw), maildesk.ingest(raw)
    assert (first.outcome, second.outcome) == ("ticket", "duplicate")
    assert second.ticket == first.ticket and second.unit == first.unit
    assert maildesk.count(Ticket) == 1 and len(maildesk.acks()) == 1
    assert [r.duplicate_of for r in rows(maildesk)] == [None, first.record_id]


def test_an_smtp_retry_of_the_same_message_is_one_ticket(maildesk):
    """The sender did not see our 250 and delivered again: our trace differs, the message does not."""
    port = free_port()
    controller = make_controller(maildesk.spool, [MAILBOX], "127.0.0.1", port, max_bytes=1024 * 1024)
    controller.start()
    try:
        raw = message("学校标识码 2113000001，学籍转不过来")
        for helo in ("mx1.qq.com", "mx2.qq.com"):
            with smtplib.SMTP("127.0.0.1", port) as client:
                client.ehlo(helo)
                client.sendmail("parent@qq.com", [MAILBOX], raw)
    finally:
        controller.stop()
    counts = drain(maildesk.session, maildesk.spool, maildesk.config)
    assert counts == Counter({"ticket": 1, "duplicate": 1})
    assert maildesk.count(Ticket) == 1 and len(maildesk.acks()) == 1
    assert list((maildesk.spool.root / "new").iterdir()) == []
    assert len(list((maildesk.spool.root / "cur").iterdir())) == 2  # both kept raw


def test_a_different_message_reusing_a_message_id_is_not_a_duplicate(maildesk):
    first = maildesk.ingest(message("学校标识码 2113000001", message_id="<reused@qq.com>"))
    second = maildesk.ingest(message("另一件事：学校标识码 2113000002", message_id="<reused@qq.com>"))
    assert (first.outcome, second.outcome) == ("ticket", "ticket") and first.ticket != second.ticket


def test_without_a_message_id_identical_bytes_are_a_duplicate_and_different_ones_are_not(maildesk):
    def bare(body: str) -> bytes:
        return message(body, message_id="<dropped@qq.com>").replace(b"Message-ID:", b"X-Dropped:")

    outcomes = [maildesk.ingest(raw).outcome for raw in (bare("第一封"), bare("第一封"), bare("第二封"))]
    assert outcomes == ["ticket", "duplicate", "ticket"]
    assert [r.message_id for r in rows(maildesk)] == [None, None, None]


def test_a_message_recorded_before_a_crash_is_only_moved_on_restart(maildesk):
    """Killed after the commit, before the file left new/: the next pass records nothing new."""
    name = maildesk.spool.store(message("学校标识码 2113000001"))
    deliver(maildesk.session, (maildesk.spool.root / "new" / name).read_bytes(), source="spool",
            source_key=name, settings=maildesk.config, raw_path=f"cur/{name}")
    counts = drain(maildesk.session, maildesk.spool, maildesk.config)
    assert counts == Counter({"already": 1})
    assert len(rows(maildesk)) == 1 and maildesk.count(Ticket) == 1
    assert [p.name for p in (maildesk.spool.root / "cur").iterdir()] == [name]


def test_a_quarantined_message_replayed_after_a_fix_leaves_the_quarantine(maildesk):
    from mailintake.parsing import Limits

    raw = message("附件很大的来信" * 300)
    maildesk.config.limits = Limits(max_bytes=1000)
    held = maildesk.ingest(raw)
    assert held.outcome == "quarantine"
    maildesk.config.limits = Limits()  # the fix: a higher limit
    kept = maildesk.spool.root / maildesk.record(held).raw_path
    replayed = maildesk.ingest(kept.read_bytes())
    assert replayed.outcome == "ticket"
    assert maildesk.record(held).replayed_by == replayed.record_id
    assert maildesk.session.execute(text("SELECT count(*) FROM quarantine")).scalar() == 0


def _batch(n: int) -> list[bytes]:
    """Normal mail (each a ticket), with a copy of every fifth as an SMTP retry would leave it."""
    raws = []
    for i in range(n):
        raw = message(f"第 {i} 封：学校标识码 2113000001", sender=f"家长{i} <p{i}@qq.com>",
                      message_id=email.utils.make_msgid(f"m{i}", domain="qq.com"))
        raws.append(raw)
        if i % 5 == 0:
            raws.append(b"Return-Path: <p@qq.com>\r\nReceived: from retry ([10.0.0.1])\r\n\tby xueji with "
                        b"ESMTP for <" + MAILBOX.encode() + b">; now\r\n" + raw)
    return raws


@pytest.mark.parametrize("workers", [4])
def test_several_workers_draining_one_store_record_every_message_once(backend, fresh_database, tmp_path,
                                                                         workers):
    if backend != "postgresql":
        pytest.skip("several workers at once is the PostgreSQL setup (DESIGN.md, Architecture)")
    spool = Spool(tmp_path / "spool")
    raws = _batch(60)
    for raw in raws:
        spool.store(raw)
    app = fresh_app(fresh_database, tmp_path / "instance", mail_spool=str(spool.root), mail_ack_per_hour=1000)
    failures: list[BaseException] = []
    totals: Counter[str] = Counter()
    lock = threading.Lock()

    def worker() -> None:
        try:
            with app.app_context():
                counts = drain(db.session(), spool, MailConfig.from_app(app))
            with lock:
                totals.update(counts)
        except BaseException as error:  # reported below, with the other workers' results
            failures.append(error)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with app.app_context():
        session = db.session()
        recorded = Counter(session.scalars(select(ReceivedMail.outcome)))
        assert recorded == Counter({"ticket": 60, "duplicate": 12})
        assert session.scalar(select(func.count(func.distinct(ReceivedMail.source_key)))) == len(raws)
        assert session.scalar(select(func.count()).select_from(OutgoingMail)) == 60
        numbers = sorted(session.scalars(select(Ticket.number)))
        assert numbers == [f"{numbers[0][:4]}-{i:06d}" for i in range(1, 61)]  # no gap, no repeat
    app.extensions["xueji.engine"].dispose()
    # Each file was taken by one worker; the others found it recorded or gone.
    assert totals["ticket"] + totals["duplicate"] == len(raws)
    assert list((spool.root / "new").iterdir()) == []
    assert Path(spool.root / "cur").is_dir() and len(list((spool.root / "cur").iterdir())) == len(raws)
