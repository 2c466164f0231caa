"""Account-usage monitoring (2016 notice part 2: log in at least weekly; pending work handled in time),
per unit and below, with CSV exports: for supervisors and administrators of the unit."""

from __future__ import annotations

import datetime

import pytest

from hotline import db
from hotline.console.accounts import find_user
from hotline.console.usage_queries import accounts_by_unit, idle_accounts, untouched_units
from hotline.tickets.intake import log
from hotline.tickets.workflow import Actor
from tests.hotline.console.conftest import CITY, COUNTY, OTHER_CITY_COUNTY, OTHER_COUNTY
from tests.hotline.console.ticket_support import OTHER_COUNTY_SCHOOL, TANGSHAN_SCHOOL, desk

NOW = datetime.datetime.now(datetime.UTC)


def ago(days: float) -> datetime.datetime:
    return NOW - datetime.timedelta(days=days)


def last_login(app, username: str, at: datetime.datetime | None) -> None:
    with app.app_context():
        find_user(db.session(), username).last_login_at = at
        db.session().commit()


@pytest.fixture
def staff(app, make_user):
    """Accounts of 长安区, its sibling county and another city, with last logins set by hand."""
    for username, unit, days in [("eightdays", COUNTY, 8), ("sixdays", COUNTY, 6),
                                 ("never", OTHER_COUNTY, None), ("elsewhere", OTHER_CITY_COUNTY, 30),
                                 ("gone", COUNTY, 30)]:
        make_user(username, unit, "handler", name=f"{username}姓名")
        last_login(app, username, ago(days) if days is not None else None)
    with app.app_context():
        find_user(db.session(), "gone").active = False
        db.session().commit()


def idle_names(app, unit: str) -> list[str]:
    with app.app_context():
        return [a.username for a in idle_accounts(db.session(), unit, NOW)]


def test_an_account_not_logged_in_for_8_days_is_listed_and_6_days_is_not(app, staff):
    assert "eightdays" in idle_names(app, COUNTY)
    assert "sixdays" not in idle_names(app, COUNTY)


def test_an_account_never_logged_in_is_listed_and_a_disabled_one_is_not(app, staff):
    assert idle_names(app, CITY) == ["eightdays", "never"]


def test_idle_accounts_never_include_another_branchs_units(app, staff):
    assert "elsewhere" not in idle_names(app, CITY)
    assert idle_names(app, OTHER_CITY_COUNTY) == ["elsewhere"]


def test_the_summary_counts_active_and_idle_accounts_per_unit(app, staff):
    with app.app_context():
        summary = {(s.unit_code, s.active, s.idle) for s in accounts_by_unit(db.session(), CITY, NOW)}
    assert summary == {(COUNTY, 2, 1), (OTHER_COUNTY, 1, 1)}


@pytest.fixture
def work(app):
    """Three tickets received 20 days ago: 长安区's untouched, its sibling's touched 2 days ago by that
    county, and one in another city, untouched."""
    with desk(app) as d:
        untouched = d.ticket(at=ago(20))
        touched = d.ticket(OTHER_COUNTY_SCHOOL, receiving=OTHER_COUNTY, at=ago(20))
        log(d.session, touched, Actor("县办理", OTHER_COUNTY), "note", "已联系学校", at=ago(2))
        elsewhere = d.ticket(TANGSHAN_SCHOOL, receiving=OTHER_CITY_COUNTY, at=ago(20))
        return untouched.number, touched.number, elsewhere.number


def test_a_unit_with_an_untouched_overdue_ticket_is_listed(app, work):
    with app.app_context():
        units = untouched_units(db.session(), CITY, NOW)
    assert [(u.unit_code, u.held, u.clocks, u.overdue, u.numbers) for u in units] == [
        (COUNTY, 1, 1, 1, [work[0]])]


def test_work_touched_by_the_unit_within_7_days_is_not_listed(app, work):
    with app.app_context():
        assert untouched_units(db.session(), OTHER_COUNTY, NOW) == []


def test_work_received_less_than_7_days_ago_is_not_yet_untouched(app):
    with desk(app) as d:
        d.ticket(at=ago(3))
    with app.app_context():
        assert untouched_units(db.session(), COUNTY, NOW) == []


def test_untouched_work_never_includes_another_branchs_units(app, work):
    with app.app_context():
        assert [u.unit_code for u in untouched_units(db.session(), CITY, NOW)] == [COUNTY]
        elsewhere = untouched_units(db.session(), OTHER_CITY_COUNTY, NOW)
        assert [u.unit_code for u in elsewhere] == [OTHER_CITY_COUNTY]


def test_the_page_shows_both_lists_to_a_supervisor_of_the_unit(app, staff, work, make_user, login):
    make_user("boss", CITY, "supervisor")
    page = login(app.test_client(), "boss").get("/console/usage").get_data(as_text=True)
    assert "eightdays" in page and "never" in page and work[0] in page
    assert "sixdays" not in page and "elsewhere" not in page and work[2] not in page


@pytest.mark.parametrize(("role", "unit", "asked", "status"), [
    ("agent", CITY, CITY, 403),
    ("handler", CITY, CITY, 403),
    ("supervisor", COUNTY, CITY, 404),  # the unit above
    ("admin", CITY, OTHER_CITY_COUNTY, 404),  # another city's county
    ("supervisor", CITY, COUNTY, 200),
    ("admin", CITY, CITY, 200),
])
def test_only_supervisors_and_administrators_of_the_unit_or_above_see_it(app, make_user, login, role, unit,
                                                                        asked, status):
    make_user("someone", unit, role)
    client = login(app.test_client(), "someone")
    assert client.get("/console/usage", query_string={"unit": asked}).status_code == status
    assert client.get("/console/usage/accounts.csv", query_string={"unit": asked}).status_code == status


def test_the_csv_exports_list_the_same_and_are_guarded_against_formulas(app, staff, work, make_user, login):
    make_user("formula", COUNTY, "handler", name="=cmd|' /C calc'!A0")
    make_user("boss", CITY, "supervisor")
    client = login(app.test_client(), "boss")
    accounts = client.get("/console/usage/accounts.csv").get_data().decode("utf-8-sig")
    assert "eightdays" in accounts and "sixdays" not in accounts
    assert "'=cmd" in accounts and "\n=cmd" not in accounts and ",=cmd" not in accounts
    units = client.get("/console/usage/units.csv").get_data().decode("utf-8-sig")
    assert work[0] in units and work[2] not in units
    summary = client.get("/console/usage/summary.csv").get_data().decode("utf-8-sig")
    assert COUNTY in summary and OTHER_CITY_COUNTY not in summary
    assert client.get("/console/usage/other.csv").status_code == 404


def test_another_units_action_does_not_count_as_the_owing_units(app):
    # The city wrote on the ticket 2 days ago: the ticket is not quiet any more, but 长安区's own clock
    # on it is still untouched by 长安区.
    with desk(app) as d:
        ticket = d.ticket(at=ago(20))
        log(d.session, ticket, Actor("市督办", CITY), "note", "请尽快核查", at=ago(2))
    with app.app_context():
        units = untouched_units(db.session(), CITY, NOW)
    assert [(u.unit_code, u.held, u.clocks) for u in units] == [(COUNTY, 0, 1)]
