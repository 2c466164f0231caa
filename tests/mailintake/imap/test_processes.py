"""``xueji mail imap`` processes: stopped, killed, and side by side (issue 6 items 1 and 6).

Real processes on a database of their own, against the test's Dovecot
mailbox. Killed at random moments with SIGKILL and restarted, pollers lose
nothing and duplicate nothing; SIGTERM lets the current message finish;
two pollers on one mailbox take every message once.
``XUEJI_TEST_KILL_MESSAGES`` sets the size of the kill test's batch (as for
the spool's kill test; here a fifth of it by default).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from imapclient import IMAPClient
from sqlalchemy import func, select

from hotline import db
from hotline.tickets.inbox import ReceivedMail
from hotline.tickets.models import Ticket
from hotline.tickets.outbox import OutgoingMail
from tests.conftest import ID_KEY
from tests.hotline.test_cli import XUEJI
from tests.mailintake.imap.conftest import DONE, Box
from tests.mailintake.test_kill import MAX_BYTES, batch

SIZE = int(os.environ.get("XUEJI_TEST_KILL_MESSAGES", "500")) // 5


def environ(box: Box, database: str, tmp_path: Path) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("XUEJI_")}
    values.update(XUEJI_ENV="testing", XUEJI_DATABASE_URL=database, XUEJI_SECRET_KEY="test-secret",
                  XUEJI_ID_HASH_KEY=ID_KEY, XUEJI_INSTANCE_PATH=str(tmp_path / "instance"),
                  XUEJI_MAIL_ACK_PER_HOUR="1000000", XUEJI_MAIL_MAX_BYTES=str(MAX_BYTES), **box.environ())
    return values


def start(n: int, env: dict[str, str], *args: str) -> list[subprocess.Popen]:
    return [subprocess.Popen([XUEJI, "mail", "imap", *args], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(n)]


class Watch:
    """One read-only connection that counts the messages flagged done, to time the kills.

    Its view may lag a little behind (Dovecot rescans a maildir by its
    modification time); counts that are asserted come from a new connection
    (``box.done()``).
    """

    def __init__(self, box: Box):
        self.client: IMAPClient = box.connect()
        self.client.select_folder("INBOX", readonly=True)

    def done(self) -> int:
        self.client.noop()
        return len(self.client.search(["KEYWORD", DONE.decode()]))

    def wait(self, count: int, processes: list[subprocess.Popen]) -> None:
        """Until ``count`` are flagged or the pollers have all stopped (a guard, not a measure)."""
        deadline = time.monotonic() + 300
        while self.done() < count and time.monotonic() < deadline:
            if all(p.poll() is not None for p in processes):
                return
            time.sleep(0.005)

    def close(self) -> None:
        self.client.logout()


def finish(processes: list[subprocess.Popen]) -> list[str]:
    """Wait for --once pollers; their output (each must have succeeded)."""
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
        outputs.append(out)
    return outputs


def outcomes(database: str) -> tuple[Counter[str], int, list[str], int]:
    """Outcomes counted, distinct keys, ticket numbers, acknowledgements."""
    engine = db.make_engine(database)
    with engine.connect() as connection:
        counted = Counter(dict(connection.execute(
            select(ReceivedMail.outcome, func.count()).group_by(ReceivedMail.outcome)).all()))
        keys = connection.scalar(select(func.count(func.distinct(ReceivedMail.source_key))))
        numbers = sorted(connection.scalars(select(Ticket.number)))
        acks = connection.scalar(select(func.count()).select_from(OutgoingMail))
    engine.dispose()
    return counted, keys, numbers, acks


def consecutive(numbers: list[str]) -> bool:
    return numbers == [f"{numbers[0][:4]}-{i:06d}" for i in range(1, len(numbers) + 1)]


def test_sigterm_lets_the_current_message_finish_and_stops(fresh_database, box: Box, tmp_path: Path):
    raws, expected = batch(60)
    box.append(raws)
    env = environ(box, fresh_database, tmp_path)
    watch = Watch(box)
    try:
        (poller,) = start(1, env)
        watch.wait(5, [poller])
        poller.send_signal(signal.SIGTERM)
        out, err = poller.communicate(timeout=120)
        assert poller.returncode == 0, err
        assert out.startswith(f"IMAP 收信已启动：imap://127.0.0.1:{box.server.port}/INBOX")
        # Stopped between messages: everything recorded is flagged, and nothing flagged is unrecorded.
        stopped_at = box.done()
        counted, *_ = outcomes(fresh_database)
        assert 0 < stopped_at < len(raws) and sum(counted.values()) == stopped_at
        finish(start(1, env, "--once"))
        counted, keys, numbers, acks = outcomes(fresh_database)
        assert counted == expected and keys == len(raws) and box.done() == len(raws)
        assert len(numbers) == acks == expected["ticket"] and consecutive(numbers)
    finally:
        watch.close()


def test_two_pollers_on_one_mailbox_take_every_message_once(backend, fresh_database, box: Box,
                                                            tmp_path: Path):
    if backend != "postgresql":
        pytest.skip("several pollers at once are for PostgreSQL (SQLite takes one writer at a time)")
    raws, expected = batch(200)
    box.append(raws)
    outputs = finish(start(2, environ(box, fresh_database, tmp_path), "--once"))
    counted, keys, numbers, acks = outcomes(fresh_database)
    assert counted == expected and keys == len(raws)
    assert len(numbers) == acks == expected["ticket"] and consecutive(numbers)
    assert box.done() == len(raws)
    # Both took part (each starts at a random place in the folder).
    assert all("新建工单" in out for out in outputs), outputs


def test_killed_pollers_lose_and_duplicate_nothing(backend, fresh_database, box: Box, tmp_path: Path):
    workers = 2 if backend == "postgresql" else 1
    raws, expected = batch(SIZE)
    box.append(raws)
    env = environ(box, fresh_database, tmp_path)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    watch = Watch(box)
    interrupted = 0
    try:
        for _ in range(6):
            before = box.done()
            if before == len(raws):
                break
            processes = start(workers, env, "--once")
            watch.wait(before + rng.randint(1, max(1, SIZE // 8)), processes)
            time.sleep(rng.uniform(0, 0.02))  # somewhere inside a message: fetch, store, commit, flag
            for process in processes:
                process.kill()
                process.communicate()
            interrupted += before < box.done() < len(raws)
        finish(start(workers, env, "--once"))
        assert interrupted >= 4, f"the kills did not interrupt the work (seed {seed})"
        assert box.done() == len(raws)
    finally:
        watch.close()
    counted, keys, numbers, acks = outcomes(fresh_database)
    assert counted == expected, f"seed {seed}"
    assert keys == len(raws)
    assert len(numbers) == acks == expected["ticket"] and consecutive(numbers), f"seed {seed}"
    assert len(list((tmp_path / "instance" / "mail" / "imap").iterdir())) == len(raws)
