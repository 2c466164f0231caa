"""Fixtures of the mail pipeline's tests: a mail desk (app, session, store) and message builders.

The desk runs the real pipeline in the test's transaction: ``deliver``
commits to a savepoint, so a test sees what a worker would have committed,
and nothing leaks into the next test. Schools and students are added on the
seeded authority tree.
"""

from __future__ import annotations

import datetime
import email.utils
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline import db
from hotline.app import create_app
from hotline.config import load_settings
from hotline.tickets.inbox import ReceivedMail
from hotline.tickets.models import Event, Ticket
from hotline.tickets.outbox import OutgoingMail
from lookup.models import School, Student
from lookup.numbers import mask_id_number
from mailintake.config import MailConfig
from mailintake.intake import Outcome, deliver
from mailintake.spool import Spool
from mailintake.worker import finish, ingest
from tests.conftest import ID_KEY
from tests.lookup.factories import id_number, j_number

MAILBOX = "66119801@moe.edu.cn"
PARENT = "家长 <parent@qq.com>"

# Schools on the seeded tree: two counties of 石家庄 (130100) in 河北 (130000),
# one district of 北京 (110000).
SCHOOLS = {
    "2113000001": ("长安区第一小学", "130102", "130102"),
    "2113000002": ("桥西区第一小学", "130104", "130104"),
    "2111000001": ("朝阳区第一小学", "110105", "110105"),
}
G_ID = id_number(sequence=1)  # a G student of 长安区第一小学
J = j_number(1)  # a J student of 桥西区第一小学


def message(body: str = "老师您好，孩子的学籍有问题。", *, subject: str = "学籍问题", sender: str = PARENT,
            to: str = MAILBOX, charset: str = "utf-8", message_id: str | None = None, **fields: str) -> bytes:
    """A message as a mail client sends it (``fields``: extra headers, ``_`` for ``-``)."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = email.utils.format_datetime(datetime.datetime(2026, 11, 20, 9, 30, tzinfo=datetime.UTC))
    mail["Message-ID"] = message_id or email.utils.make_msgid(domain="qq.com")
    for name, value in fields.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body, charset=charset)
    return mail.as_bytes(policy=policy.SMTP)


@dataclass
class MailDesk:
    session: Session
    config: MailConfig
    spool: Spool

    def ingest(self, raw: bytes) -> Outcome:
        return ingest(self.session, self.spool, raw, self.config)

    def received(self, raw: bytes, at: datetime.datetime) -> Outcome:
        """A message the store took in at ``at`` (a worker takes it up now)."""
        name = self.spool.store(raw)
        outcome = deliver(self.session, raw, source="spool", source_key=name, settings=self.config,
                          raw_path=f"cur/{name}", received_at=at)
        finish(self.spool, name)
        return outcome

    def ticket(self, outcome: Outcome) -> Ticket:
        return self.session.scalars(select(Ticket).where(Ticket.number == outcome.ticket)).one()

    def events(self, ticket: Ticket, kind: str | None = None) -> list[Event]:
        query = select(Event).where(Event.ticket_id == ticket.id)
        if kind:
            query = query.where(Event.kind == kind)
        return list(self.session.scalars(query.order_by(Event.id)))

    def acks(self, ticket: Ticket | None = None) -> list[OutgoingMail]:
        query = select(OutgoingMail).where(OutgoingMail.kind == "ack")
        if ticket is not None:
            query = query.where(OutgoingMail.ticket_id == ticket.id)
        return list(self.session.scalars(query.order_by(OutgoingMail.id)))

    def count(self, model, *where) -> int:
        return self.session.scalar(select(func.count()).select_from(model).where(*where))

    def record(self, outcome: Outcome) -> ReceivedMail:
        return self.session.get(ReceivedMail, outcome.record_id)


def add_registry(session: Session, config: MailConfig) -> None:
    for code, (name, division, authority) in SCHOOLS.items():
        session.add(School(code=code, name=name, division_code=division, authority_code=authority))
    session.flush()
    session.add_all([
        Student(number=f"G{G_ID}", kind="G", name="张三", birth_date=datetime.date(2012, 3, 5), gender="M",
                school_code="2113000001", status="在读", id_hash=config.hash_id(G_ID),
                id_masked=mask_id_number(G_ID)),
        Student(number=J, kind="J", name="李四", birth_date=datetime.date(2013, 7, 1), gender="F",
                school_code="2113000002", status="在读"),
    ])
    session.flush()


@pytest.fixture
def fresh_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database of its own, migrated, seeded and with the registry above, for tests that
    commit for real (several workers, killed workers); dropped afterwards."""
    from lookup.registry import seed
    from tests.conftest import _throwaway_postgresql

    if backend == "postgresql":
        urls = _throwaway_postgresql()
        url = next(urls)
    else:
        urls, url = None, f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    app = fresh_app(url, tmp_path / "setup")
    with app.app_context():
        session = db.session()
        seed(session)
        add_registry(session, MailConfig.from_app(app))
        session.commit()
    app.extensions["xueji.engine"].dispose()
    engine.dispose()
    yield url
    if urls is not None:
        next(urls, None)


def fresh_app(url: str, instance: Path, **settings: object) -> Flask:
    """The service's app on ``url``, committing for real, as a worker process has it."""
    return create_app(load_settings({}, env="testing", database_url=url, secret_key="test-secret",
                                    id_hash_key=ID_KEY, instance_path=str(instance), **settings))


@pytest.fixture
def maildesk(app, tmp_path: Path) -> Iterator[MailDesk]:
    with app.app_context():
        session = db.session()
        config = MailConfig.from_app(app)
        add_registry(session, config)
        yield MailDesk(session, config, Spool(config.store))
