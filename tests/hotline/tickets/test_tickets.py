"""Creating tickets: one function for every channel routes, numbers, records and starts the clock."""

from __future__ import annotations

import datetime
import json

import pytest
from sqlalchemy import func, select

from hotline.tickets.contacts import contact_hasher
from hotline.tickets.models import Clock, Complainant, Event, Form, ImmutableRecord, Ticket
from hotline.tickets.workflow import NewTicket, StudentRef, TicketError, create_ticket
from tests.hotline.tickets.conftest import actor, at_day


def test_one_school_goes_to_its_direct_authority_and_starts_the_three_day_clock(desk):
    ticket = desk.ticket(("1301020001",), receiving="130102", at=at_day(2026, 3, 2))
    assert ticket.responsible_unit_code == ticket.current_unit_code == "130102"
    assert ticket.step == "verify_issue"
    assert ticket.routing_rule == "one_school"
    trace = json.loads(ticket.routing_trace)
    assert any("1301020001" in line for line in trace)
    clock = desk.session.scalars(select(Clock).where(Clock.ticket_id == ticket.id)).one()
    # 2014 notice item 2: received Monday 2 March (day 0), 核查单 within 3 working days.
    assert (clock.step, clock.unit_code, clock.days) == ("verify_issue", "130102", 3)
    assert clock.due_day == datetime.date(2026, 3, 5)
    assert clock.due_at == datetime.datetime(
        2026, 3, 6, tzinfo=datetime.timezone(datetime.timedelta(hours=8))
    )
    assert clock.provisional is False


def test_the_ticket_number_is_the_year_and_a_six_digit_serial_without_gaps(desk):
    numbers = [desk.ticket(at=at_day(2026, 3, 2)).number for _ in range(3)]
    first = int(numbers[0].split("-")[1])
    assert numbers == [f"2026-{n:06d}" for n in range(first, first + 3)]
    assert desk.ticket(at=at_day(2027, 1, 4)).number.startswith("2027-")


def test_a_matter_for_a_lower_unit_waits_to_be_forwarded_level_by_level(desk):
    ticket = desk.ticket(("1301020001",), receiving="130000")
    assert (ticket.step, ticket.current_unit_code, ticket.responsible_unit_code) == (
        "forwarding",
        "130000",
        "130102",
    )
    assert (
        desk.session.scalar(select(func.count()).select_from(Clock).where(Clock.ticket_id == ticket.id)) == 0
    )


def test_a_matter_for_a_higher_unit_goes_straight_to_it(desk):
    ticket = desk.ticket(("1301020001", "1301040001"), receiving="130102")
    assert (ticket.step, ticket.current_unit_code, ticket.responsible_unit_code) == (
        "verify_issue",
        "130100",
        "130100",
    )
    kinds = desk.session.scalars(select(Event.kind).where(Event.ticket_id == ticket.id)).all()
    assert "escalated" in kinds


def test_no_identifiable_school_waits_in_triage_at_the_receiving_unit(desk):
    ticket = desk.ticket((), receiving="130000")
    assert (ticket.step, ticket.current_unit_code, ticket.responsible_unit_code) == ("triage", "130000", None)
    assert ticket.routing_rule == "triage"


def test_cross_province_matters_and_system_faults_are_reported_to_the_ministry(desk):
    cross = desk.ticket(("1301020001", "1101050001"), receiving="130000")
    assert cross.responsible_unit_code == "000000" and cross.cross_province
    fault = desk.ticket(("1301020001",), receiving="130102", category="system_fault")
    for ticket in (cross, fault):
        form = desk.session.scalars(select(Form).where(Form.ticket_id == ticket.id)).one()
        assert (form.kind, form.receiving_unit_code) == ("report", "000000")
        assert form.number.startswith("BG-2026-")
    # The ministry does not report to itself.
    national = desk.ticket(("1301020001", "1101050001"), receiving="000000")
    assert (
        desk.session.scalar(select(func.count()).select_from(Form).where(Form.ticket_id == national.id)) == 0
    )


def test_contacts_are_kept_apart_and_hashed_for_the_status_page(desk):
    ticket = desk.ticket(phone="138-0013-8000", email=" Parent@Example.com ")
    row = desk.session.get(Complainant, ticket.id)
    assert (row.phone, row.email) == ("13800138000", "parent@example.com")
    assert row.phone_hash == contact_hasher()("13800138000")
    assert row.email_hash == contact_hasher()("parent@example.com")


def test_students_are_stored_by_number_or_masked_and_hashed_id(desk):
    ticket = desk.ticket(
        students=(
            StudentRef(number="J130102201307010014"),
            StudentRef(id_hash="ab" * 32, id_masked="130***********0012"),
        )
    )
    assert [(s.number, s.id_masked) for s in ticket.students] == [
        ("J130102201307010014", None),
        (None, "130***********0012"),
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"category": "rumour"}, "category"),
        ({"subject": "  "}, "subject"),
        ({"subject": "长" * 201}, "subject"),
        ({"description": ""}, "description"),
        ({"phone": None, "email": None}, "phone"),
        ({"phone": "call me"}, "phone"),
        ({"email": "parent-at-example"}, "email"),
        ({"school_codes": ("1301020001", "9999999999", "8888888888")}, "schools"),
        ({"receiving_unit_code": "999999"}, "receiving_unit_code"),
        ({"received_at": datetime.datetime(2026, 3, 2, 10)}, "received_at"),
    ],
)
def test_bad_input_is_refused_with_its_field_and_changes_nothing(desk, change, field):
    before = desk.session.scalar(select(func.count()).select_from(Ticket))
    values = {
        "channel": "phone",
        "category": "complaint",
        "subject": "学籍问题",
        "description": "内容",
        "receiving_unit_code": "130102",
        "school_codes": ("1301020001",),
        "phone": "13800138000",
        "received_at": at_day(2026, 3, 2),
    } | change
    with pytest.raises(ValueError) as refused:
        create_ticket(desk.session, NewTicket(**values), actor("130102"), calendar=desk.calendar)
    assert getattr(refused.value, "field", None) == field
    assert desk.session.scalar(select(func.count()).select_from(Ticket)) == before


def test_unknown_school_codes_are_all_named(desk):
    with pytest.raises(TicketError) as refused:
        desk.ticket(("1301020001", "9999999999", "8888888888"))
    assert "9999999999" in refused.value.message and "8888888888" in refused.value.message


def test_the_timeline_is_append_only(desk):
    ticket = desk.ticket()
    entry = desk.session.scalars(select(Event).where(Event.ticket_id == ticket.id)).first()
    entry.text = "改写历史"
    with pytest.raises(ImmutableRecord):
        desk.session.flush()
    desk.session.rollback()


def test_every_timeline_entry_names_who_when_and_from_which_unit(desk):
    ticket = desk.ticket(("1301020001", "1301040001"), receiving="130102")
    for entry in desk.session.scalars(select(Event).where(Event.ticket_id == ticket.id)):
        assert entry.actor == "坐席甲" and entry.unit_code == "130102" and entry.at is not None
        assert entry.text


def test_attachments_are_stored_once_by_hash_within_limits(desk, tmp_path):
    from hotline.tickets import attachments

    ticket = desk.ticket()
    first = attachments.add_attachment(
        desk.session,
        ticket,
        tmp_path,
        filename="../户口簿.jpg",
        content_type="image/jpeg",
        data=b"\xff\xd8photo",
    )
    again = attachments.add_attachment(
        desk.session,
        ticket,
        tmp_path,
        filename="户口簿.jpg",
        content_type="image/jpeg",
        data=b"\xff\xd8photo",
    )
    assert first.filename == "户口簿.jpg" and first.sha256 == again.sha256
    assert (tmp_path / first.sha256[:2] / first.sha256).read_bytes() == b"\xff\xd8photo"
    with pytest.raises(TicketError):
        attachments.add_attachment(
            desk.session,
            ticket,
            tmp_path,
            filename="big.bin",
            content_type="",
            data=b"0" * (attachments.MAX_SIZE + 1),
        )
    assert len(list(tmp_path.rglob("*"))) == 2  # one folder, one file: the refused one left nothing
