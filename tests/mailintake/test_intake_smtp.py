"""The SMTP entrance's hand-off: mail received over SMTP becomes a ticket in the same process.

``xueji mail smtp --work`` runs the receiver (250 only once the message is
on disk) and the worker that drains the store, as ``xueji demo`` starts it.
"""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from hotline import db
from hotline.tickets.inbox import ReceivedMail
from tests.conftest import ID_KEY
from tests.hotline.test_cli import XUEJI
from tests.hotline.test_serve import free_port
from tests.mailintake.conftest import MAILBOX, message


def outcomes(url: str) -> Counter[str]:
    engine = db.make_engine(url)
    with engine.connect() as connection:
        found = Counter(connection.scalars(select(ReceivedMail.outcome)))
    engine.dispose()
    return found


def test_mail_received_over_smtp_becomes_one_ticket_even_when_delivered_twice(fresh_database, tmp_path: Path):
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("XUEJI_")}
    environ.update(XUEJI_ENV="testing", XUEJI_DATABASE_URL=fresh_database, XUEJI_SECRET_KEY="test-secret",
                   XUEJI_ID_HASH_KEY=ID_KEY, XUEJI_INSTANCE_PATH=str(tmp_path / "instance"))
    worker = subprocess.Popen([XUEJI, "mail", "smtp", "--port", str(port), "--work"], env=environ,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        raw = message("孩子在学校 2113000001 读书，学籍转不过来。")
        deadline = time.monotonic() + 30
        sent = 0
        while sent < 2:  # the second time as a sender that missed our 250 would retry
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
                    client.sendmail("parent@qq.com", [MAILBOX], raw)
                sent += 1
            except ConnectionRefusedError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        while sum(outcomes(fresh_database).values()) < 2:
            assert time.monotonic() < deadline, "the worker did not take the mail up"
            time.sleep(0.2)
        assert outcomes(fresh_database) == Counter({"ticket": 1, "duplicate": 1})
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=15)
    assert worker.returncode == 0, err
    assert "并在本进程中处理" in out
    # The worker logs as the site does: one line per message, its key and outcome only.
    lines = [line for line in err.splitlines() if " mailintake.intake " in line]
    logged = [line.split(": ", 1)[1].split() for line in lines]
    assert [outcome for outcome, _ in logged] == ["ticket", "duplicate"], err
    assert logged[0][1] == logged[1][1] and logged[0][1].endswith("-000001")
    assert "parent@qq.com" not in err
    assert " mail.log " not in err  # aiosmtpd's line per SMTP command is left out
