"""Units' published channels in the console: edited by administrators of the unit or above,
with the password re-entered, every change in the history, published at once (2014 notice item 4)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline import db
from hotline.console.directory_models import UnitChannelChange
from lookup.models import Unit
from tests.hotline.console.conftest import CITY, COUNTY, OTHER_CITY_COUNTY, OTHER_COUNTY, PROVINCE
from tests.hotline.console.ticket_support import flashes

NEW = {"phone": "0311-86012345、0311-86012346", "email": "xueji@changan.example.cn",
       "hours": "工作日 8:30-17:00"}


def channels(app, code: str) -> tuple[str | None, str | None, str | None]:
    with app.app_context():
        unit = db.session().get(Unit, code)
        return unit.complaint_phone, unit.complaint_email, unit.complaint_hours


def history(app, code: str) -> list[tuple[str, str | None, str | None, str]]:
    with app.app_context():
        rows = db.session().scalars(select(UnitChannelChange).where(UnitChannelChange.unit_code == code)
                                    .order_by(UnitChannelChange.id))
        return [(r.field, r.old_value, r.new_value, r.actor_unit_code) for r in rows]


def edit(client, post, unit: str, data: dict[str, str]):
    return post(client, "/console/directory/channels", data, query_string={"unit": unit})


def test_an_administrator_publishes_the_units_channels_and_the_public_directory_shows_them_at_once(
        app, make_user, login, post):
    make_user("admin", COUNTY, "admin", name="县管理员")
    client = login(app.test_client(), "admin")
    old_phone, old_email, _ = channels(app, COUNTY)
    response = edit(client, post, COUNTY, NEW)
    assert response.status_code == 302
    assert channels(app, COUNTY) == (NEW["phone"], NEW["email"], NEW["hours"])
    assert history(app, COUNTY) == [("phone", old_phone, NEW["phone"], COUNTY),
                                    ("email", old_email, NEW["email"], COUNTY),
                                    ("hours", None, NEW["hours"], COUNTY)]
    public = app.test_client().get(f"/directory/{COUNTY}").get_data(as_text=True)
    assert NEW["phone"] in public and NEW["email"] in public and NEW["hours"] in public
    page = client.get("/console/directory").get_data(as_text=True)
    assert "县管理员" in page and NEW["email"] in page  # the history, who and what


def test_saving_unchanged_channels_adds_no_history(app, make_user, login, post):
    make_user("admin", COUNTY, "admin")
    client = login(app.test_client(), "admin")
    edit(client, post, COUNTY, NEW)
    again = edit(client, post, COUNTY, NEW)
    assert again.status_code == 302
    assert len(history(app, COUNTY)) == 3
    assert "没有需要保存的修改。" in flashes(client.get("/console/directory").get_data(as_text=True))


def test_a_parent_units_administrator_may_edit_the_units_below(app, make_user, login, post):
    make_user("cityadmin", CITY, "admin")
    response = edit(login(app.test_client(), "cityadmin"), post, COUNTY, NEW)
    assert response.status_code == 302
    assert channels(app, COUNTY)[0] == NEW["phone"]
    assert {actor_unit for *_, actor_unit in history(app, COUNTY)} == {CITY}


@pytest.mark.parametrize(("who", "unit", "role", "status"), [
    ("a supervisor of the unit", COUNTY, "supervisor", 403),
    ("a handler of the unit", COUNTY, "handler", 403),
    ("the administrator of a sibling county", OTHER_COUNTY, "admin", 404),
    ("the administrator of another city's county", OTHER_CITY_COUNTY, "admin", 404),
])
def test_only_an_administrator_of_the_unit_or_above_may_edit(app, make_user, login, post, who, unit, role,
                                                             status):
    make_user("someone", unit, role)
    before = channels(app, COUNTY)
    response = edit(login(app.test_client(), "someone"), post, COUNTY, NEW)
    assert response.status_code == status, who
    assert channels(app, COUNTY) == before and history(app, COUNTY) == []


def test_a_units_administrator_may_not_edit_the_unit_above(app, make_user, login, post):
    make_user("admin", COUNTY, "admin")
    before = channels(app, CITY)
    client = login(app.test_client(), "admin")
    assert edit(client, post, CITY, NEW).status_code == 404
    assert client.get("/console/directory", query_string={"unit": PROVINCE}).status_code == 404
    assert channels(app, CITY) == before


def test_an_edit_needs_the_password_re_entered_within_5_minutes(app, make_user, login, post):
    make_user("admin", COUNTY, "admin")
    client = login(app.test_client(), "admin")
    with client.session_transaction() as session:
        session["console_reauth"] -= 5 * 60 + 1
    before = channels(app, COUNTY)
    response = edit(client, post, COUNTY, {**NEW, "next": f"/console/directory?unit={COUNTY}"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/reauth")
    assert channels(app, COUNTY) == before and history(app, COUNTY) == []


def test_an_edit_without_a_csrf_token_is_refused(app, make_user, login):
    make_user("admin", COUNTY, "admin")
    client = login(app.test_client(), "admin")
    before = channels(app, COUNTY)
    response = client.post("/console/directory/channels", data=NEW, query_string={"unit": COUNTY})
    assert response.status_code == 400
    assert channels(app, COUNTY) == before


@pytest.mark.parametrize(("field", "value", "message"), [
    ("phone", "abc", "电话只能由数字和连字符组成"),
    ("phone", "<script>alert(1)</script>", "电话只能由数字和连字符组成"),
    ("phone", "0311-86012345、" * 6, "电话不能超过 64 个字符"),
    ("phone", "=1+2", "电话只能由数字和连字符组成"),
    ("email", "not-an-address", "邮箱格式不正确"),
    ("email", "a@b@example.cn", "邮箱格式不正确"),
    ("email", "x" * 120 + "@example.cn", "邮箱不能超过 128 个字符"),
    ("hours", "工作日" * 50, "受理时间不能超过 128 个字"),
])
def test_bad_channels_are_refused_with_a_message_and_nothing_changes(app, make_user, login, post, field,
                                                                    value, message):
    make_user("admin", COUNTY, "admin")
    before = channels(app, COUNTY)
    response = edit(login(app.test_client(), "admin"), post, COUNTY, {**NEW, field: value})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert channels(app, COUNTY) == before and history(app, COUNTY) == []


def test_full_width_digits_are_read_as_digits(app, make_user, login, post):
    make_user("admin", COUNTY, "admin")
    edit(login(app.test_client(), "admin"), post, COUNTY, {**NEW, "phone": "０３１１－８６０１２３４５"})
    assert channels(app, COUNTY)[0] == "0311-86012345"


def test_text_in_the_hours_is_escaped_in_the_console_and_on_the_public_site(app, make_user, login, post):
    make_user("admin", COUNTY, "admin")
    client = login(app.test_client(), "admin")
    edit(client, post, COUNTY, {**NEW, "hours": "<script>alert(1)</script>"})
    for page in (client.get("/console/directory").get_data(as_text=True),
                 app.test_client().get(f"/directory/{COUNTY}").get_data(as_text=True)):
        assert "<script>alert(1)" not in page
        assert "&lt;script&gt;alert(1)" in page


def test_everyone_reads_the_channels_of_their_jurisdiction_but_not_elsewhere(app, make_user, login):
    make_user("agent", CITY, "agent")
    client = login(app.test_client(), "agent")
    page = client.get("/console/directory").get_data(as_text=True)
    assert 'action="/console/directory/channels' not in page  # no edit form for an agent
    assert COUNTY in page  # the units below are listed
    assert client.get("/console/directory", query_string={"unit": COUNTY}).status_code == 200
    assert client.get("/console/directory", query_string={"unit": OTHER_CITY_COUNTY}).status_code == 404
    assert client.get("/console/directory", query_string={"unit": "x" * 200}).status_code == 404
