"""The outgoing queue under crashes and concurrency, and ``xueji mail send`` (issue 6 items 6 and 7)."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select, update

from hotline import db
from hotline.tickets.outbox import OutgoingMail
from mailintake.cli import mail
from mailintake.config import MailConfig
from mailintake.sender import LEASE, MAX_ATTEMPTS, claim, run
from mailintake.spool import Spool
from mailintake.worker import ingest
from tests.mailintake.conftest import fresh_app, message
from tests.mailintake.sender.conftest import T, rows, send


def test_a_row_left_sending_by_a_crashed_sender_is_sent_once_after_its_lease(desk, relay, sink):
    claimed = claim(desk.session, T)  # ... and the sender dies before SMTP
    [ack] = rows(desk)
    assert (claimed.id, ack.status, ack.attempts, ack.next_attempt_at) == (ack.id, "sending", 1, T + LEASE)
    assert send(desk, relay, T + LEASE / 2) == {}  # still another sender's
    assert sink.received == []
    assert send(desk, relay, T + LEASE) == {"sent": 1}
    [ack] = rows(desk)
    assert (ack.status, ack.attempts) == ("sent", 2) and len(sink.received) == 1


def test_a_crashed_sender_at_the_last_attempt_leaves_the_row_failed_not_resent(desk, relay, sink):
    desk.session.execute(update(OutgoingMail).values(attempts=MAX_ATTEMPTS - 1))
    desk.session.commit()
    claim(desk.session, T)
    assert send(desk, relay, T + LEASE) == {"failed": 1}
    [ack] = rows(desk)
    assert (ack.status, ack.attempts) == ("failed", MAX_ATTEMPTS)
    assert ack.last_error == "上次发送中断（发信进程退出）"
    assert sink.received == []
    assert len(desk.events(desk.ticket_, "undeliverable")) == 1


def test_several_senders_at_once_send_every_row_exactly_once(backend, fresh_database, tmp_path, sink):
    """PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the claiming UPDATE takes the write lock."""
    sink.delay = 0.02  # each DATA takes a moment, so that the senders overlap
    app = fresh_app(fresh_database, tmp_path / "instance", mail_ack_per_hour=1000,
                    outbound_smtp_host="127.0.0.1", outbound_smtp_port=sink.port)
    with app.app_context():
        config = MailConfig.from_app(app)
        spool = Spool(config.store)
        for i in range(30):
            ingest(db.session(), spool, message(f"第 {i} 封", sender=f"家长{i} <p{i}@qq.com>"), config)
    results: list[Counter[str]] = []
    failures: list[BaseException] = []

    def sender() -> None:
        try:
            results.append(run(app, stop=threading.Event(), once=True))
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    ids = Counter(r.message["Message-ID"] for r in sink.received)
    assert len(ids) == 30 and set(ids.values()) == {1}
    assert sum(results, Counter()) == Counter({"sent": 30})
    with app.app_context():
        sent = db.session().execute(select(OutgoingMail.status, OutgoingMail.attempts)).all()
        assert Counter(map(tuple, sent)) == Counter({("sent", 1): 30})
    app.extensions["xueji.engine"].dispose()
    if backend == "postgresql":
        assert sum(1 for r in results if r["sent"]) >= 2  # they really shared the work


@pytest.fixture
def cli(app, runner, maildesk):
    def invoke(*args: str, **settings: object):
        app.config["XUEJI"] = dataclasses.replace(app.config["XUEJI"], **settings)
        return runner.invoke(mail, list(args))
    return invoke


def test_mail_send_once_sends_what_is_due_and_says_so(cli, maildesk, sink):
    maildesk.ingest(message("学校标识码 2113000001"))
    result = cli("send", "--once", outbound_smtp_host="127.0.0.1", outbound_smtp_port=sink.port)
    # What the command says is on stdout; its log (stderr) is the operator's, not asserted here.
    assert (result.exit_code, result.stdout) == (0, "发信完毕：已发送 1 封\n")
    assert len(sink.received) == 1
    again = cli("send", "--once")
    assert again.stdout == "发信完毕：没有待发送的邮件\n"


def test_mail_send_without_a_relay_is_one_line_and_sends_nothing(cli, maildesk):
    maildesk.ingest(message("学校标识码 2113000001"))
    result = cli("send", "--once")
    assert result.exit_code == 1
    assert result.output == "Error: 未配置发信服务器（XUEJI_OUTBOUND_SMTP_HOST），无法发送邮件\n"
    assert [a.status for a in maildesk.acks()] == ["queued"]


@pytest.mark.parametrize("flag, sent", [((), 1), (("--no-send",), 0)])
def test_mail_work_sends_the_acknowledgements_too_unless_told_not_to(app, cli, maildesk, sink, flag, sent):
    Spool(Path(app.instance_path) / "mail").store(message("学校标识码 2113000001"))
    result = cli("work", "--once", *flag, outbound_smtp_host="127.0.0.1", outbound_smtp_port=sink.port)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "处理完毕：新建工单 1 封"
    assert lines[1:] == (["发信：已发送 1 封"] if sent else [])
    assert len(sink.received) == sent
