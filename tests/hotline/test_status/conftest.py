"""Fixtures of the status tests: an app, a desk that files tickets, and a ticket at every step.

Tickets are filed and moved through the real workflow inside an app context
that is closed again before any request is made, so each request gets its
own context and session, as in production; all of it shares the test's
rolled-back transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import Flask
from sqlalchemy import Connection
from sqlalchemy.orm import sessionmaker

from hotline import db
from hotline.app import create_app, limiter
from hotline.calendar import WorkCalendar
from hotline.config import load_settings
from hotline.tickets import workflow as wf
from hotline.tickets.models import Ticket
from lookup.models import School
from tests.conftest import ID_KEY
from tests.hotline.tickets.conftest import SCHOOLS, Desk, actor, at_day
from tests.lookup.conftest import csrf_token

COUNTY = "130102"  # 长安区, the direct authority of 长安区第一小学 (1301020001)
SCHOOL = "1301020001"
# What the complainant gave, and what must never come back out of the status page.
NAME = "王建国"
PHONE = "138 0013 8000"
PHONE_DIGITS = "13800138000"
EMAIL = "wang.parent@example.com"
SUBJECT = "王小明学籍号查询不到"
DESCRIPTION = "我是王小明的父亲王建国，孩子的学籍号在网站上查不到，身份证号 130102201203050015。"
STUDENT = "王小明"
PAUSE_REASON = "等待家长王建国补充户口簿复印件"
REPLY = "已为王小明补录学籍信息，请核对。"
SECRETS = (NAME, PHONE, PHONE_DIGITS, "138****8000", EMAIL, "w****@example.com", SUBJECT, DESCRIPTION,
           STUDENT, "130102201203050015", PAUSE_REASON, REPLY)
# Far above what a test does: only the limit tests meet a limit.
GENEROUS = {"lookup_client_limits": "1000 per minute", "lookup_identity_limits": "1000 per hour"}


@pytest.fixture
def make_app(database_url: str, connection: Connection, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """An app like the shared ``app`` fixture, with its settings overridden (the limits)."""
    apps: list[Flask] = []

    def make(**overrides: object) -> Flask:
        settings = load_settings({}, env="testing", database_url=database_url, secret_key="test-secret",
                                 id_hash_key=ID_KEY, instance_path=str(tmp_path / "instance"),
                                 **{**GENEROUS, **overrides})
        app = create_app(settings)
        # The one process-wide limiter keeps "storage is dead" across apps (tests/lookup/test_limits.py).
        limiter._storage_dead = False
        app.extensions["xueji.sessionmaker"] = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["xueji.engine"].dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def office(app: Flask) -> Callable[[], AbstractContextManager[Desk]]:
    """``with office() as desk:`` files and moves tickets, committed when the block ends."""
    return open_office(app)


def open_office(app: Flask) -> Callable[[], AbstractContextManager[Desk]]:
    """The schools of the ticket tests on ``app``'s database, and a desk to file tickets there."""
    with app.app_context():
        session = db.session()
        for code, (name, division, authority) in SCHOOLS.items():
            session.add(School(code=code, name=name, division_code=division, authority_code=authority))
        session.commit()

    @contextmanager
    def desk() -> Iterator[Desk]:
        with app.app_context():
            session = db.session()
            yield Desk(session, WorkCalendar.from_session(session))
            session.commit()

    return desk


def file(desk: Desk, **kwargs) -> Ticket:
    """A ticket about 长安区第一小学 filed at 长安区 on Monday 2 March 2026 with the complainant above."""
    kwargs.setdefault("receiving", COUNTY)
    return desk.ticket(kwargs.pop("schools", (SCHOOL,)), subject=SUBJECT, description=DESCRIPTION,
                       complainant_name=NAME, relation="家长", phone=kwargs.pop("phone", PHONE),
                       students=[wf.StudentRef(number="G130102201203050015", name=STUDENT)], **kwargs)


def at_step(desk: Desk, step: str) -> Ticket:
    """A ticket moved through the real workflow (2014 notice items 2-3) until it reaches ``step``."""
    s, cal = desk.session, desk.calendar
    if step == "triage":
        return file(desk, schools=())
    if step == "forwarding":
        return file(desk, receiving="130000")
    ticket = file(desk)
    if step == "verify_issue":
        return ticket
    [form] = wf.issue_verification(s, ticket, actor(COUNTY), related_units=[COUNTY], facts="核实学籍",
                                   calendar=cal, at=at_day(2026, 3, 4))
    if step == "verifying":
        return ticket
    wf.return_verification(s, form, actor(COUNTY), result="情况属实", calendar=cal, at=at_day(2026, 3, 10))
    if step == "deciding":
        return ticket
    supervision = wf.issue_supervision(s, ticket, actor(COUNTY), handling_unit=COUNTY, opinion="补录学籍",
                                       calendar=cal, at=at_day(2026, 3, 12))
    if step == "handling":
        return ticket
    wf.return_supervision(s, supervision, actor(COUNTY), result="已补录", calendar=cal,
                          at=at_day(2026, 3, 16))
    if step == "confirming":
        return ticket
    wf.confirm_and_close(s, ticket, actor(COUNTY), reply=REPLY, at=at_day(2026, 3, 17, 15))
    return ticket


def ask_page(client, number: str, contact: str, addr: str = "127.0.0.1"):
    """Send the status form as a browser does: with the CSRF token of the page it came from."""
    return client.post("/status", data={"csrf_token": csrf_token(client, "/status"), "number": number,
                                        "contact": contact}, environ_base={"REMOTE_ADDR": addr})


def ask_api(client, number: str, contact: str | None, addr: str = "127.0.0.1"):
    query = {} if contact is None else {"contact": contact}
    return client.get(f"/api/v1/tickets/{quote(number)}", query_string=query,
                      environ_base={"REMOTE_ADDR": addr})
