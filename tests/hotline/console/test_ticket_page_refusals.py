"""A refused action shows why and changes nothing; so does a forged request or another ticket's form."""

from __future__ import annotations

import pytest

from tests.hotline.console.conftest import CITY, COUNTY, PROVINCE, log_in
from tests.hotline.console.ticket_steps import (
    NAME,
    at_disputed,
    at_forwarding,
    at_handling_arrived,
    at_triage,
    at_verify_issue,
    at_verifying,
    path,
    record,
)
from tests.hotline.console.ticket_support import desk, token

# (setup, user, the page's path, the form, the refusal the page shows)
REFUSALS = {
    "forward at the wrong step": (
        at_verify_issue, COUNTY, "agent", "forward", {},
        "当前处于“待下发核查单”环节，此操作只能在“逐级转办中”环节进行"),
    "refer a web ticket": (
        lambda d: at_forwarding(d, channel="web"), CITY, "agent", "refer", {},
        "只有来电可以直接告知下级单位热线，其他渠道须逐级转办"),
    "assign naming nothing": (at_triage, CITY, "agent", "assign", {}, "分办须指明涉及的学校或负责单位"),
    "assign to an unknown unit": (
        at_triage, CITY, "agent", "assign", {"unit_code": "999999"}, "未知的单位代码：999999"),
    "close without an answer": (
        at_verify_issue, COUNTY, "agent", "close", {"answer": "  "}, "请填写答复内容"),
    "verification to nobody": (
        at_verify_issue, COUNTY, "handler", "verification", {"facts": "核实"}, "请至少选择一个核查单位"),
    "verification by the unit above": (
        at_verify_issue, CITY, "supervisor", "verification", {"related_units": COUNTY, "facts": "核实"},
        "下发核查单须由 130102 操作"),
    "return another unit's form": (
        at_verifying, CITY, "handler", "forms/{form}/return", {"result": "属实"},
        "反馈核查单须由 130102 操作"),
    "relay a form that has arrived": (
        at_handling_arrived, COUNTY, "handler", "forms/{form}/relay", {},
        "督办单已送达承办单位，请办理后反馈"),
    "rule by a unit that is not the parent": (
        at_disputed, PROVINCE, "supervisor", "rule", {"responsible_code": COUNTY, "reason": "x"},
        "裁定层级异议须由 130100 操作"),
    "dispute twice": (
        at_disputed, COUNTY, "handler", "dispute", {"reason": "再议"}, "该工单的层级异议尚待上级裁定"),
    "pause without a reason": (
        at_verify_issue, COUNTY, "handler", "pause", {"reason": ""},
        "暂停计时必须填写原因（例如：等待投诉人补充材料）"),
    "resume a running clock": (at_verify_issue, COUNTY, "handler", "resume", {}, "该时限没有暂停"),
    "an empty note": (at_verify_issue, COUNTY, "agent", "note", {"text": " "}, "请填写备注内容"),
    "a note too long": (
        at_verify_issue, COUNTY, "agent", "note", {"text": "长" * 2001}, "备注内容不能超过 2000 字"),
    "facts too long": (
        at_verify_issue, COUNTY, "handler", "verification", {"related_units": COUNTY, "facts": "长" * 4001},
        "需要核查的事项不能超过 4000 字"),
    "a reply without an e-mail address": (
        at_verify_issue, COUNTY, "agent", "reply", {"body": "您好"},
        "投诉人没有留下电子邮箱，不能通过邮件答复；请通过电话告知"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_refused_action_shows_why_and_changes_nothing(app, client, make_user, case):
    setup, unit, role, action, data, message = REFUSALS[case]
    with desk(app) as d:
        ticket, form = setup(d)
        number, ticket_id = ticket.number, ticket.id
        before = record(d, ticket_id)
    make_user("worker", unit, role, name=NAME)
    log_in(client, "worker")
    response = client.post(path(number, action, form), data={"csrf_token": token(client), **data})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with desk(app) as d:
        assert record(d, ticket_id) == before


def test_a_refused_action_keeps_what_was_typed(app, client, make_user):
    with desk(app) as d:
        ticket, _ = at_verify_issue(d)
    make_user("worker", CITY, "supervisor")
    log_in(client, "worker")
    data = {"csrf_token": token(client), "related_units": COUNTY, "facts": "请核实<该生>的学籍"}
    page = client.post(path(ticket.number, "verification", None), data=data)
    assert page.status_code == 400
    assert "请核实&lt;该生&gt;的学籍</textarea>" in page.get_data(as_text=True)


@pytest.mark.parametrize("token_value", [None, "", "forged", "IjE3NjM0.awYQ1g.iRMD5ihElqgHHM1S1CcaEzZMAPE"])
def test_an_action_without_its_csrf_token_changes_nothing(app, client, make_user, token_value):
    with desk(app) as d:
        ticket, _ = at_verify_issue(d)
        number, ticket_id = ticket.number, ticket.id
        before = record(d, ticket_id)
    make_user("worker", COUNTY, "handler")
    log_in(client, "worker")
    data = {"reason": "等待家长补充材料"} | ({} if token_value is None else {"csrf_token": token_value})
    response = client.post(path(number, "pause", None), data=data)
    assert response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)
    with desk(app) as d:
        assert record(d, ticket_id) == before


@pytest.mark.parametrize("form_number", ["other ticket's", "HC-2026-999999", "HC-2026-00000１", "<b>",
                                         "x" * 200])
def test_a_form_number_that_is_not_this_tickets_is_404(app, client, make_user, form_number):
    with desk(app) as d:
        ticket, _ = at_verifying(d)
        _other, other_form = at_verifying(d)
        number, ticket_id = ticket.number, ticket.id
        before = record(d, ticket_id)
    make_user("worker", COUNTY, "handler")
    log_in(client, "worker")
    form_number = other_form if form_number == "other ticket's" else form_number
    response = client.post(f"/console/tickets/{number}/forms/{form_number}/return",
                           data={"csrf_token": token(client), "result": "属实"})
    assert response.status_code == 404
    with desk(app) as d:
        assert record(d, ticket_id) == before
