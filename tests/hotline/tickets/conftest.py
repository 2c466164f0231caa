"""Fixtures of the ticket tests: a desk (app context and session) and schools on the real tree."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from hotline import db
from hotline.calendar import WorkCalendar
from hotline.tickets.workflow import Actor, NewTicket, create_ticket
from lookup.models import School

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))

# Schools on the seeded tree: two counties of 石家庄 (130100), one of 唐山
# (130200), all in 河北 (130000); one in 北京 (110000).
SCHOOLS = {
    "1301020001": ("长安区第一小学", "130102", "130102"),
    "1301040001": ("桥西区第一小学", "130104", "130104"),
    "1302030001": ("路北区第一小学", "130203", "130203"),
    "1101050001": ("朝阳区第一小学", "110105", "110105"),
    "1301000001": ("石家庄市直属中学", "130102", "130100"),
}


@dataclass
class Desk:
    session: Session
    calendar: WorkCalendar

    def ticket(
        self,
        schools=("1301020001",),
        *,
        receiving="130102",
        category="complaint",
        channel="phone",
        at=None,
        **kwargs,
    ):
        new = NewTicket(
            channel=channel,
            category=category,
            subject=kwargs.pop("subject", "学籍号查询不到"),
            description=kwargs.pop("description", "家长反映孩子的学籍信息有误。"),
            receiving_unit_code=receiving,
            school_codes=schools,
            phone=kwargs.pop("phone", "138 0013 8000"),
            received_at=at or at_day(2026, 3, 2),
            **kwargs,
        )
        return create_ticket(self.session, new, Actor("坐席甲", receiving), calendar=self.calendar)


def at_day(year: int, month: int, day: int, hour: int = 10) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, tzinfo=SHANGHAI)


def actor(unit: str, name: str = "办理人") -> Actor:
    return Actor(name, unit)


@pytest.fixture
def desk(app) -> Iterator[Desk]:
    with app.app_context():
        session = db.session()
        for code, (name, division, authority) in SCHOOLS.items():
            session.add(School(code=code, name=name, division_code=division, authority_code=authority))
        session.flush()
        yield Desk(session, WorkCalendar.from_session(session))
