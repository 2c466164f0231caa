"""The kill test: workers SIGKILLed at random points lose nothing and duplicate nothing (issue 6 item 9).

A store of 500 messages of every kind is drained by ``xueji mail work``
processes (one on SQLite, two at once on PostgreSQL) that are killed with
SIGKILL at random moments, several times, and restarted; a last run drains
what is left. Then every message has exactly one ``received_mail`` row, the
outcomes are exactly what the batch holds, there is one ticket and one
acknowledgement per distinct normal message, and the ticket numbers have no
gap and no repeat. ``XUEJI_TEST_KILL_MESSAGES=5000`` runs a larger batch.
"""

from __future__ import annotations

import email.utils
import os
import random
import subprocess
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from hotline import db
from hotline.tickets.inbox import ReceivedMail
from hotline.tickets.models import Event, Ticket
from hotline.tickets.outbox import OutgoingMail
from mailintake.spool import Spool
from tests.conftest import ID_KEY
from tests.hotline.test_cli import XUEJI
from tests.mailintake.conftest import MAILBOX, message

SIZE = int(os.environ.get("XUEJI_TEST_KILL_MESSAGES", "500"))
MAX_BYTES = 20_000


def batch(n: int) -> tuple[list[bytes], Counter[str]]:
    """n messages: 70 % normal (a tenth of them delivered twice), the rest automatic or refused."""
    raws: list[bytes] = []
    normals: list[bytes] = []
    expected: Counter[str] = Counter()
    kinds = ["normal"] * 60 + ["retry"] * 10 + ["auto"] * 12 + ["bounce"] * 8 + ["loop"] * 5 + ["big"] * 5
    for i in range(n):
        kind = kinds[i % len(kinds)]
        sender = f"家长{i} <p{i}@qq.com>"
        body = f"第 {i} 封：孩子在学校 2113000001 读书，学籍号查不到。"
        if kind in ("normal", "retry"):
            raw = message(body, sender=sender, message_id=email.utils.make_msgid(f"k{i}", domain="qq.com"))
            if kind == "retry" and normals:
                # The copy an SMTP retry leaves: another trace on top of an earlier message.
                trace = "Return-Path: <p@qq.com>\r\nReceived: from mx2 ([10.0.0.2])\r\n\tby xueji with ESMTP"
                raw = f"{trace} for <{MAILBOX}>; {i}\r\n".encode() + normals[-1 - i % 10]
                expected["duplicate"] += 1
            else:
                normals.append(raw)
                expected["ticket"] += 1
        elif kind == "auto":
            raw = message("我正在休假", subject="自动回复：学籍问题", sender=sender,
                          Auto_Submitted="auto-replied")
            expected["auto"] += 1
        elif kind == "bounce":
            raw = message("550 5.1.1 user unknown", subject="Undelivered Mail", sender="MAILER-DAEMON@qq.com")
            expected["bounce"] += 1
        elif kind == "loop":
            raw = message("回执", sender=sender, X_Xueji_Loop=MAILBOX)
            expected["loop"] += 1
        else:
            raw = message(body * 400, sender=sender)  # over XUEJI_MAIL_MAX_BYTES
            expected["quarantine"] += 1
        raws.append(raw)
    return raws, expected


def start(workers: int, environ: dict[str, str], stderr: int = subprocess.DEVNULL) -> list[subprocess.Popen]:
    return [subprocess.Popen([XUEJI, "mail", "work", "--once"], env=environ, stdout=subprocess.DEVNULL,
                             stderr=stderr) for _ in range(workers)]


def kill_after(processes: list[subprocess.Popen], spool: Spool, done: int, jitter: float) -> None:
    """SIGKILL once ``done`` more messages have left new/ (and ``jitter`` seconds later), or
    when the workers have stopped by themselves."""
    target = len(spool.waiting()) - done
    deadline = time.monotonic() + 120
    while len(spool.waiting()) > target and time.monotonic() < deadline:
        if all(p.poll() is not None for p in processes):
            break
        time.sleep(0.005)
    time.sleep(jitter)  # somewhere inside the next message: parsing, the transaction, the commit, the move
    for process in processes:
        process.kill()
        process.wait()


def test_killed_workers_lose_and_duplicate_nothing(backend, fresh_database, tmp_path: Path):
    workers = 2 if backend == "postgresql" else 1
    spool = Spool(tmp_path / "spool")
    raws, expected = batch(SIZE)
    for raw in raws:
        spool.store(raw)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("XUEJI_")}
    environ.update(XUEJI_ENV="testing", XUEJI_DATABASE_URL=fresh_database, XUEJI_SECRET_KEY="test-secret",
                   XUEJI_ID_HASH_KEY=ID_KEY, XUEJI_INSTANCE_PATH=str(tmp_path / "instance"),
                   XUEJI_MAIL_SPOOL=str(spool.root), XUEJI_MAIL_ACK_PER_HOUR="1000000",
                   XUEJI_MAIL_MAX_BYTES=str(MAX_BYTES))
    engine = db.make_engine(fresh_database)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    interrupted = 0
    for _ in range(6):
        if not spool.waiting():
            break
        before = len(spool.waiting())
        kill_after(start(workers, environ), spool, rng.randint(1, max(1, SIZE // 8)), rng.uniform(0, 0.02))
        left = len(spool.waiting())
        interrupted += 0 < left < before
    finished = start(workers, environ, stderr=subprocess.PIPE)
    for process in finished:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()
    assert interrupted >= 4, f"the kills did not interrupt the work (seed {seed})"

    with engine.connect() as connection:
        outcomes = Counter(dict(connection.execute(
            select(ReceivedMail.outcome, func.count()).group_by(ReceivedMail.outcome)).all()))
        keys = connection.scalar(select(func.count(func.distinct(ReceivedMail.source_key))))
        numbers = sorted(connection.scalars(select(Ticket.number)))
        received = connection.scalar(select(func.count()).select_from(Event).where(Event.kind == "received"))
        acks = connection.scalar(select(func.count()).select_from(OutgoingMail))
        doubles = connection.execute(
            select(ReceivedMail.ticket_id).where(ReceivedMail.outcome == "ticket")
            .group_by(ReceivedMail.ticket_id).having(func.count() > 1)).all()
    engine.dispose()
    assert outcomes == expected, f"seed {seed}"
    assert keys == sum(expected.values()) == len(raws)
    assert len(numbers) == received == acks == expected["ticket"]
    assert numbers == [f"{numbers[0][:4]}-{i:06d}" for i in range(1, len(numbers) + 1)]
    assert doubles == []  # no ticket came from two rows
    assert spool.waiting() == [] and len(list((spool.root / "cur").iterdir())) == len(raws)
