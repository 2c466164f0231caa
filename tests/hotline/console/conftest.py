"""Fixtures of the console tests: accounts on the seeded tree, and logged-in clients.

Every console test can use:

- ``make_user(username, unit, role, password=PASSWORD, name=None)`` → the new
  :class:`~hotline.console.models.User` (committed to the test's savepoint,
  so requests see it);
- ``login(client, username, password=PASSWORD)`` → the same client, logged in
  (fails the test if the login is refused);
- ``post(client, path, data, **kwargs)`` → a POST with the CSRF token of the
  client's session, as a browser sends it; ``csrf_token(client)`` alone;
- helpers to import: ``log_in`` (the function behind ``login``),
  ``login_error(response)``, ``outcomes(app, username)`` (login_audit),
  ``account(app, username)``, and the unit codes below.

The ``app`` of these tests hashes passwords with argon2id at its lowest cost
(production: 64 MiB, t=3, ~0.15 s a hash), so that tests can create and log in
dozens of accounts; tests/hotline/console/test_auth.py checks the production
parameters. Several clients of one app are several browsers.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hotline import db
from hotline.console.accounts import create_user, find_user
from hotline.console.models import LoginAudit, User

PASSWORD = "Xueji#Console2026"
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

# Units of the seeded tree the tests use, from the top down.
MINISTRY, PROVINCE, CITY, COUNTY, OTHER_COUNTY = "000000", "130000", "130100", "130102", "130104"
OTHER_CITY_COUNTY, OTHER_PROVINCE, OTHER_PROVINCE_COUNTY = "130203", "110000", "110105"


@pytest.fixture
def app(app: Flask) -> Flask:
    """tests/conftest.py's app, hashing passwords cheaply (see the module's docstring)."""
    app.extensions["xueji.password_hasher"] = CHEAP_HASHER
    return app


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    def make(username: str, unit: str, role: str, password: str = PASSWORD, name: str | None = None) -> User:
        with app.app_context():
            session = db.session()
            user = create_user(session, username=username, unit_code=unit, role=role, password=password,
                               name=name)
            session.commit()
            session.expunge(user)  # detached with its attributes loaded, readable after the context
            return user
    return make


def csrf_token(client: FlaskClient) -> str:
    """The CSRF token of the client's session, read from a console page as a browser would."""
    page = client.get("/console/", follow_redirects=True).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def post(client: FlaskClient, path: str, data: dict[str, str] | None = None, **kwargs):
    return client.post(path, data={"csrf_token": csrf_token(client), **(data or {})}, **kwargs)


def log_in(client: FlaskClient, username: str, password: str = PASSWORD) -> FlaskClient:
    response = post(client, "/console/login", {"username": username, "password": password})
    assert response.status_code == 302, f"login of {username} refused: {response.status_code}"
    return client


def login_error(response) -> str | None:
    """The refusal the login page shows, if any."""
    match = re.search(r'id="login-error">([^<]*)<', response.get_data(as_text=True))
    return match and match.group(1)


def outcomes(app, username: str) -> list[str]:
    """The login_audit outcomes of ``username``, oldest first."""
    with app.app_context():
        return list(db.session().scalars(
            select(LoginAudit.outcome).where(LoginAudit.username == username).order_by(LoginAudit.id)))


def account(app, username: str) -> User:
    """The account as stored now, detached (its attributes stay readable)."""
    with app.app_context():
        user = find_user(db.session(), username)
        db.session().expunge(user)
        return user


@pytest.fixture
def login() -> Callable[..., FlaskClient]:
    return log_in


@pytest.fixture(name="post")
def post_fixture() -> Callable[..., object]:
    return post
