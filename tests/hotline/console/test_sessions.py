"""Sessions: ended by disabling, idle time and logout; CSRF on every form; where a login returns."""

from __future__ import annotations

import datetime
import re
from email.utils import parsedate_to_datetime

import pytest

from hotline import db
from hotline.app import create_app
from hotline.config import load_settings
from hotline.console import passwords
from hotline.console.accounts import AccountError, change_own_password, disable_user, find_user
from tests.conftest import ID_KEY
from tests.hotline.console.conftest import (
    COUNTY,
    PASSWORD,
    account,
    csrf_token,
    log_in,
    login_error,
    outcomes,
    post,
)


def test_a_disabled_account_is_refused_and_its_live_session_ends(app, client, make_user):
    make_user("zhangsan", COUNTY, "agent")
    log_in(client, "zhangsan")
    assert client.get("/console/").status_code == 200
    with app.app_context():
        disable_user(db.session(), find_user(db.session(), "zhangsan"))
        db.session().commit()
    response = client.get("/console/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/console/login")
    assert "登录已失效" in client.get(response.headers["Location"]).get_data(as_text=True)
    refused = post(client, "/console/login", {"username": "zhangsan", "password": PASSWORD})
    assert login_error(refused)


def test_a_session_idle_past_the_timeout_ends_with_a_message_and_an_audit_row(app, client, make_user):
    make_user("zhangsan", COUNTY, "agent")
    log_in(client, "zhangsan")
    with client.session_transaction() as session:
        session["console_seen"] -= 29 * 60
    assert client.get("/console/").status_code == 200  # 29 minutes idle: still on, and the clock restarts
    with client.session_transaction() as session:
        session["console_seen"] -= 31 * 60
    response = client.get("/console/")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "长时间未操作" in page
    assert outcomes(app, "zhangsan") == ["success", "timeout"]
    assert client.get("/console/").status_code == 302


def test_the_session_cookie_is_http_only_same_site_and_lives_as_long_as_the_idle_timeout(client, make_user):
    make_user("zhangsan", COUNTY, "agent")
    response = post(client, "/console/login", {"username": "zhangsan", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))
    left = expires - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(minutes=29) < left <= datetime.timedelta(minutes=30)


def test_logout_ends_the_session_everywhere(app, client, make_user):
    make_user("zhangsan", COUNTY, "agent")
    other = app.test_client()
    log_in(client, "zhangsan")
    log_in(other, "zhangsan")
    response = post(client, "/console/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/console/login"
    assert client.get("/console/").status_code == 302
    assert other.get("/console/").status_code == 302
    assert outcomes(app, "zhangsan") == ["success", "success", "logout"]


def test_changing_ones_password_keeps_this_session_and_ends_the_others(app, client, make_user):
    make_user("zhangsan", COUNTY, "agent")
    other = app.test_client()
    log_in(client, "zhangsan")
    log_in(other, "zhangsan")
    new = "Another#Secret77"
    response = post(client, "/console/password", {"current": PASSWORD, "password": new, "confirm": new})
    assert response.status_code == 302
    assert client.get("/console/").status_code == 200
    assert other.get("/console/").status_code == 302
    assert log_in(app.test_client(), "zhangsan", new)


@pytest.mark.parametrize(("current", "new", "message"), [
    ("Wrong#Pass2026", "Another#Secret77", "当前密码不正确"),
    (PASSWORD, "short", "至少需要 10 个字符"),
    (PASSWORD, PASSWORD, "不能与当前密码相同"),
])
def test_a_password_change_is_refused_with_its_reason(app, client, make_user, current, new, message):
    make_user("zhangsan", COUNTY, "agent")
    log_in(client, "zhangsan")
    response = post(client, "/console/password", {"current": current, "password": new, "confirm": new})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert passwords.verify(account(app, "zhangsan").password_hash, PASSWORD)


@pytest.mark.parametrize("token", [None, "forged", "IjAwMDAi.aaaa.bbbb"])
def test_a_login_without_a_valid_csrf_token_is_refused(app, client, make_user, token):
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    make_user("zhangsan", COUNTY, "agent")
    csrf_token(client)  # the session has a token, just not this one
    data = {"username": "zhangsan", "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/console/login", data=data)
    assert response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)
    assert outcomes(app, "zhangsan") == []
    assert client.get("/console/").status_code == 302


def test_logout_without_a_csrf_token_is_refused(app, client, make_user):
    make_user("zhangsan", COUNTY, "agent")
    log_in(client, "zhangsan")
    assert client.post("/console/logout").status_code == 400
    assert client.get("/console/").status_code == 200


def test_a_console_page_asks_for_the_login_and_comes_back(client, make_user):
    make_user("zhangsan", COUNTY, "agent")
    response = client.get("/console/password?x=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/login?next=/console/password?x%3D1"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/console/password?x=1"' in page
    done = post(client, "/console/login", {"username": "zhangsan", "password": PASSWORD,
                                           "next": "/console/password?x=1"})
    assert done.headers["Location"] == "/console/password?x=1"


@pytest.mark.parametrize("target", [
    "https://evil.example/console/", "//evil.example/console/", "///evil.example/console/",
    "/\\evil.example/console/", "\\\\evil.example", "javascript:alert(1)", "/status", "/console\\..\\x",
    " /console/", "/console/\r\nLocation: https://evil.example", "http:/console/",
])
def test_next_may_not_leave_the_console(client, make_user, target):
    make_user("zhangsan", COUNTY, "agent")
    response = post(client, "/console/login", {"username": "zhangsan", "password": PASSWORD, "next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/console/"


def test_an_own_password_change_needs_the_current_password(app, make_user):
    make_user("zhangsan", COUNTY, "agent")
    with app.app_context(), pytest.raises(AccountError, match="当前密码不正确"):
        change_own_password(db.session(), find_user(db.session(), "zhangsan"), "nope", "Another#Secret77",
                            client="t")


@pytest.mark.parametrize("enabled", ["false", "0", "off"])
def test_a_disabled_console_answers_404(database_url, tmp_path, enabled):
    settings = load_settings({"XUEJI_CONSOLE_ENABLED": enabled}, env="testing", database_url=database_url,
                             secret_key="test-secret", id_hash_key=ID_KEY,
                             instance_path=str(tmp_path / "instance"))
    app = create_app(settings)
    try:
        client = app.test_client()
        for path in ("/console/", "/console/login", "/console/admin/users"):
            assert client.get(path).status_code == 404
        assert client.get("/").status_code == 200  # the public site is still there
    finally:
        app.extensions["xueji.engine"].dispose()


def test_each_request_finds_its_own_user_inside_a_shared_application_context(app, make_user):
    # A CLI command or a test may hold an application context (and its g) across requests.
    make_user("zhangsan", COUNTY, "agent", name="张三")
    make_user("lisi", COUNTY, "handler", name="李四")
    first, second = log_in(app.test_client(), "zhangsan"), log_in(app.test_client(), "lisi")
    with app.app_context():
        assert "张三" in first.get("/console/").get_data(as_text=True)
        assert "李四" in second.get("/console/").get_data(as_text=True)
        assert app.test_client().get("/console/").status_code == 302
