"""The IMAP poller against a real Dovecot: every message once, flagged only after its commit (issue 6 item 1).

These run the poller in the test's process and transaction; the processes
that are killed, stopped or run side by side are in test_processes.py.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from hotline.tickets.inbox import ReceivedMail
from hotline.tickets.models import Ticket
from mailintake.imap import ImapSettings
from mailintake.imap_poll import poll
from mailintake.intake import deliver
from tests.mailintake.conftest import fresh_app, message
from tests.mailintake.imap.conftest import DONE, SEEN, Box

BEIJING = datetime.timezone(datetime.timedelta(hours=8))


def mail(i: int, **fields: str) -> bytes:
    return message(f"第 {i} 封：孩子在学校 2113000001 读书，学籍号查不到。", sender=f"家长{i} <p{i}@qq.com>",
                   **fields)


AUTO = message("我正在休假", subject="自动回复：学籍问题", Auto_Submitted="auto-replied")


def take(app: Flask, **changes: object) -> Counter[str]:
    """One ``xueji mail imap --once`` in the test's transaction."""
    if changes:
        app.config["XUEJI"] = dataclasses.replace(app.config["XUEJI"], **changes)
    return poll(app, ImapSettings.from_settings(app.config["XUEJI"]), stop=threading.Event(), once=True)


def rows(desk) -> list[ReceivedMail]:
    return list(desk.session.scalars(select(ReceivedMail).order_by(ReceivedMail.id)))


def until(condition: Callable[[], bool], what: str, alive: threading.Thread | None = None) -> None:
    """Wait for ``condition`` (a guard against hanging for ever, not a measure of speed)."""
    deadline = time.monotonic() + 120
    while not condition():
        assert alive is None or alive.is_alive(), f"the poller stopped before {what}"
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.02)


def in_background(app: Flask, **changes: object) -> tuple[threading.Thread, threading.Event]:
    """``xueji mail imap`` (not --once) in a thread, until the returned event is set."""
    app.config["XUEJI"] = dataclasses.replace(app.config["XUEJI"], **changes)
    stop = threading.Event()
    thread = threading.Thread(target=poll, args=(app, ImapSettings.from_settings(app.config["XUEJI"])),
                              kwargs={"stop": stop}, name="imap-poller")
    thread.start()
    return thread, stop


def test_mail_in_the_box_becomes_one_outcome_each_and_is_flagged_done(app, imap_desk, box: Box):
    box.append([mail(1), mail(2), AUTO])
    assert take(app) == Counter({"ticket": 2, "auto": 1})
    uidvalidity = box.uidvalidity()
    recorded = rows(imap_desk)
    assert {(r.source, r.source_key) for r in recorded} == {("imap", f"INBOX/{uidvalidity}/{uid}")
                                                            for uid in (1, 2, 3)}
    assert sorted(r.outcome for r in recorded) == ["auto", "ticket", "ticket"]
    assert imap_desk.count(Ticket) == 2 and len(imap_desk.acks()) == 2
    assert box.flags() == {1: {DONE, SEEN}, 2: {DONE, SEEN}, 3: {DONE, SEEN}}


def test_a_second_run_changes_nothing(app, imap_desk, box: Box):
    box.append([mail(1), AUTO])
    take(app)
    before = [(r.id, r.source_key, r.outcome, r.ticket_id) for r in rows(imap_desk)]
    assert take(app) == Counter()
    assert [(r.id, r.source_key, r.outcome, r.ticket_id) for r in rows(imap_desk)] == before
    assert imap_desk.count(Ticket) == 1 and box.done() == 2


def test_a_message_recorded_before_a_crash_is_only_flagged_on_restart(app, imap_desk, box: Box):
    """Killed after the commit, before the flag: the next run records nothing new."""
    raw = mail(1)
    box.append([raw])
    key = f"INBOX/{box.uidvalidity()}/1"
    first = deliver(imap_desk.session, raw, source="imap", source_key=key, settings=imap_desk.config,
                    raw_path="imap/INBOX.0.1")
    assert box.flags() == {1: set()}
    assert take(app) == Counter({"already": 1})
    assert [(r.id, r.source_key) for r in rows(imap_desk)] == [(first.record_id, key)]
    assert imap_desk.count(Ticket) == 1 and box.flags() == {1: {DONE, SEEN}}


def test_the_raw_file_is_the_fetched_bytes_and_received_at_the_internaldate(app, imap_desk, box: Box):
    # 8-bit GBK in a header and the body: kept byte for byte, never re-encoded.
    raw = ("From: 家长 <parent@qq.com>\r\nTo: 66119801@moe.edu.cn\r\nSubject: 学籍问题\r\n"
           "Message-ID: <gbk-raw@qq.com>\r\nContent-Type: text/plain; charset=gbk\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\n孩子在学校 2113000001 读书。\r\n").encode("gbk")
    at = datetime.datetime(2026, 11, 20, 9, 30, tzinfo=BEIJING)
    box.append([raw], at=at)
    assert take(app) == Counter({"ticket": 1})
    with box.connect() as client:
        client.select_folder("INBOX", readonly=True)
        fetched = client.fetch([1], ["BODY.PEEK[]"])[1][b"BODY[]"]
    (row,) = rows(imap_desk)
    assert row.raw_path == f"imap/INBOX.{box.uidvalidity()}.1"
    assert (imap_desk.spool.root / row.raw_path).read_bytes() == fetched == raw
    assert row.received_at == at and row.size == len(raw)
    # The spool's worker never sees it: it is not in new/.
    assert list((imap_desk.spool.root / "new").iterdir()) == []


def test_a_new_uidvalidity_makes_the_copies_duplicates_and_no_new_tickets(app, imap_desk, box: Box):
    folder = "学籍邮件"  # a non-ASCII name: modified UTF-7 on the wire, quoted in file names
    raws = [mail(1), mail(2), AUTO]
    with box.connect() as client:
        client.create_folder(folder)
    box.append(raws, folder)
    assert take(app, imap_folder=folder) == Counter({"ticket": 2, "auto": 1})
    first = {r.id for r in rows(imap_desk)}
    old = box.uidvalidity(folder)
    # The folder recreated with the same messages: same UIDs, a new UIDVALIDITY.
    with box.connect() as client:
        client.delete_folder(folder)
        client.create_folder(folder)
    box.append(raws, folder)
    new = box.uidvalidity(folder)
    assert new != old
    assert take(app) == Counter({"duplicate": 3})
    again = [r for r in rows(imap_desk) if r.id not in first]
    assert sorted(r.source_key for r in again) == [f"{folder}/{new}/{uid}" for uid in (1, 2, 3)]
    assert {r.duplicate_of for r in again} == first
    assert imap_desk.count(Ticket) == 2 and len(imap_desk.acks()) == 2
    assert box.done(folder) == 3


def test_with_a_done_folder_processed_mail_is_moved_there_flagged(app, imap_desk, box: Box):
    with box.connect() as client:
        client.create_folder("已处理")
    box.append([mail(1), AUTO])
    assert take(app, imap_done_folder="已处理") == Counter({"ticket": 1, "auto": 1})
    assert box.flags("INBOX") == {}
    assert list(box.flags("已处理").values()) == [{DONE, SEEN}, {DONE, SEEN}]


def test_mail_flagged_but_not_moved_before_a_crash_is_moved_on_restart(app, imap_desk, box: Box):
    with box.connect() as client:
        client.create_folder("已处理")
    box.append([mail(1)])
    take(app)  # recorded and flagged; the move had not happened yet
    assert take(app, imap_done_folder="已处理") == Counter({"already": 1})
    assert box.flags("INBOX") == {} and list(box.flags("已处理").values()) == [{DONE, SEEN}]
    assert len(rows(imap_desk)) == 1


def test_idle_takes_a_message_appended_while_idling(app, imap_desk, box: Box, caplog):
    caplog.set_level(logging.DEBUG, logger="mailintake.imap")
    # An hour between looks: only IDLE can bring the message in during the test.
    thread, stop = in_background(app, imap_poll_seconds=3600)
    try:
        until(lambda: any("idle in INBOX" in r.getMessage() for r in caplog.records), "IDLE", thread)
        box.append([mail(1)])
        until(lambda: box.done() == 1, "the message to be taken", thread)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert [r.outcome for r in rows(imap_desk)] == ["ticket"]


def test_a_server_without_idle_or_move_is_polled_and_mail_copied_away(app, imap_desk, make_box, caplog):
    caplog.set_level(logging.INFO, logger="mailintake.imap_poll")
    plain = make_box("bare")  # no IDLE, no MOVE, no UIDPLUS
    with plain.connect() as client:
        assert client.capabilities() == (b"IMAP4REV1",)
        client.create_folder("已处理")
    thread, stop = in_background(app, **plain.settings(imap_poll_seconds=1, imap_done_folder="已处理"))
    try:
        until(lambda: any("polling every 1 s" in r.getMessage() for r in caplog.records), "polling", thread)
        plain.append([mail(1)])
        until(lambda: plain.flags("已处理") != {}, "the message to be moved", thread)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    # Copied, then flagged \Deleted in the folder (nothing is expunged without UIDPLUS).
    assert plain.flags("INBOX") == {} and list(plain.flags("已处理").values()) == [{DONE, SEEN}]
    assert [r.outcome for r in rows(imap_desk)] == ["ticket"]


def test_a_kick_mid_run_reconnects_and_finishes(app, imap_desk, box: Box, caplog):
    n = 100
    box.append([mail(i) for i in range(n)])
    counts: Counter[str] = Counter()
    thread = threading.Thread(target=lambda: counts.update(take(app)), name="imap-poller")
    thread.start()
    until(lambda: box.done() >= 5, "the first messages", thread)
    box.kick()
    thread.join(timeout=300)
    assert any("reconnecting" in r.getMessage() for r in caplog.records), "the kick did not interrupt the run"
    assert box.done() == n
    recorded = rows(imap_desk)
    assert len({r.source_key for r in recorded}) == len(recorded) == n
    assert imap_desk.count(Ticket) == n
    # A message whose flag the kick cut off was recorded once and is counted "already" on the retry.
    assert counts["ticket"] + counts["already"] == n


@pytest.fixture
def down_url(backend: str) -> str:
    """A database that cannot be reached: nothing listens on port 1; the SQLite folder does not exist."""
    if backend == "postgresql":
        return "postgresql://postgres@127.0.0.1:1/xueji"
    return "sqlite:////nonexistent-xueji/down.sqlite3"


def test_a_database_that_is_down_leaves_the_message_unflagged_and_nothing_lost(
        app, imap_desk, box: Box, down_url: str, tmp_path: Path):
    box.append([mail(1)])
    down = fresh_app(down_url, tmp_path / "down", mail_spool=str(imap_desk.spool.root), **box.settings())
    with pytest.raises(OperationalError):
        poll(down, ImapSettings.from_settings(down.config["XUEJI"]), stop=threading.Event(), once=True)
    assert box.flags() == {1: set()}  # not flagged: it will be taken again
    assert list((imap_desk.spool.root / "imap").iterdir()) != []  # but already kept raw
    assert take(app) == Counter({"ticket": 1})
    assert box.flags() == {1: {DONE, SEEN}} and len(rows(imap_desk)) == 1
