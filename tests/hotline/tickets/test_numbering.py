"""Ticket numbers stay unique and gapless when many agents create tickets at once."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hotline.calendar import WorkCalendar
from hotline.tickets.models import (
    Clock,
    Complainant,
    Counter,
    Event,
    Ticket,
    TicketSchool,
)
from hotline.tickets.numbering import next_serial
from hotline.tickets.workflow import Actor, NewTicket, create_ticket
from lookup.models import School
from tests.hotline.tickets.conftest import at_day

WORKERS, EACH = 8, 5


def test_a_rolled_back_creation_gives_its_number_back(desk):
    first = next_serial(desk.session, "ticket", 2031)
    savepoint = desk.session.begin_nested()
    next_serial(desk.session, "ticket", 2031)
    savepoint.rollback()
    assert next_serial(desk.session, "ticket", 2031) == first + 1


def test_concurrent_creation_gives_unique_consecutive_numbers(backend, engine, database_url):
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers; the race is PostgreSQL's")
    from hotline.app import create_app
    from hotline.config import load_settings

    app: Flask = create_app(
        load_settings(
            {}, env="testing", database_url=database_url, secret_key="test-secret", id_hash_key="k" * 32
        )
    )
    year = 2028  # a year no other test numbers tickets in (provisional: the calendar covers it)
    with Session(engine) as setup:
        setup.add(
            School(code="1301029999", name="并发测试小学", division_code="130102", authority_code="130102")
        )
        setup.commit()
    numbers: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(WORKERS)

    def agent(index: int) -> None:
        try:
            with app.app_context(), Session(engine) as session:
                calendar = WorkCalendar.from_session(session)
                barrier.wait()
                for _ in range(EACH):
                    ticket = create_ticket(
                        session,
                        NewTicket(
                            channel="phone",
                            category="consultation",
                            subject="并发",
                            description="并发创建",
                            receiving_unit_code="130102",
                            school_codes=("1301029999",),
                            phone="13800138000",
                            received_at=at_day(year, 3, 1),
                        ),
                        Actor(f"坐席{index}", "130102"),
                        calendar=calendar,
                    )
                    session.commit()
                    numbers.append(ticket.number)
        except BaseException as exc:  # reported below, with the thread's traceback
            errors.append(exc)

    threads = [threading.Thread(target=agent, args=(i,)) for i in range(WORKERS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        assert sorted(numbers) == [f"{year}-{n:06d}" for n in range(1, WORKERS * EACH + 1)]
    finally:
        with Session(engine) as cleanup:
            ids = cleanup.scalars(select(Ticket.id).where(Ticket.number.like(f"{year}-%"))).all()
            for model in (Event, Clock, Complainant, TicketSchool):
                cleanup.execute(delete(model).where(model.ticket_id.in_(ids)))
            cleanup.execute(delete(Ticket).where(Ticket.id.in_(ids)))
            cleanup.execute(delete(Counter).where(Counter.year == year))
            cleanup.execute(delete(School).where(School.code == "1301029999"))
            cleanup.commit()
        app.extensions["xueji.engine"].dispose()
