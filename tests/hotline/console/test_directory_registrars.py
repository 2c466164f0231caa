"""The registrars' address book (学籍管理员通讯录, 2016 notice part 2): by unit and below, kept by
administrators, every view of another unit's entries and every export audited, CSV guarded."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline import db
from hotline.console.directory_models import Registrar
from hotline.console.models import AccessAudit
from tests.hotline.console.conftest import CITY, COUNTY, OTHER_CITY_COUNTY, OTHER_COUNTY

ENTRY = {"name": "张学籍", "title": "学籍管理员", "office_phone": "0311-86012345", "mobile": "138 0013 8000",
         "email": "zhang@changan.example.cn"}


def add(client, post, unit: str, data: dict[str, str] | None = None):
    return post(client, "/console/directory/registrars", data or ENTRY, query_string={"unit": unit})


def entries(app) -> list[tuple[str, str, str | None, bool]]:
    with app.app_context():
        return [(r.unit_code, r.name, r.mobile, r.active)
                for r in db.session().scalars(select(Registrar).order_by(Registrar.id))]


def entry_id(app, name: str) -> int:
    with app.app_context():
        return db.session().scalar(select(Registrar.id).where(Registrar.name == name))


def audits(app) -> list[tuple[str, str, str | None]]:
    with app.app_context():
        return [(a.unit_code, a.what, a.detail)
                for a in db.session().scalars(select(AccessAudit).order_by(AccessAudit.id))]


@pytest.fixture
def book(app, make_user, login, post):
    """An entry in 长安区 and one in its sibling county, added by their administrators."""
    make_user("admin", COUNTY, "admin")
    make_user("otheradmin", OTHER_COUNTY, "admin")
    client = login(app.test_client(), "admin")
    assert add(client, post, COUNTY).status_code == 302
    other = login(app.test_client(), "otheradmin")
    second = {**ENTRY, "name": "李学籍", "mobile": "13900139000"}
    assert add(other, post, OTHER_COUNTY, second).status_code == 302
    return client


def test_an_administrator_adds_a_registrar_of_their_unit(app, book):
    assert entries(app) == [(COUNTY, "张学籍", "13800138000", True),
                            (OTHER_COUNTY, "李学籍", "13900139000", True)]
    page = book.get("/console/directory/registrars").get_data(as_text=True)
    assert "张学籍" in page and "13800138000" in page
    assert "李学籍" not in page  # a sibling county is outside the jurisdiction


def test_an_administrator_edits_and_deactivates_an_entry(app, book, post):
    number = str(entry_id(app, "张学籍"))
    edited = post(book, "/console/directory/registrars",
                  {**ENTRY, "registrar_id": number, "mobile": "13700137000"}, query_string={"unit": COUNTY})
    assert edited.status_code == 302
    assert entries(app)[0] == (COUNTY, "张学籍", "13700137000", True)
    off = post(book, "/console/directory/registrars/status", {"registrar_id": number, "active": "0"},
               query_string={"unit": COUNTY})
    assert off.status_code == 302 and entries(app)[0][3] is False
    assert "张学籍" not in book.get("/console/directory/registrars").get_data(as_text=True)
    shown = book.get("/console/directory/registrars", query_string={"inactive": "1"}).get_data(as_text=True)
    assert "张学籍" in shown and "已停用" in shown


def test_the_list_of_a_unit_holds_the_units_below_and_viewing_them_is_audited(app, book, make_user, login):
    make_user("cityagent", CITY, "agent")
    client = login(app.test_client(), "cityagent")
    page = client.get("/console/directory/registrars").get_data(as_text=True)
    assert "张学籍" in page and "李学籍" in page
    assert audits(app) == [(CITY, "registrars", f"unit={CITY} rows=2")]


def test_viewing_ones_own_units_entries_only_is_not_audited(app, book):
    assert book.get("/console/directory/registrars").status_code == 200
    assert audits(app) == []


@pytest.mark.parametrize(("unit", "role", "status"), [
    (COUNTY, "supervisor", 403),
    (COUNTY, "agent", 403),
    (OTHER_CITY_COUNTY, "admin", 404),
])
def test_only_administrators_of_the_jurisdiction_change_entries(app, book, make_user, login, post, unit, role,
                                                                status):
    make_user("someone", unit, role)
    client = login(app.test_client(), "someone")
    number = str(entry_id(app, "张学籍"))
    before = entries(app)
    assert add(client, post, COUNTY, {**ENTRY, "name": "冒名"}).status_code == status
    assert post(client, "/console/directory/registrars/status", {"registrar_id": number, "active": "0"},
                query_string={"unit": COUNTY}).status_code == status
    assert entries(app) == before


def test_another_branchs_entry_named_under_ones_own_unit_is_not_found(app, book, post):
    # 长安区's administrator names 李学籍 (of the sibling county) while on 长安区's page: a tampered id.
    number = str(entry_id(app, "李学籍"))
    before = entries(app)
    assert post(book, "/console/directory/registrars", {**ENTRY, "registrar_id": number},
                query_string={"unit": COUNTY}).status_code == 404
    assert post(book, "/console/directory/registrars/status", {"registrar_id": number, "active": "0"},
                query_string={"unit": COUNTY}).status_code == 404
    editing = {"unit": COUNTY, "edit": number}
    assert book.get("/console/directory/registrars", query_string=editing).status_code == 404
    assert book.get("/console/directory/registrars", query_string={"unit": OTHER_COUNTY}).status_code == 404
    assert entries(app) == before


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "", "请填写姓名"),
    ("name", "张" * 33, "姓名不能超过 32 个字"),
    ("mobile", "12345", "手机号码应为以 1 开头的 11 位数字"),
    ("office_phone", "call me", "办公电话只能由数字和连字符组成"),
    ("email", "zhang at example", "邮箱格式不正确"),
    ("title", "职" * 33, "职务不能超过 32 个字"),
])
def test_bad_entries_are_refused_with_a_message_and_nothing_is_saved(app, make_user, login, post, field,
                                                                   value, message):
    make_user("admin", COUNTY, "admin")
    response = add(login(app.test_client(), "admin"), post, COUNTY, {**ENTRY, field: value})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert entries(app) == []


def test_an_entry_needs_one_way_to_reach_the_registrar(app, make_user, login, post):
    make_user("admin", COUNTY, "admin")
    response = add(login(app.test_client(), "admin"), post, COUNTY,
                   {**ENTRY, "office_phone": "", "mobile": "", "email": ""})
    assert response.status_code == 400 and "至少填写一项" in response.get_data(as_text=True)
    assert entries(app) == []


def test_a_change_needs_the_password_re_entered(app, book, post):
    with book.session_transaction() as session:
        session["console_reauth"] -= 5 * 60 + 1
    response = add(book, post, COUNTY, {**ENTRY, "name": "王学籍"})
    assert response.headers["Location"].startswith("/console/reauth")
    assert [name for _, name, *_ in entries(app)] == ["张学籍", "李学籍"]


def test_names_are_escaped_on_the_page(app, make_user, login, post):
    make_user("admin", COUNTY, "admin")
    client = login(app.test_client(), "admin")
    add(client, post, COUNTY, {**ENTRY, "name": "<script>x</script>"})
    page = client.get("/console/directory/registrars").get_data(as_text=True)
    assert "<script>x" not in page and "&lt;script&gt;x" in page


def test_the_csv_export_is_guarded_against_formulas_and_audited(app, make_user, login, post):
    make_user("admin", COUNTY, "admin")
    make_user("supervisor", CITY, "supervisor")
    add(login(app.test_client(), "admin"), post, COUNTY, {**ENTRY, "name": "=HYPERLINK(\"http://x\")"})
    response = login(app.test_client(), "supervisor").get("/console/directory/registrars.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data().decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "13800138000" in text
    assert audits(app) == [(CITY, "registrars_csv", f"unit={CITY} rows=1")]


def test_agents_and_handlers_may_not_export_the_book(app, make_user, login):
    make_user("agent", COUNTY, "agent")
    assert login(app.test_client(), "agent").get("/console/directory/registrars.csv").status_code == 403
