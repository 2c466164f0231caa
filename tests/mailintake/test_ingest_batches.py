"""``xueji mail ingest`` takes its files in batches: stored at once, then delivered one by one.

The batch shares one fsync of the store's ``new/``; every message still gets
its own transaction, its own outcome, in the order of the files, and a
database that fails in the middle of a batch leaves the rest in ``new/`` for
``xueji mail work``: nothing lost, nothing twice. The worker keeps the
authority tree between messages (hotline.routing.TreeCache).
"""

from __future__ import annotations

import json
from collections import Counter

from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from hotline import db
from hotline.tickets.inbox import ReceivedMail
from mailintake import worker
from mailintake.config import MailConfig
from mailintake.spool import Spool
from mailintake.worker import ingest_many
from tests.mailintake.conftest import MAILBOX, message
from tests.mailintake.test_ingest_cli import cli, write  # noqa: F401 - the fixture

BATCH = [message("学校标识码 2113000001"), message("我正在休假", Auto_Submitted="auto-replied"),
         message("回执", X_Xueji_Loop=MAILBOX), message("学校标识码 2111000001", sender="家长乙 <b@163.com>")]


def test_a_batch_is_stored_at_once_and_each_message_gets_its_own_outcome_in_order(maildesk):
    outcomes = list(ingest_many(maildesk.session, maildesk.spool, BATCH, maildesk.config))
    assert [(o.outcome, o.unit) for o in outcomes] == [
        ("ticket", "130102"), ("auto", None), ("loop", None), ("ticket", "110105")]
    assert maildesk.spool.waiting() == []
    assert len(list((maildesk.spool.root / "cur").iterdir())) == len(BATCH)
    assert maildesk.count(ReceivedMail) == len(BATCH)


def test_ingest_takes_more_files_than_a_batch_in_their_order(cli, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setattr("mailintake.cli.INGEST_BATCH", 3)
    files = [write(tmp_path, f"{i}.eml", message(f"学校标识码 2113000001，第 {i} 封")) for i in range(7)]
    result = cli("ingest", "--json", *files)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [(line["file"], line["outcome"]) for line in lines] == [(f, "ticket") for f in files]
    assert len({line["ticket"] for line in lines}) == len(files)


def test_a_database_failure_in_a_batch_leaves_the_rest_for_the_worker_once(app, cli, tmp_path,  # noqa: F811
                                                                           monkeypatch):
    files = [write(tmp_path, f"{i}.eml", message(f"学校标识码 2113000001，第 {i} 封")) for i in range(4)]
    deliver, calls = worker.deliver, []

    def failing_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OperationalError("INSERT", {}, Exception("the server went away"))
        return deliver(*args, **kwargs)

    monkeypatch.setattr(worker, "deliver", failing_second)
    result = cli("ingest", "--json", *files)
    assert result.exit_code == 1
    assert json.loads(result.output.splitlines()[0])["file"] == files[0]
    assert f"{files[1]}: 数据库无法使用，该邮件及其后的 2 封邮件已保存在" in result.output
    monkeypatch.setattr(worker, "deliver", deliver)
    with app.app_context():
        config = MailConfig.from_app(app)
        assert worker.drain(db.session(), Spool(config.store), config) == {"ticket": 3}
        session = db.session()
        assert Counter(session.scalars(select(ReceivedMail.outcome))) == {"ticket": 4}
        assert session.scalar(select(func.count(func.distinct(ReceivedMail.content_sha256)))) == 4


def test_the_worker_reads_the_authority_tree_once_for_many_messages(maildesk, connection):
    units: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if "FROM units" in statement:
            units.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    try:
        outcomes = [maildesk.ingest(message(f"学校标识码 {code}", sender=f"家长 <p{i}@qq.com>"))
                    for i, code in enumerate(["2113000001", "2113000002", "2111000001"] * 2)]
    finally:
        event.remove(connection, "before_cursor_execute", record)
    assert [o.unit for o in outcomes] == ["130102", "130104", "110105"] * 2
    assert len(units) == 1
