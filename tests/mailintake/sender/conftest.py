"""Fixtures of the sender's tests: a real SMTP relay and a ticket whose acknowledgement is queued.

The relay is aiosmtpd on loopback, keeping what it accepts. Its answers
can be set per test (``rcpt_reply``, ``data_reply``) to play a relay that
refuses for a while (4xx) or for good (5xx); ``delay`` makes each DATA take
a moment, so that concurrent senders really overlap.
"""

from __future__ import annotations

import asyncio
import datetime
import email
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select, update

from hotline.tickets.outbox import OutgoingMail
from mailintake.sender import Relay, send_due
from tests.hotline.test_serve import free_port
from tests.mailintake.conftest import message

# The moment the tests' queued mail is due (10:00 in Beijing).
T = datetime.datetime(2026, 11, 20, 2, 0, tzinfo=datetime.UTC)


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]


@dataclass
class Sink:
    port: int = 0
    rcpt_reply: str | None = None
    data_reply: str | None = None
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.data_reply:
            return self.data_reply
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw))
        return "250 2.0.0 OK"


@pytest.fixture
def sink() -> Iterator[Sink]:
    handler = Sink(port=free_port())
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port, enable_SMTPUTF8=True)
    controller.start()
    yield handler
    controller.stop()


@pytest.fixture
def relay(sink: Sink) -> Relay:
    return Relay("127.0.0.1", sink.port, timeout=5.0, tls="none")


@pytest.fixture
def desk(maildesk):
    """The mail desk with one ticket from a parent's message, its acknowledgement queued (due at T)."""
    outcome = maildesk.ingest(message("学校标识码 2113000001，孩子的学籍转不过来", subject="学籍转接问题",
                                      message_id="<first@qq.com>"))
    maildesk.ticket_ = maildesk.ticket(outcome)
    due(maildesk, T)
    return maildesk


def due(desk, at: datetime.datetime) -> None:
    """Make every queued row due at ``at``."""
    desk.session.execute(update(OutgoingMail).values(next_attempt_at=at, created_at=at))
    desk.session.commit()


def rows(desk) -> list[OutgoingMail]:
    desk.session.expire_all()
    return list(desk.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id)))


def send(desk, relay: Relay, at: datetime.datetime = T) -> dict[str, int]:
    """One round of the sender at ``at``; what it did, counted."""
    return dict(send_due(desk.session, relay, desk.config, at=at))
