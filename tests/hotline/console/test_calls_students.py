"""Students named in a call, looked up from the console as the public lookup finds them:
every lookup audited, "not found" one answer whatever was wrong, the ID number never stored."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from hotline import db
from hotline.tickets.models import TicketStudent
from lookup.numbers import mask_id_number
from lookup.operations import NOT_FOUND
from lookup.privacy import hash_id_number
from tests.conftest import ID_KEY
from tests.hotline.console.calls_support import (
    CHANGAN,
    NOBODY_ID,
    STUDENT,
    STUDENT_ID,
    audits,
    call,
    install,
    preview_then_save,
    send,
    stored_text,
    tickets,
    token,
)
from tests.hotline.console.conftest import COUNTY, log_in


@pytest.fixture
def agent(client, make_user, session, write_csv):
    install(session, write_csv)
    make_user("agent", COUNTY, "agent", name="坐席甲")
    return log_in(client, "agent")


def with_student(name: str = STUDENT, id_number: str = STUDENT_ID, **fields: str) -> dict[str, str]:
    return call(**{"students-0-name": name, "students-0-id_number": id_number, **fields})


def lookup(client, name: str, id_number: str):
    return client.post("/console/students/lookup",
                       data={"csrf_token": token(client), "name": name, "id_number": id_number})


def finding_of(page: str) -> str:
    """The lookup's answer on a page, without the name (which echoes what was typed)."""
    block = re.search(r'<div class="student-finding student-(\w+)">\s*<h\d>[^<]*</h\d>(.*?)</div>\s*(?=<|$)',
                      page, re.S)
    assert block, "no lookup answer on the page"
    return block.group(1) + re.sub(r"\*+|[0-9X]{3,4}(?=[^0-9])", "", block.group(2))


def test_a_student_found_shows_the_number_and_school_on_the_preview(agent, app):
    page = send(agent, with_student()).get_data(as_text=True)
    assert "student-found" in page and f"G{STUDENT_ID}" in page and "长安区第一小学" in page
    assert audits(app) == [("call_preview:found", None)]


def test_not_found_is_one_answer_whatever_was_wrong(agent, app):
    wrong_name = send(agent, with_student(name="李小红")).get_data(as_text=True)
    nobody = send(agent, with_student(id_number=NOBODY_ID)).get_data(as_text=True)
    assert NOT_FOUND in wrong_name and "student-not_found" in wrong_name
    assert finding_of(wrong_name) == finding_of(nobody)
    assert audits(app) == [("call_preview:not_found", None)] * 2


def test_a_name_alone_is_recorded_without_a_lookup(agent, app):
    page = send(agent, call(**{"students-0-name": STUDENT})).get_data(as_text=True)
    assert "student-name_only" in page and audits(app) == []
    preview_then_save(agent, call(**{"students-0-name": STUDENT}))
    with app.app_context():
        [row] = db.session().scalars(select(TicketStudent)).all()
        assert (row.name, row.number, row.id_hash, row.id_masked) == (STUDENT, None, None, None)


def test_a_bad_id_number_is_refused_without_a_lookup(agent, app):
    response = send(agent, with_student(id_number=STUDENT_ID[:-1] + "0"))
    assert response.status_code == 400 and audits(app) == []


def test_saving_audits_the_lookup_on_the_ticket(agent, app):
    preview_then_save(agent, with_student())
    [ticket] = tickets(app)
    assert audits(app) == [("call_preview:found", None), ("call_save:found", ticket.id)]


def test_the_ticket_keeps_the_keyed_hash_and_masked_id_never_the_id_number(agent, app):
    preview_then_save(agent, with_student(**{"students-1-name": "李小红", "students-1-id_number": NOBODY_ID}))
    with app.app_context():
        rows = db.session().scalars(select(TicketStudent).order_by(TicketStudent.id)).all()
        kept = [(r.name, r.number, r.id_hash, r.id_masked) for r in rows]
    key = ID_KEY.encode()
    assert kept == [
        # Found, with a G number: "G" + the ID number, so it is not kept either.
        (STUDENT, None, hash_id_number(key, STUDENT_ID), mask_id_number(STUDENT_ID)),
        ("李小红", None, hash_id_number(key, NOBODY_ID), mask_id_number(NOBODY_ID)),
    ]
    everything = " ".join(stored_text(app))
    for secret in (STUDENT_ID, NOBODY_ID):
        assert secret not in everything, "an ID number stored in clear"


def test_the_console_lookup_page_finds_a_student_and_audits_it(agent, app):
    response = lookup(agent, STUDENT, STUDENT_ID)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"G{STUDENT_ID}" in page and "长安区第一小学" in page and "在读" in page
    assert audits(app) == [("console:found", None)]


def test_the_console_lookup_page_says_not_found_uniformly(agent, app):
    wrong_name = lookup(agent, "李小红", STUDENT_ID).get_data(as_text=True)
    nobody = lookup(agent, STUDENT, NOBODY_ID).get_data(as_text=True)
    assert NOT_FOUND in wrong_name and finding_of(wrong_name) == finding_of(nobody)
    assert f"G{STUDENT_ID}" not in wrong_name
    assert audits(app) == [("console:not_found", None)] * 2


@pytest.mark.parametrize(("name", "id_number", "field", "message"), [
    ("", STUDENT_ID, "name", "请输入学生姓名"),
    (STUDENT, "", "id_number", "请输入身份证号"),
    (STUDENT, STUDENT_ID[:-1] + "0", "id_number", "校验"),
    (STUDENT, "1" * 65, "id_number", "身份证号不能超过 64 个字"),
])
def test_the_console_lookup_page_refuses_bad_input_without_a_lookup(agent, app, name, id_number, field,
                                                                    message):
    response = lookup(agent, name, id_number)
    assert response.status_code == 400
    assert message in re.search(rf'id="{field}-error">([^<]*)<', response.get_data(as_text=True)).group(1)
    assert audits(app) == []


def test_the_lookup_page_refuses_a_post_without_its_csrf_token(agent, app):
    response = agent.post("/console/students/lookup", data={"name": STUDENT, "id_number": STUDENT_ID})
    assert response.status_code == 400 and audits(app) == []


def test_a_lookup_starts_a_call_with_the_student_filled_in(agent, app):
    lookup(agent, STUDENT, STUDENT_ID)
    response = agent.post("/console/calls/new", data={
        "csrf_token": token(agent), "action": "start", "category": "lookup",
        "students-0-name": STUDENT, "students-0-id_number": STUDENT_ID})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="preview"' not in page
    assert re.search(r'<option selected value="lookup">', page)
    assert f'value="{STUDENT_ID}"' in page and 'class="error"' not in page
    assert audits(app) == [("console:found", None)], "starting the form looks nothing up"
    assert send(agent, with_student(schools=CHANGAN, category="lookup")).status_code == 200
