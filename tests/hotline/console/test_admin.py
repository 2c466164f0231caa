"""The accounts page: administrators only, their jurisdiction only, every action re-authenticated."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hotline import db
from hotline.console.accounts import find_user
from hotline.console.models import AccountAudit, User
from tests.hotline.console.conftest import (
    CITY,
    COUNTY,
    OTHER_CITY_COUNTY,
    OTHER_COUNTY,
    PASSWORD,
    PROVINCE,
    log_in,
    post,
)

NEW = {"username": "wangwu", "name": "王五", "unit_code": COUNTY, "role": "handler",
       "password": "Handler#Secret9", "confirm": "Handler#Secret9"}


@pytest.fixture
def admin(client, make_user):
    """An administrator of 石家庄 (130100), logged in on ``client``."""
    user = make_user("cityadmin", CITY, "admin", name="市管理员")
    log_in(client, "cityadmin")
    return user


def stored(app, username: str) -> User | None:
    with app.app_context():
        user = find_user(db.session(), username)
        if user is not None:
            db.session().expunge(user)
        return user


def actions(app) -> list[tuple[str, str | None]]:
    """The account changes audited after the fixtures' accounts were created."""
    with app.app_context():
        return db.session().execute(select(AccountAudit.action, AccountAudit.detail)
                                    .where(AccountAudit.action != "create").order_by(AccountAudit.id)).all()


def routes(user_id: int) -> list[tuple[str, str]]:
    base = f"/console/admin/users/{user_id}"
    return [("GET", "/console/admin/users"), ("POST", "/console/admin/users"), ("GET", base),
            ("POST", f"{base}/edit"), ("POST", f"{base}/password"), ("POST", f"{base}/disable"),
            ("POST", f"{base}/enable"), ("POST", f"{base}/unlock")]


@pytest.mark.parametrize("role", ["agent", "handler", "supervisor"])
def test_only_administrators_may_use_the_accounts_page(client, make_user, role):
    target = make_user("target", COUNTY, "agent")
    make_user("someone", CITY, role)
    log_in(client, "someone")
    for method, path in routes(target.id):
        response = client.get(path) if method == "GET" else post(client, path, NEW)
        assert response.status_code == 403, (method, path)
        assert "没有权限" in response.get_data(as_text=True)


def test_the_accounts_page_needs_a_login(client):
    response = client.get("/console/admin/users")
    assert response.status_code == 302 and response.headers["Location"].startswith("/console/login")


def test_the_accounts_page_lists_the_jurisdictions_accounts_only(client, admin, make_user):
    make_user("county", COUNTY, "agent")
    make_user("tangshan", OTHER_CITY_COUNTY, "agent")
    make_user("province", PROVINCE, "admin")
    page = client.get("/console/admin/users").get_data(as_text=True)
    assert "county" in page and "cityadmin" in page
    assert "tangshan" not in page and ">province<" not in page
    outside = client.get(f"/console/admin/users?unit={OTHER_CITY_COUNTY}").get_data(as_text=True)
    assert "不在您的管辖范围内" in outside and "tangshan" not in outside
    only_county = client.get(f"/console/admin/users?unit={COUNTY}").get_data(as_text=True)
    assert "county" in only_county and "cityadmin" not in only_county


def test_an_administrator_creates_an_account_in_their_jurisdiction(app, client, admin):
    response = post(client, "/console/admin/users", NEW)
    assert response.status_code == 302
    created = stored(app, "wangwu")
    assert response.headers["Location"] == f"/console/admin/users/{created.id}"
    assert (created.unit_code, created.role, created.name) == (COUNTY, "handler", "王五")
    with app.app_context():
        audit = db.session().scalars(select(AccountAudit).where(AccountAudit.target_id == created.id)).one()
        assert (audit.action, audit.actor_id, audit.target_id, audit.client) == (
            "create", admin.id, created.id, "127.0.0.1")
    assert log_in(app.test_client(), "wangwu", NEW["password"])


@pytest.mark.parametrize(("changes", "message"), [
    ({"unit_code": OTHER_CITY_COUNTY}, "不在您的管辖范围内"),
    ({"unit_code": PROVINCE}, "不在您的管辖范围内"),  # above the administrator: not theirs either
    ({"unit_code": "999999"}, "不在您的管辖范围内"),
    ({"password": "weakpassword", "confirm": "weakpassword"}, "至少 3 类"),
    ({"confirm": "Handler#Secret8"}, "两次输入的密码不一致"),
    ({"role": "root"}, "未知的角色"),
    ({"username": "cityadmin"}, "已被使用"),
    ({"username": "王五"}, "用户名须为"),
    ({"username": "w" * 300}, "用户名不能超过 32 个字符"),
    ({"name": "王" * 500}, "姓名不能超过 64 个字"),
    ({"unit_code": ""}, "请填写单位代码"),
    ({"unit_code": "13\x000102"}, "未知的单位代码"),
    ({"name": "王\x00五"}, "姓名不能包含控制字符"),
])
def test_a_refused_account_is_not_created_and_the_page_says_why(app, client, admin, changes, message):
    response = post(client, "/console/admin/users", {**NEW, **changes})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(User)) == 1  # the administrator


def test_another_jurisdictions_account_answers_404_and_is_not_changed(app, client, admin, make_user):
    other = make_user("tangshan", OTHER_CITY_COUNTY, "agent")
    for method, path in routes(other.id)[2:]:
        response = client.get(path) if method == "GET" else post(client, path, NEW)
        assert response.status_code == 404, (method, path)
    assert stored(app, "tangshan").active and actions(app) == []
    assert client.get("/console/admin/users/999999").status_code == 404


def test_disabling_an_account_ends_its_sessions_at_once(app, client, admin, make_user):
    target = make_user("county", COUNTY, "agent")
    theirs = log_in(app.test_client(), "county")
    response = post(client, f"/console/admin/users/{target.id}/disable")
    assert response.status_code == 302
    assert theirs.get("/console/").status_code == 302
    assert not stored(app, "county").active
    assert post(client, f"/console/admin/users/{target.id}/enable").status_code == 302
    assert stored(app, "county").active
    assert actions(app) == [("disable", None), ("enable", None)]


def test_an_administrator_cannot_disable_or_demote_themselves(app, client, admin):
    response = post(client, f"/console/admin/users/{admin.id}/disable")
    assert response.status_code == 400 and "不能停用自己的账号" in response.get_data(as_text=True)
    demote = post(client, f"/console/admin/users/{admin.id}/edit",
                  {"name": "市管理员", "unit_code": CITY, "role": "agent"})
    assert demote.status_code == 400 and "不能更改自己的账号" in demote.get_data(as_text=True)
    assert stored(app, "cityadmin").role == "admin" and stored(app, "cityadmin").active


def test_a_reset_password_replaces_the_old_one_and_ends_sessions(app, client, admin, make_user):
    target = make_user("county", COUNTY, "agent")
    theirs = log_in(app.test_client(), "county")
    new = "Reset#Secret2026"
    response = post(client, f"/console/admin/users/{target.id}/password", {"password": new, "confirm": new})
    assert response.status_code == 302
    assert theirs.get("/console/").status_code == 302
    refused = post(app.test_client(), "/console/login", {"username": "county", "password": PASSWORD})
    assert refused.status_code == 200
    assert log_in(app.test_client(), "county", new)
    weak = post(client, f"/console/admin/users/{target.id}/password", {"password": "x", "confirm": "x"})
    assert weak.status_code == 400 and "至少需要 10 个字符" in weak.get_data(as_text=True)


def test_a_change_of_role_and_unit_applies_at_once_and_is_audited(app, client, admin, make_user):
    target = make_user("county", COUNTY, "agent", name="张三")
    theirs = log_in(app.test_client(), "county")
    assert "热线坐席" in theirs.get("/console/").get_data(as_text=True)
    response = post(client, f"/console/admin/users/{target.id}/edit",
                    {"name": "张三丰", "unit_code": OTHER_COUNTY, "role": "supervisor"})
    assert response.status_code == 302
    home = theirs.get("/console/").get_data(as_text=True)
    assert "主管" in home and "桥西区" in home and "张三丰" in home
    assert actions(app) == [("rename", None), ("change_unit", f"{COUNTY} → {OTHER_COUNTY}"),
                            ("change_role", "agent → supervisor")]


def test_unlock_lifts_a_lockout(app, client, admin, make_user):
    target = make_user("county", COUNTY, "agent")
    for _ in range(5):
        post(app.test_client(), "/console/login", {"username": "county", "password": "Wrong#Pass2026"})
    assert "锁定至" in client.get(f"/console/admin/users/{target.id}").get_data(as_text=True)
    assert post(client, f"/console/admin/users/{target.id}/unlock").status_code == 302
    assert stored(app, "county").locked_until is None
    assert log_in(app.test_client(), "county")


def test_every_administrator_action_needs_the_password_re_entered_within_5_minutes(app, client, admin):
    with client.session_transaction() as session:
        session["console_reauth"] -= 5 * 60 + 1
    page = client.get("/console/admin/users")
    assert page.status_code == 302
    assert page.headers["Location"] == "/console/reauth?next=/console/admin/users"
    action = post(client, "/console/admin/users", {**NEW, "next": "/console/admin/users"})
    assert action.headers["Location"] == "/console/reauth?next=/console/admin/users"
    assert stored(app, "wangwu") is None
    wrong = post(client, "/console/reauth", {"password": "Wrong#Pass2026", "next": "/console/admin/users"})
    assert wrong.status_code == 200 and stored(app, "wangwu") is None
    right = post(client, "/console/reauth", {"password": PASSWORD, "next": "/console/admin/users"})
    assert right.headers["Location"] == "/console/admin/users"
    assert post(client, "/console/admin/users", NEW).status_code == 302
    assert stored(app, "wangwu") is not None


def test_an_administrator_action_without_a_csrf_token_is_refused(app, client, admin):
    response = client.post("/console/admin/users", data=NEW)
    assert response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)
    forged = client.post("/console/admin/users", data={**NEW, "csrf_token": "forged"})
    assert forged.status_code == 400
    assert stored(app, "wangwu") is None


@pytest.mark.parametrize("query", ["unit=%00&q=%00", "unit=' OR 1=1 --&q=%25", "unit=" + "9" * 500])
def test_odd_filters_are_answered_without_an_error(client, admin, query):
    assert client.get(f"/console/admin/users?{query}").status_code == 200


def test_names_are_escaped_on_the_page(client, admin):
    post(client, "/console/admin/users", {**NEW, "name": "<script>alert(1)</script>"})
    page = client.get("/console/admin/users").get_data(as_text=True)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
