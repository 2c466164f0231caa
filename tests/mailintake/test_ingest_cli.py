"""``xueji mail ingest`` and ``xueji mail work`` as an operator uses them (issue 6 items 1 and 8)."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from hotline import db
from hotline.tickets.inbox import OUTCOMES, ReceivedMail
from hotline.tickets.models import Ticket
from mailintake.cli import mail
from mailintake.spool import Spool
from tests.mailintake.conftest import MAILBOX, add_registry, message
from tests.mailintake.test_corpus import FILES

KEYS = ["file", "outcome", "ticket", "unit"]


@pytest.fixture
def cli(app, runner):
    """``xueji mail …`` in the test's transaction, with the registry of the mail tests."""
    from mailintake.config import MailConfig

    with app.app_context():
        add_registry(db.session(), MailConfig.from_app(app))
        db.session().commit()

    def invoke(*args: str):
        return runner.invoke(mail, list(args))
    return invoke


def settings(app, **changes) -> None:
    app.config["XUEJI"] = dataclasses.replace(app.config["XUEJI"], **changes)


def write(tmp_path: Path, name: str, raw: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(raw)
    return str(path)


def test_ingest_json_prints_one_object_per_file_with_its_outcome(cli, tmp_path):
    files = [write(tmp_path, "a.eml", message("学校标识码 2113000001")),
             write(tmp_path, "b.eml", message("休假中", Auto_Submitted="auto-replied")),
             write(tmp_path, "c.eml", b"")]
    result = cli("ingest", "--json", *files)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [list(line) for line in lines] == [KEYS] * 3
    assert [(line["file"], line["outcome"], line["unit"]) for line in lines] == [
        (files[0], "ticket", "130102"), (files[1], "auto", None), (files[2], "quarantine", None)]
    assert lines[0]["ticket"].startswith("20") and lines[1]["ticket"] is None


def test_ingesting_the_same_file_twice_is_a_duplicate_of_the_same_ticket(cli, tmp_path):
    path = write(tmp_path, "a.eml", message("学校标识码 2113000001"))
    first = json.loads(cli("ingest", "--json", path).output)
    second = json.loads(cli("ingest", "--json", path).output)
    assert (first["outcome"], second["outcome"]) == ("ticket", "duplicate")
    assert second["ticket"] == first["ticket"]


def test_ingest_without_json_says_it_in_words(cli, tmp_path):
    path = write(tmp_path, "a.eml", message("学校标识码 2113000001"))
    result = cli("ingest", path)
    assert result.exit_code == 0
    assert result.output.startswith(f"{path}: 新建工单，工单 20")
    assert result.output.endswith("负责单位 130102\n")


def test_an_unreadable_file_is_one_line_and_the_others_are_still_ingested(cli, tmp_path):
    good = write(tmp_path, "good.eml", message("学校标识码 2113000001"))
    result = cli("ingest", "--json", str(tmp_path / "missing.eml"), good)
    assert result.exit_code == 1
    assert f"{tmp_path / 'missing.eml'}: 无法读取（No such file or directory）" in result.output
    assert json.loads(result.output.splitlines()[-1])["outcome"] == "ticket"


def test_a_receiving_unit_that_does_not_exist_is_one_line_and_nothing_is_ingested(app, cli, tmp_path):
    settings(app, mail_receiving_unit="999999")
    result = cli("ingest", write(tmp_path, "a.eml", message("学校标识码 2113000001")))
    assert result.exit_code == 1
    assert result.output == "Error: 收件单位 999999 不存在（XUEJI_MAIL_RECEIVING_UNIT）\n"


def test_quarantined_mail_is_replayed_with_ingest_after_a_fix(app, cli, tmp_path):
    settings(app, mail_max_bytes=1000)  # a limit set too low
    held = json.loads(cli("ingest", "--json", write(tmp_path, "a.eml", message("学籍问题" * 200))).output)
    assert held["outcome"] == "quarantine"
    with app.app_context():
        session = db.session()
        [(raw_path, reason)] = session.execute(text("SELECT raw_path, reason FROM quarantine")).all()
        assert reason.startswith("too_large：")
    settings(app, mail_max_bytes=25 * 1024 * 1024)  # the fix
    kept = Path(app.instance_path) / "mail" / raw_path
    replayed = json.loads(cli("ingest", "--json", str(kept)).output)
    assert replayed["outcome"] == "ticket"
    with app.app_context():
        assert db.session().execute(text("SELECT count(*) FROM quarantine")).scalar() == 0


def test_mail_work_once_drains_the_store_and_says_what_became_of_it(app, cli):
    spool = Spool(Path(app.instance_path) / "mail")
    for raw in (message("学校标识码 2113000001"), message("第二封"), message("回执", X_Xueji_Loop=MAILBOX)):
        spool.store(raw)
    result = cli("work", "--once")
    assert result.exit_code == 0, result.output
    assert result.output == "处理完毕：本系统发出的邮件回流，未建工单 1 封，新建工单 2 封\n"
    assert spool.waiting() == []


@pytest.mark.skipif(not FILES, reason="mail corpus not found")
def test_every_corpus_message_ends_in_exactly_one_outcome_through_ingest(app, cli):
    result = cli("ingest", "--json", *map(str, FILES))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["file"] for line in lines] == [str(p) for p in FILES]
    assert {line["outcome"] for line in lines} <= set(OUTCOMES)
    with app.app_context():
        session = db.session()
        recorded = Counter(session.scalars(select(ReceivedMail.outcome)))
        assert recorded == Counter(line["outcome"] for line in lines)
        assert sum(recorded.values()) == len(FILES)
        tickets = session.scalar(select(func.count()).select_from(Ticket))
        assert tickets == recorded["ticket"]
