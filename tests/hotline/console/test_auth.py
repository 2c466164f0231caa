"""Logging in (等保 level 3): one answer for every refusal, the lockout and its audit, argon2id hashes."""

from __future__ import annotations

import datetime
import logging

from argon2 import PasswordHasher
from sqlalchemy import select

from hotline import db
from hotline.console import passwords
from hotline.console.accounts import disable_user, find_user
from hotline.console.login import Lockout, authenticate
from hotline.console.models import AccountAudit, LoginAudit
from tests.hotline.console.conftest import COUNTY, PASSWORD, account, log_in, login_error, outcomes, post

T0 = datetime.datetime(2026, 3, 2, 2, 0, tzinfo=datetime.UTC)
WRONG = "Wrong#Pass2026"


def test_the_right_password_logs_in_and_is_audited(app, client, make_user):
    make_user("zhangsan", COUNTY, "agent", name="张三")
    response = post(client, "/console/login", {"username": "ZhangSan", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/console/"
    home = client.get("/console/").get_data(as_text=True)
    assert "张三" in home and "长安区" in home and "热线坐席" in home
    assert outcomes(app, "zhangsan") == ["success"]
    assert account(app, "zhangsan").last_login_at is not None


def test_a_wrong_password_is_refused_and_audited(app, client, make_user):
    make_user("zhangsan", COUNTY, "agent")
    response = post(client, "/console/login", {"username": "zhangsan", "password": PASSWORD + "x"})
    assert response.status_code == 200 and login_error(response)
    assert client.get("/console/").status_code == 302
    assert outcomes(app, "zhangsan") == ["bad_password"]


def test_every_refusal_gets_the_same_answer(app, client, make_user):
    # Unknown user, wrong password, locked account (right password), disabled
    # account (right password): the page may not tell them apart.
    make_user("wrongpw", COUNTY, "agent")
    make_user("locked", COUNTY, "agent")
    make_user("disabled", COUNTY, "agent")
    with app.app_context():
        session = db.session()
        locked = find_user(session, "locked")
        locked.failed_count = 5
        locked.locked_until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=10)
        disable_user(session, find_user(session, "disabled"))
        session.commit()
    answers = {}
    for username, password in (("nobody", PASSWORD), ("wrongpw", "Wrong#Pass2026"),
                               ("locked", PASSWORD), ("disabled", PASSWORD), ("no\x00body", "\x00")):
        response = post(client, "/console/login", {"username": username, "password": password})
        answers[username] = (response.status_code, login_error(response))
    assert len(set(answers.values())) == 1, answers
    assert answers["nobody"][1].startswith("用户名或密码不正确")
    assert outcomes(app, "nobody") == ["unknown_user"]
    assert outcomes(app, "locked") == ["locked"]
    assert outcomes(app, "disabled") == ["disabled"]


def test_five_failures_lock_the_account_with_an_audit_record(app, client, make_user, caplog):
    user = make_user("zhangsan", COUNTY, "agent")
    for _ in range(5):
        post(client, "/console/login", {"username": "zhangsan", "password": "Wrong#Pass2026"})
    # Locked: even the right password is refused, with the same words.
    response = post(client, "/console/login", {"username": "zhangsan", "password": PASSWORD})
    assert login_error(response).startswith("用户名或密码不正确")
    assert client.get("/console/").status_code == 302
    assert outcomes(app, "zhangsan") == ["bad_password"] * 5 + ["lockout", "locked"]
    assert f"console account {user.id} locked for 15 minutes" in caplog.text and "zhangsan" not in caplog.text
    user = account(app, "zhangsan")
    assert user.failed_count == 5
    assert datetime.timedelta(minutes=14) < user.locked_until - datetime.datetime.now(datetime.UTC) \
        <= datetime.timedelta(minutes=15)


def test_the_lockout_ends_after_its_period_and_the_count_starts_again(app, make_user):
    make_user("zhangsan", COUNTY, "agent")
    lockout = Lockout(failures=3, minutes=15)
    with app.app_context():
        session = db.session()
        for minute in range(3):
            at = T0 + datetime.timedelta(minutes=minute)
            assert authenticate(session, "zhangsan", WRONG, client="t", lockout=lockout, at=at) is None
        in_lockout = T0 + datetime.timedelta(minutes=16)  # 14 minutes after the third failure
        assert authenticate(session, "zhangsan", PASSWORD, client="t", lockout=lockout, at=in_lockout) is None
        after = T0 + datetime.timedelta(minutes=18)
        # One failure after the lockout does not lock again: the count restarted.
        assert authenticate(session, "zhangsan", WRONG, client="t", lockout=lockout, at=after) is None
        assert find_user(session, "zhangsan").locked_until is None
        user = authenticate(session, "zhangsan", PASSWORD, client="t", lockout=lockout, at=after)
        assert user is not None and user.failed_count == 0


def test_a_success_resets_the_failure_count(app, make_user):
    make_user("zhangsan", COUNTY, "agent")
    lockout = Lockout(failures=3, minutes=15)
    with app.app_context():
        session = db.session()
        for attempt in ("Wrong#Pass2026", "Wrong#Pass2026", PASSWORD, "Wrong#Pass2026", "Wrong#Pass2026"):
            authenticate(session, "zhangsan", attempt, client="t", lockout=lockout, at=T0)
        assert find_user(session, "zhangsan").locked_until is None


def test_passwords_are_stored_as_argon2id_and_never_in_clear(app, client, make_user, caplog):
    caplog.set_level(logging.DEBUG)
    make_user("zhangsan", COUNTY, "agent")
    post(client, "/console/login", {"username": "zhangsan", "password": "Wrong#Pass2026"})
    log_in(client, "zhangsan")
    user = account(app, "zhangsan")
    assert user.password_hash.startswith("$argon2id$")
    with app.app_context():
        rows = [*db.session().scalars(select(LoginAudit)), *db.session().scalars(select(AccountAudit))]
        stored = repr([vars(row) for row in [user, *rows]])
    for secret in (PASSWORD, "Wrong#Pass2026"):
        assert secret not in stored
        assert secret not in caplog.text


def test_production_hashes_use_rfc_9106s_memory_hard_parameters():
    # Outside the tests' cheap app: argon2id, 64 MiB, 3 passes, 4 lanes.
    password_hash = passwords.hash_password("Xy7#kLm2pQ")
    assert password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert passwords.verify(password_hash, "Xy7#kLm2pQ") and not passwords.verify(password_hash, "Xy7#kLm2pq")


def test_a_hash_made_with_old_parameters_is_upgraded_at_login(app, client, make_user):
    make_user("zhangsan", COUNTY, "agent")
    with app.app_context():
        user = find_user(db.session(), "zhangsan")
        user.password_hash = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD)
        db.session().commit()
    log_in(client, "zhangsan")
    assert account(app, "zhangsan").password_hash.startswith("$argon2id$v=19$m=8,t=1,p=1$")


def test_a_typed_password_in_the_user_name_field_is_not_audited(app, client):
    post(client, "/console/login", {"username": "My$ecret#Pass1", "password": "x"})
    with app.app_context():
        rows = db.session().execute(select(LoginAudit.outcome, LoginAudit.username)).all()
    assert rows == [("unknown_user", "(无效)")]
