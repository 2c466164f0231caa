"""The authorization matrix (issue 5 item 7): every console route, every role, inside and outside scope.

Every URL rule under /console/ is requested with each of its methods (GET,
POST with a valid CSRF token) by the four roles of a unit inside the
jurisdiction of the test's ticket (长安区, 130102) and of a unit outside it
(唐山路北区, 130203), with a real ticket number, form number and account id
filled in. The answer must be what the table below says: allowed (200, a
redirect that is not to the login, or 400 for a form the operation
refused), 403 for a role the route is not for, 404 for something outside
the user's jurisdiction — never a 500, and never another unit's data in any
answer given to the outside unit.

The table is keyed by endpoint and must cover every console endpoint: a new
route fails :func:`test_every_console_route_is_in_the_matrix` until it is
classified here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from flask import Flask

from hotline.tickets.workflow import Actor, issue_verification
from tests.hotline.console.conftest import COUNTY, OTHER_CITY_COUNTY, log_in
from tests.hotline.console.mail_support import mailbox_unit, message, quarantined
from tests.hotline.console.ticket_support import day, desk, token

ALL = ("agent", "handler", "supervisor", "admin")
AGENTS = ("agent", "supervisor")  # deal with the complainant, move the ticket
HANDLERS = ("handler", "supervisor")  # forms and clocks
STAFF = ("agent", "handler", "supervisor")
ADMIN = ("admin",)
CALLS = ("agent", "supervisor", "admin")  # hotline.console.calls.CALL_ROLES
DASHBOARD = ("supervisor", "admin")  # hotline.console.dashboard.ROLES
MAIL = ("agent", "supervisor", "admin")  # hotline.console.mail_quarantine.VIEW_ROLES
MAIL_RAW = ("agent", "admin")  # hotline.console.mail_quarantine.RAW_ROLES
INSIDE, OUTSIDE = COUNTY, OTHER_CITY_COUNTY
SUBJECT = "矩阵测试工单事由"
MAIL_SUBJECT = "矩阵测试隔离邮件"
TARGET = "matrixtarget"


@dataclass(frozen=True)
class Rule:
    """Who may use a route: ``roles`` (others get 403); what it names (``scope``: ticket, form,
    user, unit), which a unit outside the jurisdiction gets 404 for; the query string it is asked with."""

    roles: tuple[str, ...]
    scope: str | None = None
    query: dict[str, str] = field(default_factory=dict)
    ends_session: bool = False
    names: dict[str, str] = field(default_factory=dict)  # URL argument → the value it takes


MATRIX: dict[str, Rule] = {
    # The console's own pages: anyone logged in, their own jurisdiction.
    "console.home": Rule(ALL),
    # The search echoes what was typed, a part of the subject; only a row would show all of it.
    "console.queue": Rule(ALL, query={"q": SUBJECT[:4], "status": "all"}),
    "console.login": Rule(ALL),  # a logged-in user is sent home; a bad form is 400
    "console.logout": Rule(ALL, ends_session=True),
    "console.password": Rule(ALL),
    "console.reauth": Rule(ALL),
    # The ticket page and its actions (hotline.console.ticket_roles).
    "console.ticket": Rule(ALL, "ticket"),
    "console.ticket_contact": Rule(STAFF, "ticket"),
    "console.ticket_note": Rule(STAFF, "ticket"),
    "console.ticket_reply": Rule(AGENTS, "ticket"),
    "console.ticket_assign": Rule(AGENTS, "ticket"),
    "console.ticket_forward": Rule(AGENTS, "ticket"),
    "console.ticket_refer": Rule(AGENTS, "ticket"),
    "console.ticket_close_answered": Rule(AGENTS, "ticket"),
    "console.ticket_confirm": Rule(STAFF, "ticket"),
    "console.ticket_reopen": Rule(AGENTS, "ticket"),
    "console.ticket_dispute": Rule(HANDLERS, "ticket"),
    "console.ticket_rule": Rule(("supervisor",), "ticket"),
    "console.ticket_issue_verification": Rule(HANDLERS, "ticket"),
    "console.ticket_issue_supervision": Rule(HANDLERS, "ticket"),
    "console.ticket_pause": Rule(HANDLERS, "ticket"),
    "console.ticket_resume": Rule(HANDLERS, "ticket"),
    "console.form_return": Rule(HANDLERS, "form"),
    "console.form_relay": Rule(HANDLERS, "form"),
    "console.form_correct": Rule(HANDLERS, "form"),
    "console.form_print": Rule(ALL, "form", names={"number": "form_number"}),
    # Call logging (hotline.console.calls): agents, supervisors, administrators.
    "console.call_new": Rule(CALLS),
    "console.call_post": Rule(CALLS),
    "console.student_lookup": Rule(CALLS),
    "console.school_search": Rule(ALL, query={"q": "长安区"}),
    # The dashboard (hotline.console.dashboard): a unit of the jurisdiction, asked for by ?unit=.
    "console.dashboard": Rule(DASHBOARD, "unit", query={"unit": INSIDE}),
    "console.dashboard_csv": Rule(DASHBOARD, "unit", query={"unit": INSIDE}),
    # Accounts (hotline.console.admin): administrators, for accounts of their jurisdiction.
    "console.admin_users": Rule(ADMIN),
    "console.admin_create": Rule(ADMIN),
    "console.admin_user": Rule(ADMIN, "user"),
    "console.admin_edit": Rule(ADMIN, "user"),
    "console.admin_reset": Rule(ADMIN, "user"),
    "console.admin_disable": Rule(ADMIN, "user"),
    "console.admin_enable": Rule(ADMIN, "user"),
    "console.admin_unlock": Rule(ADMIN, "user"),
    # Directory and address book (hotline.console.directory): everyone reads, administrators edit,
    # for a unit of the jurisdiction (?unit=); the export is the supervisors' and administrators'.
    "console.directory": Rule(ALL, "unit", query={"unit": INSIDE}),
    "console.directory_channels": Rule(ADMIN, "unit", query={"unit": INSIDE}),
    "console.registrars": Rule(ALL, "unit", query={"unit": INSIDE}),
    "console.registrar_save": Rule(ADMIN, "unit", query={"unit": INSIDE}),
    "console.registrar_status": Rule(ADMIN, "unit", query={"unit": INSIDE}),
    "console.registrars_csv": Rule(DASHBOARD, "unit", query={"unit": INSIDE}),
    # Account usage (hotline.console.usage): the dashboard's audience and scope.
    "console.usage": Rule(DASHBOARD, "unit", query={"unit": INSIDE}),
    "console.usage_csv": Rule(DASHBOARD, "unit", query={"unit": INSIDE}),
    # Quarantined mail (hotline.console.mail_quarantine): the mailbox's unit (here: inside) and above.
    "console.mail_quarantine": Rule(MAIL, "mail"),
    "console.mail_quarantine_detail": Rule(MAIL, "mail"),
    "console.mail_quarantine_raw": Rule(MAIL_RAW, "mail"),
    "console.mail_quarantine_replay": Rule(MAIL_RAW, "mail"),
}


def console_endpoints(app: Flask) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if rule.rule.startswith("/console")}


def test_every_console_route_is_in_the_matrix(app):
    endpoints = console_endpoints(app)
    assert endpoints - set(MATRIX) == set(), "classify the new console routes in MATRIX"
    assert set(MATRIX) - endpoints == set(), "routes in MATRIX that no longer exist"


@pytest.fixture
def world(app, make_user) -> dict[str, object]:
    """A 长安区 ticket with a 核查单, an account to administer, and the eight users of the matrix."""
    with desk(app) as d:
        ticket = d.ticket(subject=SUBJECT, email="matrix@example.com", at=day(3, 2))
        form = issue_verification(d.session, ticket, Actor("县办理", INSIDE), related_units=[INSIDE],
                                  facts="核实", calendar=d.calendar, at=day(3, 3))[0]
        values = {"number": ticket.number, "form_number": form.number, "name": "units"}
    values["user_id"] = make_user(TARGET, INSIDE, "agent").id
    mailbox_unit(app, INSIDE)
    values["mail_id"] = quarantined(app, message(subject=MAIL_SUBJECT))
    for role in ALL:
        make_user(f"{role}in", INSIDE, role)
        make_user(f"{role}out", OUTSIDE, role)
    # What the outside unit must never be shown.
    values["secrets"] = (ticket.number, form.number, SUBJECT, TARGET, "matrix@example.com",
                         "m****@example.com", MAIL_SUBJECT, "z****@qq.com")
    return values


def expected(rule: Rule, role: str, place: str) -> str:
    if role not in rule.roles:
        return "forbidden"
    if rule.scope and place == "outside":
        return "not found"
    return "allowed"


def outcome(response, rule: Rule) -> str:
    status, location = response.status_code, response.headers.get("Location", "")
    if status == 403:
        return "forbidden"
    if status == 404:
        return "not found"
    if status in (200, 400):
        return "allowed"
    logged_out = location.startswith(("/console/login", "/console/reauth"))
    if status == 302 and (rule.ends_session or not logged_out):
        return "allowed"
    return f"HTTP {status} {location}"


@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_each_route_answers_every_role_inside_and_outside_as_the_matrix_says(app, world, endpoint):
    rule = MATRIX[endpoint]
    rules = [r for r in app.url_map.iter_rules() if r.endpoint == endpoint]
    assert rules, f"{endpoint} is not a route"
    seen = []
    for url_rule in rules:
        path = url_rule.rule
        for name in url_rule.arguments:
            value = str(world[rule.names.get(name, name)])
            path = path.replace(f"<{name}>", value).replace(f"<int:{name}>", value)
        for method in sorted({"GET", "POST"} & url_rule.methods):
            for role in ALL:
                for place in ("inside", "outside"):
                    client = log_in(app.test_client(), f"{role}{'in' if place == 'inside' else 'out'}")
                    if method == "GET":
                        response = client.get(path, query_string=rule.query)
                    else:
                        data = {"csrf_token": token(client)}
                        response = client.post(path, query_string=rule.query, data=data)
                    body = response.get_data(as_text=True)
                    got, want = outcome(response, rule), expected(rule, role, place)
                    seen.append((method, role, place, got))
                    assert got == want, f"{method} {path} as {role} {place}: {got}, expected {want}"
                    if place == "outside" or got != "allowed":
                        leaked = [s for s in world["secrets"] if s in body]
                        assert not leaked, f"{method} {path} as {role} {place} shows {leaked}"
    assert seen
