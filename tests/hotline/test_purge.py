"""Retention: ``xueji purge`` removes what its rules say, never anything younger than 6 months.

Records are written at ages around each rule's retention (audit records 12
months, noise mail 6, contacts of closed tickets 24) and the command is run
as an operator runs it. test_purge_kill.py kills it mid-way.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.config import ConfigError, load_settings
from hotline.console.models import AccessAudit, AccountAudit, LoginAudit, User
from hotline.purge import months_before, start_of, today
from hotline.tickets.inbox import ReceivedMail
from hotline.tickets.models import Complainant, Ticket
from hotline.tickets.outbox import OutgoingMail, queue_reply
from hotline.tickets.workflow import Actor, NewTicket, close_answered, create_ticket
from lookup.models import LookupAudit, School

NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)
UNIT = "130102"  # 长安区, on the seeded tree
SCHOOL = "1301020001"
_serial = itertools.count()


def ago(days: float) -> datetime.datetime:
    return NOW - days * DAY


def count(session: Session, model, *where) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model).where(*where))


def store_of(app) -> Path:
    return Path(app.instance_path) / "mail"


def mail(session: Session, store: Path, outcome: str, at: datetime.datetime, *, folder: str = "cur",
         **columns) -> ReceivedMail:
    """A received message of ``outcome`` processed at ``at``, with its raw file in the store."""
    name = f"{int(at.timestamp() * 1e9)}.P1Q{next(_serial)}.test"
    raw = f"Subject: {outcome} {name}\r\n\r\n{outcome}\r\n".encode()
    (store / folder).mkdir(parents=True, exist_ok=True)
    (store / folder / name).write_bytes(raw)
    row = ReceivedMail(source="spool", source_key=name, content_sha256=hashlib.sha256(raw).hexdigest(),
                       message_id=f"<{name}@qq.com>", raw_path=f"cur/{name}", size=len(raw),
                       received_at=at, processed_at=at, outcome=outcome, acked=False, **columns)
    session.add(row)
    session.flush()
    return row


def raw_exists(store: Path, row_path: str) -> bool:
    name = row_path.removeprefix("cur/")
    return (store / "cur" / name).exists() or (store / "new" / name).exists()


def purge(runner, *args: str):
    return runner.invoke(args=["purge", *args])


def rows_in(output: str) -> dict[str, int]:
    """The rows per table that the command printed (one line per rule)."""
    counts = {}
    for line in output.splitlines():
        if "之前" in line:
            table, _, rest = line.strip().partition(" ")
            counts[table] = int(rest.split("之前")[1].split("行")[0].replace(",", ""))
    return counts


@pytest.fixture
def officer(session: Session) -> User:
    """A console account, for the audit rows that name one."""
    user = User(username="agent1", unit_code=UNIT, role="agent", password_hash="$argon2id$x",
                created_at=ago(900), password_changed_at=ago(900))
    session.add(user)
    session.flush()
    return user


def audit_rows(session: Session, user: User, at: datetime.datetime) -> None:
    session.add_all([
        LookupAudit(at=at, channel="web", kind="id", outcome="not_found", client="203.0.113.9"),
        LoginAudit(at=at, username="agent1", user_id=user.id, outcome="success", client="10.0.0.1"),
        AccessAudit(at=at, user_id=user.id, unit_code=UNIT, what="contact", client="10.0.0.1"),
        AccountAudit(at=at, target_id=user.id, action="unlock", client="10.0.0.1"),
    ])
    session.flush()


AUDIT_TABLES = (LookupAudit, LoginAudit, AccessAudit)


def test_audit_records_go_after_their_retention_and_not_a_second_before(app, runner, session, officer):
    cutoff = start_of(months_before(today(), 12))  # XUEJI_RETAIN_AUDIT_MONTHS defaults to 12
    for at in (ago(800), cutoff - datetime.timedelta(seconds=1), cutoff, ago(200), ago(1)):
        audit_rows(session, officer, at)
    result = purge(runner)
    assert result.exit_code == 0, result.output
    assert f"{months_before(today(), 12).isoformat()} 之前" in result.output
    for model in AUDIT_TABLES:
        assert count(session, model) == 3, model.__tablename__
        assert count(session, model, model.at < cutoff) == 0
        assert rows_in(result.output)[model.__tablename__] == 2
    # Who held which rights stays: account changes are never purged.
    assert count(session, AccountAudit) == 5


@pytest.mark.parametrize("outcome, goes", [
    ("auto", True), ("bounce", True), ("loop", True), ("duplicate", True),
    ("ticket", False), ("reply", False), ("quarantine", False),
])
def test_mail_that_caused_nothing_goes_with_its_raw_file_after_six_months(app, runner, session, outcome,
                                                                          goes):
    store = store_of(app)
    old = mail(session, store, outcome, ago(200))
    young = mail(session, store, outcome, ago(170))
    old_path, young_path = old.raw_path, young.raw_path
    result = purge(runner)
    assert result.exit_code == 0, result.output
    assert count(session, ReceivedMail, ReceivedMail.raw_path == old_path) == (0 if goes else 1)
    assert raw_exists(store, old_path) is not goes
    assert count(session, ReceivedMail, ReceivedMail.raw_path == young_path) == 1
    assert raw_exists(store, young_path)


def test_a_raw_file_still_in_new_goes_with_its_row(app, runner, session):
    """A worker that recorded a message and stopped before moving it left the file in new/."""
    store = store_of(app)
    row = mail(session, store, "auto", ago(400), folder="new")
    path = row.raw_path
    assert purge(runner).exit_code == 0
    assert count(session, ReceivedMail, ReceivedMail.raw_path == path) == 0
    assert not raw_exists(store, path)


def test_a_row_that_a_kept_row_points_at_is_kept(app, runner, session):
    store = store_of(app)
    # An old auto-reply repeated recently: the recent duplicate stays, so the original stays.
    held = mail(session, store, "auto", ago(300))
    recent = mail(session, store, "duplicate", ago(10), duplicate_of=held.id)
    # An old message and its old duplicate: both go, the duplicate first.
    first = mail(session, store, "bounce", ago(300))
    mail(session, store, "duplicate", ago(250), duplicate_of=first.id)
    # A quarantined message replayed into a duplicate of an old auto-reply: the chain stays.
    origin = mail(session, store, "auto", ago(300))
    replay = mail(session, store, "duplicate", ago(290), duplicate_of=origin.id)
    mail(session, store, "quarantine", ago(300), replayed_by=replay.id)
    kept = {held.id, recent.id, origin.id, replay.id}

    dry = purge(runner, "--dry-run")
    assert rows_in(dry.output)["received_mail"] == 2, dry.output
    result = purge(runner, "--batch-size", "1")
    assert result.exit_code == 0, result.output
    assert rows_in(result.output)["received_mail"] == 2
    session.expire_all()
    assert set(session.scalars(select(ReceivedMail.id).where(ReceivedMail.outcome != "quarantine"))) == kept


def ticket_closed(session: Session, at: datetime.datetime, *, close: bool = True) -> Ticket:
    """A ticket answered by an e-mail reply (sent), closed at ``at`` or left open."""
    if session.get(School, SCHOOL) is None:
        session.add(School(code=SCHOOL, name="长安区第一小学", division_code=UNIT, authority_code=UNIT))
        session.flush()
    agent = Actor("坐席甲", UNIT)
    ticket = create_ticket(session, NewTicket(
        channel="email", category="complaint", subject="学籍号查不到", description="孩子的学籍号查不到。",
        receiving_unit_code=UNIT, school_codes=(SCHOOL,), complainant_name="刘某", relation="家长",
        phone="13800138000", email="parent@qq.com", received_at=at - 2 * DAY), agent)
    reply = queue_reply(session, ticket, agent, body="已为您查询，学籍号已恢复。", at=at - DAY)
    reply.status, reply.sent_at = "sent", at - DAY
    if close:
        close_answered(session, ticket, agent, answer="已答复家长", at=at)
    session.flush()
    return ticket


def test_closed_tickets_lose_their_contact_after_retention_and_open_ones_keep_it(app, runner, client,
                                                                                 session):
    with app.app_context():
        old = ticket_closed(session, ago(800))
        recent = ticket_closed(session, ago(700))
        open_ = ticket_closed(session, ago(800), close=False)
        numbers = (old.number, recent.number, open_.number)
        assert client.get(f"/api/v1/tickets/{old.number}?contact=13800138000").status_code == 200
        result = purge(runner)
        assert result.exit_code == 0, result.output
        contacts = {number: session.execute(
            select(Complainant.name, Complainant.relation, Complainant.phone, Complainant.email,
                   Complainant.phone_hash, Complainant.email_hash)
            .join(Ticket, Ticket.id == Complainant.ticket_id).where(Ticket.number == number)).one()
            for number in numbers}
        addresses = {number: session.scalar(
            select(OutgoingMail.to_addr).join(Ticket).where(Ticket.number == number)) for number in numbers}
    assert tuple(contacts[old.number]) == (None, "家长", None, None, None, None)
    assert addresses[old.number] == ""
    for number in numbers[1:]:
        assert contacts[number].phone == "13800138000" and contacts[number].email == "parent@qq.com"
        assert addresses[number] == "parent@qq.com"
    # Nothing ties the old ticket to a person any more: its status answers as for any miss.
    assert client.get(f"/api/v1/tickets/{old.number}?contact=13800138000").status_code == 404
    assert client.get(f"/api/v1/tickets/{recent.number}?contact=13800138000").status_code == 200
    # The ticket itself, and the reply's text, are the record of the matter: kept.
    assert count(session, Ticket, Ticket.number == old.number) == 1
    assert count(session, OutgoingMail, OutgoingMail.body_text.like("已为您查询%")) == 3


def test_a_dry_run_counts_what_a_run_changes_and_changes_nothing(app, runner, session, officer):
    store = store_of(app)
    with app.app_context():
        for at in (ago(800), ago(400), ago(190), ago(30)):
            audit_rows(session, officer, at)
            ticket_closed(session, at)
            for outcome in ("auto", "loop", "ticket"):
                mail(session, store, outcome, at)
    files = sorted(store.rglob("*"))
    tables = (LookupAudit, LoginAudit, AccessAudit, ReceivedMail, Complainant, OutgoingMail)
    before = {model: count(session, model) for model in tables}
    contacts = count(session, Complainant, Complainant.phone.is_not(None))

    dry = purge(runner, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert {model: count(session, model) for model in tables} == before
    assert count(session, Complainant, Complainant.phone.is_not(None)) == contacts
    assert sorted(store.rglob("*")) == files

    real = purge(runner, "--batch-size", "2")
    assert real.exit_code == 0, real.output
    # Audit rows of 800 and 400 days; noise mail of 800, 400 and 190 days; one ticket closed 800 days ago.
    expected = {"lookup_audit": 2, "login_audit": 2, "access_audit": 2, "received_mail": 6,
                "complainants": 1, "outgoing_mail": 1}
    assert rows_in(dry.output) == rows_in(real.output) == expected
    assert count(session, LookupAudit) == before[LookupAudit] - 2
    assert len(sorted(store.rglob("*"))) == len(files) - 6
    # Run again: there is nothing left to do.
    assert rows_in(purge(runner).output) == dict.fromkeys(expected, 0)


def test_before_replaces_the_retention_but_never_reaches_into_the_last_six_months(app, runner, session,
                                                                                  officer):
    for at in (ago(400), ago(250), ago(30)):
        audit_rows(session, officer, at)
    too_recent = (NOW - 150 * DAY).astimezone(datetime.timezone(datetime.timedelta(hours=8))).date()
    refused = purge(runner, "--before", too_recent.isoformat())
    assert refused.exit_code == 1
    assert "审计记录等至少保存 6 个月" in refused.output and "未作任何修改" in refused.output
    assert count(session, LookupAudit) == 3
    assert purge(runner, "--before", "2026-13-01").exit_code == 2  # not a date: click says so
    allowed = (NOW - 200 * DAY).date().isoformat()
    result = purge(runner, "--before", allowed)
    assert result.exit_code == 0, result.output
    assert count(session, LookupAudit) == 1


@pytest.mark.parametrize("name", ["RETAIN_AUDIT_MONTHS", "RETAIN_MAIL_MONTHS", "RETAIN_CONTACT_MONTHS"])
def test_a_retention_under_six_months_is_a_configuration_error(name):
    assert getattr(load_settings({f"XUEJI_{name}": "6"}), name.lower()) == 6
    with pytest.raises(ConfigError, match=f"XUEJI_{name}=5: expected 6 or more"):
        load_settings({f"XUEJI_{name}": "5"})
