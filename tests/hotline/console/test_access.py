"""Jurisdiction and guards: who sees which ticket, roles, re-authentication, the audit of views."""

from __future__ import annotations

import datetime

import pytest
from flask import Blueprint
from sqlalchemy import func, select

from hotline import db
from hotline.calendar import WorkCalendar
from hotline.console.access import (
    Principal,
    audit_view,
    can_see_ticket,
    current_user,
    login_required,
    reauth_required,
    role_required,
    scope_codes,
    ticket_or_404,
    visible_clause,
)
from hotline.console.models import AccessAudit, LoginAudit
from hotline.tickets.models import Ticket
from hotline.tickets.workflow import Actor, NewTicket, create_ticket, issue_verification
from lookup.models import School, Unit
from tests.hotline.console.conftest import (
    CITY,
    COUNTY,
    MINISTRY,
    OTHER_CITY_COUNTY,
    OTHER_COUNTY,
    OTHER_PROVINCE,
    OTHER_PROVINCE_COUNTY,
    PASSWORD,
    PROVINCE,
    log_in,
    post,
)
from tests.hotline.tickets.conftest import SCHOOLS

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
TIANJIN = "120000"


@pytest.fixture
def probe(app):
    """Console-style views for the guards under test, registered on the test's app."""
    bp = Blueprint("probe", __name__, url_prefix="/console/probe")

    @bp.get("/tickets/<number>")
    @login_required
    def ticket(number: str) -> str:
        found = ticket_or_404(db.session(), current_user(), number)
        audit_view("complainant", ticket_id=found.id, detail="phone")
        return found.number

    @bp.get("/supervisors")
    @role_required("supervisor", "admin")
    def supervisors() -> str:
        return "ok"

    @bp.get("/admin-action")
    @role_required("admin")
    @reauth_required
    def admin_action() -> str:
        return "done"

    app.register_blueprint(bp)
    return app


@pytest.fixture
def tickets(app) -> dict[str, str]:
    """Four tickets on the seeded tree, by what the visibility table needs of them."""
    with app.app_context():
        session = db.session()
        for code, (name, division, authority) in SCHOOLS.items():
            session.add(School(code=code, name=name, division_code=division, authority_code=authority))
        session.flush()
        calendar = WorkCalendar.from_session(session)
        at = datetime.datetime(2026, 3, 2, 10, tzinfo=SHANGHAI)

        def new(school: str, receiving: str) -> Ticket:
            ticket = NewTicket(channel="phone", category="complaint", subject="学籍号查询不到",
                               description="家长反映孩子的学籍信息有误。", receiving_unit_code=receiving,
                               school_codes=(school,), phone="138 0013 8000", received_at=at)
            return create_ticket(session, ticket, Actor("坐席", receiving), calendar=calendar)

        county = new("1301020001", COUNTY)
        tangshan = new("1302030001", OTHER_CITY_COUNTY)
        # Received by the province, for the other county: held at the province until forwarded.
        forwarded = new("1301040001", PROVINCE)
        # Beijing's own ticket, whose 核查单 is addressed to a Hebei county.
        beijing = new("1101050001", OTHER_PROVINCE_COUNTY)
        issue_verification(session, beijing, Actor("办理人", OTHER_PROVINCE_COUNTY), related_units=[COUNTY],
                           facts="核实学籍状态", calendar=calendar, at=at)
        session.commit()
        assert forwarded.current_unit_code == PROVINCE and forwarded.responsible_unit_code == OTHER_COUNTY
        return {"county": county.number, "tangshan": tangshan.number, "forwarded": forwarded.number,
                "beijing": beijing.number}


def principal(unit: str, role: str = "handler") -> Principal:
    return Principal(1, "someone", "某人", unit, role)


def test_a_county_scope_is_the_county_alone(session):
    assert scope_codes(session, COUNTY) == {COUNTY}


def test_a_prefecture_scope_is_it_and_its_counties(session):
    codes = scope_codes(session, CITY)
    assert {CITY, COUNTY, OTHER_COUNTY} <= codes and OTHER_CITY_COUNTY not in codes
    assert all(code.startswith("1301") for code in codes)


def test_a_province_scope_is_every_unit_in_the_province(session):
    codes = scope_codes(session, PROVINCE)
    assert {PROVINCE, CITY, COUNTY, OTHER_CITY_COUNTY} <= codes and OTHER_PROVINCE_COUNTY not in codes
    assert all(code.startswith("13") for code in codes)


def test_a_municipality_scope_reaches_its_districts_without_a_pseudo_prefecture(session):
    codes = scope_codes(session, OTHER_PROVINCE)
    assert OTHER_PROVINCE_COUNTY in codes and "110100" not in codes


def test_the_ministry_scope_is_every_unit(session):
    assert scope_codes(session, MINISTRY) == set(session.scalars(select(Unit.code)))


def test_an_unknown_unit_has_an_empty_scope(session):
    assert scope_codes(session, "999999") == frozenset()


# unit → which of the four tickets it may see. A 核查单 addressed to a unit
# counts for that unit and the units above it; nothing else crosses branches.
VISIBLE = [
    (COUNTY, {"county", "beijing"}),
    (OTHER_COUNTY, {"forwarded"}),
    (CITY, {"county", "forwarded", "beijing"}),
    (OTHER_CITY_COUNTY, {"tangshan"}),
    (PROVINCE, {"county", "tangshan", "forwarded", "beijing"}),
    (OTHER_PROVINCE_COUNTY, {"beijing"}),
    (OTHER_PROVINCE, {"beijing"}),
    (TIANJIN, set()),
    (MINISTRY, {"county", "tangshan", "forwarded", "beijing"}),
]


@pytest.mark.parametrize(("unit", "expected"), VISIBLE)
def test_a_user_sees_the_tickets_of_their_jurisdiction_and_those_with_forms_addressed_into_it(
        app, tickets, unit, expected):
    with app.app_context():
        session, who = db.session(), principal(unit)
        by_number = {t.number: t for t in session.scalars(select(Ticket))}
        seen = {name for name, number in tickets.items() if can_see_ticket(session, who, by_number[number])}
        assert seen == expected
        # The SQL twin for queues agrees.
        numbers = set(session.scalars(select(Ticket.number).where(visible_clause(session, who))))
        assert numbers == {tickets[name] for name in expected}


@pytest.mark.parametrize(("unit", "expected"), VISIBLE)
def test_ticket_or_404_answers_404_outside_the_jurisdiction(app, tickets, unit, expected):
    from werkzeug.exceptions import NotFound

    with app.app_context():
        session, who = db.session(), principal(unit)
        for name, number in tickets.items():
            if name in expected:
                assert ticket_or_404(session, who, number).number == number
            else:
                with pytest.raises(NotFound):
                    ticket_or_404(session, who, number)


def test_another_units_ticket_looks_exactly_like_one_that_does_not_exist(probe, client, make_user, tickets):
    make_user("county", COUNTY, "handler")
    log_in(client, "county")
    other = client.get(f"/console/probe/tickets/{tickets['tangshan']}")
    missing = client.get("/console/probe/tickets/2026-999999")
    assert other.status_code == missing.status_code == 404
    assert other.get_data() == missing.get_data()
    for tampered in ("x" * 500, "2026-000001' OR 1=1 --", "%00"):
        assert client.get(f"/console/probe/tickets/{tampered}").status_code == 404


def test_a_view_of_personal_data_is_audited_without_the_data(app, probe, client, make_user, tickets):
    user = make_user("county", COUNTY, "handler")
    log_in(client, "county")
    assert client.get(f"/console/probe/tickets/{tickets['county']}").status_code == 200
    client.get(f"/console/probe/tickets/{tickets['tangshan']}")  # refused: nothing shown, nothing audited
    with app.app_context():
        session = db.session()
        rows = session.execute(select(AccessAudit.user_id, AccessAudit.unit_code, AccessAudit.what,
                                      AccessAudit.detail, AccessAudit.client, Ticket.number)
                               .join(Ticket, Ticket.id == AccessAudit.ticket_id)).all()
    assert rows == [(user.id, COUNTY, "complainant", "phone", "127.0.0.1", tickets["county"])]


def test_pages_need_a_login(probe, client):
    response = client.get("/console/probe/supervisors")
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/login?next=/console/probe/supervisors"


@pytest.mark.parametrize(("role", "status"), [("agent", 403), ("handler", 403), ("supervisor", 200),
                                              ("admin", 200)])
def test_a_page_for_some_roles_refuses_the_others_with_403(probe, client, make_user, role, status):
    make_user("someone", COUNTY, role)
    log_in(client, "someone")
    assert client.get("/console/probe/supervisors").status_code == status


def test_role_required_refuses_an_unknown_role():
    with pytest.raises(ValueError):
        role_required("superuser")


def test_an_administrator_action_needs_the_password_within_5_minutes(app, probe, client, make_user):
    make_user("admin", COUNTY, "admin")
    log_in(client, "admin")
    assert client.get("/console/probe/admin-action").status_code == 200  # the login itself counts
    with client.session_transaction() as session:
        session["console_reauth"] -= 5 * 60 + 1
    response = client.get("/console/probe/admin-action")
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/reauth?next=/console/probe/admin-action"
    refused = post(client, "/console/reauth",
                   {"password": "Wrong#Pass2026", "next": "/console/probe/admin-action"})
    assert refused.status_code == 200 and "密码不正确" in refused.get_data(as_text=True)
    assert client.get("/console/probe/admin-action").status_code == 302
    done = post(client, "/console/reauth", {"password": PASSWORD, "next": "/console/probe/admin-action"})
    assert done.headers["Location"] == "/console/probe/admin-action"
    assert client.get("/console/probe/admin-action").get_data(as_text=True) == "done"
    with app.app_context():
        audited = db.session().scalars(select(LoginAudit.outcome).order_by(LoginAudit.id)).all()
    assert audited == ["success", "reauth_failed", "reauth"]


def test_wrong_passwords_at_re_authentication_lock_the_account_and_end_the_session(app, probe, client,
                                                                                  make_user):
    make_user("admin", COUNTY, "admin")
    log_in(client, "admin")
    for _ in range(5):
        response = post(client, "/console/reauth", {"password": "Wrong#Pass2026"})
    assert response.status_code == 302 and response.headers["Location"] == "/console/login"
    assert client.get("/console/").status_code == 302
    with app.app_context():
        outcomes = db.session().scalars(select(LoginAudit.outcome).order_by(LoginAudit.id)).all()
    assert outcomes == ["success"] + ["reauth_failed"] * 5 + ["lockout"]
    refused = post(app.test_client(), "/console/login", {"username": "admin", "password": PASSWORD})
    assert refused.status_code == 200  # locked: the login form again


def test_audit_view_outside_a_login_is_a_programming_error(app):
    with app.test_request_context("/console/"), pytest.raises(RuntimeError):
        audit_view("student")


def test_the_visible_clause_needs_no_scope_for_the_ministry(app, tickets):
    with app.app_context():
        session = db.session()
        query = select(func.count()).select_from(Ticket).where(visible_clause(session, principal(MINISTRY)))
        assert session.scalar(query) == session.scalar(select(func.count()).select_from(Ticket))
