"""Every action of the ticket page does what its workflow function does.

Each case builds two identical tickets: one is moved through the page by a
logged-in user, the other by calling the workflow function directly with
the same actor. Their records must then be the same (step, units, clocks,
forms, hops, timeline, notes, mail), apart from numbers and instants.
"""

from __future__ import annotations

import re

import pytest

from hotline.tickets import workflow as wf
from hotline.tickets.models import Ticket
from hotline.tickets.notes import add_note
from hotline.tickets.outbox import queue_reply
from hotline.tickets.printing import find_form
from tests.hotline.console.conftest import CITY, COUNTY, OTHER_COUNTY, log_in
from tests.hotline.console.ticket_steps import (
    NAME,
    at_closed,
    at_confirming,
    at_deciding,
    at_disputed,
    at_forwarding,
    at_handling_arrived,
    at_handling_relayed,
    at_paused,
    at_triage,
    at_verify_issue,
    at_verifying,
    path,
    record,
    with_email,
)
from tests.hotline.console.ticket_support import COUNTY_SCHOOL, desk, flashes, token

# (setup, user's unit and role, the page's path after /console/tickets/N/, the form, the direct call)
CASES = {
    "assign": (at_triage, CITY, "agent", "assign", {"schools": COUNTY_SCHOOL},
               lambda s, t, f, a: wf.assign(s, t, a, school_codes=[COUNTY_SCHOOL])),
    "forward": (at_forwarding, CITY, "agent", "forward", {}, lambda s, t, f, a: wf.forward(s, t, a)),
    "refer": (at_forwarding, CITY, "agent", "refer", {}, lambda s, t, f, a: wf.refer_caller(s, t, a)),
    "close_answered": (at_verify_issue, COUNTY, "agent", "close", {"answer": "已代查学籍号"},
                       lambda s, t, f, a: wf.close_answered(s, t, a, answer="已代查学籍号")),
    "issue_verification": (at_verify_issue, COUNTY, "handler", "verification",
                           {"related_units": f"{COUNTY}，{OTHER_COUNTY}", "facts": "核实转学情况"},
                           lambda s, t, f, a: wf.issue_verification(
                               s, t, a, related_units=[COUNTY, OTHER_COUNTY], facts="核实转学情况")),
    "dispute": (at_verify_issue, COUNTY, "handler", "dispute", {"reason": "应由市里处理"},
                lambda s, t, f, a: wf.dispute(s, t, a, reason="应由市里处理")),
    "rule": (at_disputed, CITY, "supervisor", "rule",
             {"responsible_code": OTHER_COUNTY, "reason": "学校属桥西区"},
             lambda s, t, f, a: wf.rule(s, t, a, responsible_code=OTHER_COUNTY, reason="学校属桥西区")),
    "issue_supervision": (at_deciding, CITY, "handler", "supervision",
                          {"handling_unit": COUNTY, "opinion": "请更正"},
                          lambda s, t, f, a: wf.issue_supervision(s, t, a, handling_unit=COUNTY,
                                                                  opinion="请更正")),
    "return_verification": (at_verifying, COUNTY, "handler", "forms/{form}/return", {"result": "情况属实"},
                            lambda s, t, f, a: wf.return_verification(s, f, a, result="情况属实")),
    "return_supervision": (at_handling_arrived, COUNTY, "handler", "forms/{form}/return",
                           {"result": "已更正"},
                           lambda s, t, f, a: wf.return_supervision(s, f, a, result="已更正")),
    "relay": (at_handling_relayed, CITY, "handler", "forms/{form}/relay", {},
              lambda s, t, f, a: wf.relay(s, f, a)),
    "correct_form": (at_verifying, CITY, "handler", "forms/{form}/correct", {"body": "核实学籍（补充）"},
                     lambda s, t, f, a: wf.correct_form(s, f, a, body="核实学籍（补充）")),
    "confirm": (at_confirming, CITY, "agent", "confirm", {"reply": "学籍已更正"},
                lambda s, t, f, a: wf.confirm_and_close(s, t, a, reply="学籍已更正")),
    "reopen": (at_closed, COUNTY, "agent", "reopen", {"reason": "家长再次来电"},
               lambda s, t, f, a: wf.reopen(s, t, a, reason="家长再次来电")),
    "pause": (at_verify_issue, COUNTY, "handler", "pause", {"reason": "等待家长补充材料"},
              lambda s, t, f, a: wf.pause_clock(s, t, a, reason="等待家长补充材料")),
    "resume": (at_paused, COUNTY, "handler", "resume", {}, lambda s, t, f, a: wf.resume_clock(s, t, a)),
    "note": (at_verify_issue, COUNTY, "agent", "note", {"text": "已电话联系家长"},
             lambda s, t, f, a: add_note(s, t, a, text="已电话联系家长")),
    "reply": (with_email, COUNTY, "agent", "reply", {"body": "您好，已核实。"},
              lambda s, t, f, a: queue_reply(s, t, a, body="您好，已核实。")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_action_through_the_page_moves_the_workflow_exactly_as_the_function(app, client, make_user, case):
    setup, unit, role, action, data, call = CASES[case]
    with desk(app) as d:
        (by_page, page_form), (by_call, call_form) = setup(d), setup(d)
        number, page_id, call_id = by_page.number, by_page.id, by_call.id
        before = record(d, page_id)
    make_user("worker", unit, role, name=NAME)
    log_in(client, "worker")
    response = client.post(path(number, action, page_form), data={"csrf_token": token(client), **data})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == f"/console/tickets/{number}"
    done = flashes(client.get(response.headers["Location"]).get_data(as_text=True))
    with desk(app) as d:
        call(d.session, d.session.get(Ticket, call_id), call_form and find_form(d.session, call_form),
             wf.Actor(NAME, unit))
        d.session.flush()
        after_page, after_call = record(d, page_id), record(d, call_id)
    assert after_page != before
    assert after_page == after_call
    assert done and "已" in done[0]


def test_the_page_offers_only_the_actions_of_the_step_the_unit_and_the_role(app, client, make_user):
    with desk(app) as d:
        ticket, _ = at_verify_issue(d, email="parent@example.com")
    offered = {}
    for role in ("agent", "handler", "supervisor", "admin"):
        make_user(f"county{role}", COUNTY, role)
        log_in(client, f"county{role}")
        page = client.get(f"/console/tickets/{ticket.number}").get_data(as_text=True)
        offered[role] = set(re.findall(rf'action="/console/tickets/{ticket.number}/([a-z]+)"', page))
    assert offered == {
        "agent": {"close", "note", "reply", "contact"},
        "handler": {"verification", "dispute", "pause", "note", "contact"},
        "supervisor": {"close", "verification", "dispute", "pause", "note", "reply", "contact"},
        "admin": set(),
    }
