"""Set-up shared by the queue, ticket page and authorization tests: tickets on the seeded tree.

Data are written inside ``with desk(app) as d:`` (an application context of
its own, committed to the test's savepoint at the end), never inside a
request's context, so the requests under test read them with a session of
their own, as in production.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import db
from hotline.calendar import WorkCalendar
from hotline.tickets.models import Ticket
from hotline.tickets.workflow import Actor, NewTicket, StudentRef, create_ticket
from lookup.models import School
from tests.hotline.tickets.conftest import SCHOOLS

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
COUNTY_SCHOOL, OTHER_COUNTY_SCHOOL, TANGSHAN_SCHOOL, BEIJING_SCHOOL, CITY_SCHOOL = SCHOOLS


def day(month: int, dd: int, hour: int = 10, year: int = 2026) -> datetime.datetime:
    return datetime.datetime(year, month, dd, hour, tzinfo=SHANGHAI)


@dataclass
class Desk:
    session: Session
    calendar: WorkCalendar

    def ticket(self, school: str | tuple[str, ...] | None = COUNTY_SCHOOL, *, receiving: str = "130102",
               at=None, subject: str = "学籍号查询不到", channel: str = "phone", category: str = "complaint",
               phone: str | None = "138 0013 8000", email: str | None = None, name: str | None = "刘桂芳",
               students=(), description: str = "家长反映孩子的学籍信息有误。") -> Ticket:
        new = NewTicket(channel=channel, category=category, subject=subject, description=description,
                        receiving_unit_code=receiving,
                        school_codes=(school,) if isinstance(school, str) else (school or ()),
                        students=students, complainant_name=name, relation="家长", phone=phone, email=email,
                        received_at=at or day(3, 2))
        return create_ticket(self.session, new, Actor("坐席甲", receiving), calendar=self.calendar)

    def get(self, number: str) -> Ticket:
        return self.session.scalar(select(Ticket).where(Ticket.number == number))


@contextmanager
def desk(app: Flask) -> Iterator[Desk]:
    """An application context with the test schools in place; committed when the block ends."""
    with app.app_context():
        session = db.session()
        for code, (name, division, authority) in SCHOOLS.items():
            if session.get(School, code) is None:
                session.add(School(code=code, name=name, division_code=division, authority_code=authority))
        session.flush()
        yield Desk(session, WorkCalendar.from_session(session))
        session.commit()


STUDENT = StudentRef(number="G130102201203050015", name="刘小宇")
MASKED_STUDENT = StudentRef(id_hash="0" * 64, id_masked="130***********0015", name="王小明")


def token(client: FlaskClient) -> str:
    """The CSRF token of the client's session, read once from a console page."""
    page = client.get("/console/queue").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def flashes(page: str) -> list[str]:
    return re.findall(r'<p class="flash[^"]*"[^>]*>([^<]*)</p>', page)
