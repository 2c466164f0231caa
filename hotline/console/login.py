"""Logging in: password checks, the lockout, and the login audit.

等保 level 3 asks for a lockout after repeated failures and an audit record of
every login, failed login and lockout. The rules:

- ``failures`` consecutive wrong passwords (at login or at re-authentication)
  lock the account for ``minutes``; the failure that locks it is audited
  twice, as ``bad_password`` and as ``lockout``. A lockout reached through
  re-authentication also ends the account's sessions: whoever holds that
  session is guessing its password.
- During the lockout every attempt is refused, even with the right password,
  and audited as ``locked``; the lockout is not extended. Once it has passed,
  the count starts again from zero.
- The caller answers every refusal with the same words (unknown user, wrong
  password, locked, disabled): the page is no oracle for which user names
  exist or which password was right. Every refusal also spends the time of
  one password verification, so the time tells nothing either.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from hotline.console import passwords
from hotline.console.accounts import USERNAME, end_sessions, find_user, normalize_username, now
from hotline.console.models import LoginAudit, User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lockout:
    """How many consecutive failures lock an account, and for how long."""

    failures: int = 5
    minutes: int = 15


def audit(session: Session, outcome: str, *, client: str, user: User | None = None, typed: str = "",
          at: datetime.datetime | None = None) -> None:
    """One ``login_audit`` row. ``typed`` is kept only if it could be a user name at all."""
    if user is not None:
        username = user.username
    else:
        candidate = normalize_username(typed)[:32]
        # A password typed into the user-name field must not be kept: only
        # something shaped like a user name is.
        username = candidate if USERNAME.fullmatch(candidate) else "(无效)"
    session.add(LoginAudit(at=at or now(), username=username, user_id=user.id if user else None,
                           outcome=outcome, client=(client or "-")[:45]))


def _locked(user: User, at: datetime.datetime) -> bool:
    if user.locked_until is None:
        return False
    if user.locked_until > at:
        return True
    # The lockout has passed: the count starts again.
    user.locked_until, user.failed_count = None, 0
    return False


def _failed(session: Session, user: User, lockout: Lockout, at: datetime.datetime, client: str,
            outcome: str) -> bool:
    """Count a wrong password; True if it locked the account.

    The count is bumped in SQL, so concurrent guesses on PostgreSQL queue on
    the row lock and each sees the count the one before it left.
    """
    count = session.execute(
        update(User).where(User.id == user.id).values(failed_count=User.failed_count + 1)
        .returning(User.failed_count)
    ).scalar_one()
    audit(session, outcome, client=client, user=user, at=at)
    if count < lockout.failures:
        return False
    user.locked_until = at + datetime.timedelta(minutes=lockout.minutes)
    if count == lockout.failures:
        audit(session, "lockout", client=client, user=user, at=at)
        # The account's id only: user names and addresses stay in the audit table.
        log.warning("console account %s locked for %d minutes after %d failed passwords",
                    user.id, lockout.minutes, count)
    return True


def authenticate(session: Session, typed: str, password: str, *, client: str,
                 lockout: Lockout = Lockout(), at: datetime.datetime | None = None) -> User | None:
    """The account if ``password`` is right and the account may log in now; otherwise None.

    Every attempt is audited; the caller commits whatever the answer.
    """
    at = at or now()
    user = find_user(session, typed)
    if user is None:
        passwords.burn(password)
        audit(session, "unknown_user", client=client, typed=typed, at=at)
        return None
    if not user.active or _locked(user, at):
        passwords.burn(password)
        audit(session, "disabled" if not user.active else "locked", client=client, user=user, at=at)
        return None
    if not passwords.verify(user.password_hash, password):
        _failed(session, user, lockout, at, client, "bad_password")
        session.flush()
        return None
    user.failed_count = 0
    user.last_login_at = at
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    audit(session, "success", client=client, user=user, at=at)
    session.flush()
    return user


def reauthenticate(session: Session, user: User, password: str, *, client: str,
                   lockout: Lockout = Lockout(), at: datetime.datetime | None = None) -> bool:
    """Whether the logged-in ``user`` typed their password again correctly.

    Failures count towards the lockout like failed logins; a lockout reached
    here ends the account's sessions.
    """
    at = at or now()
    if _locked(user, at):
        passwords.burn(password)
        audit(session, "locked", client=client, user=user, at=at)
        return False
    if not passwords.verify(user.password_hash, password):
        if _failed(session, user, lockout, at, client, "reauth_failed"):
            end_sessions(user)
        session.flush()
        return False
    user.failed_count = 0
    audit(session, "reauth", client=client, user=user, at=at)
    session.flush()
    return True
