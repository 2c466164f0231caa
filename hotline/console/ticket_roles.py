"""Who may do what on a ticket: the role matrix, and the actions a page offers.

Two rules decide an action, and both must allow it:

- the **role** (this module's :data:`ACTION_ROLES`): agents (热线坐席) deal
  with the complainant and move the ticket to the unit that must handle it;
  handling staff (办理人员) work the forms and the clocks; supervisors (主管)
  may do both, and alone rule on a level dispute of a unit below them;
  administrators (系统管理员) look but do not act — their job is accounts,
  and keeping it apart from the business is 等保's separation of duties
  (三员分立). A role that may not do an action gets 403 from its endpoint.
- the **step and the unit**, which the workflow functions check themselves
  (``hotline.tickets.workflow``: forward only by the unit holding the ticket,
  a 核查单 only by the responsible unit, a form returned only by its
  receiving unit, relayed only where it is, a clock paused only by the unit
  owing it). :func:`offers` mirrors those checks only to decide which forms
  a page shows; a forged request still meets the workflow's refusal.

Seeing the complainant's full contact and answering them by e-mail also
need the ticket itself in the user's jurisdiction (received, handled or held
by their unit or one below it): a unit that sees the ticket only because a
form is addressed to it verifies facts, and does not talk to the complainant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.console.access import Principal
from hotline.tickets.models import Clock, Form, Ticket
from hotline.tickets.steps import returned
from hotline.tickets.workflow import location
from lookup.models import Unit

AGENT, HANDLER, SUPERVISOR = "agent", "handler", "supervisor"

# Action → the roles that may take it. Reading the ticket, its forms and
# their printable pages is open to every role (all four) within scope.
ACTION_ROLES: dict[str, tuple[str, ...]] = {
    "contact": (AGENT, HANDLER, SUPERVISOR),  # show the complainant's full contact (audited)
    "note": (AGENT, HANDLER, SUPERVISOR),
    "reply": (AGENT, SUPERVISOR),
    "assign": (AGENT, SUPERVISOR),
    "forward": (AGENT, SUPERVISOR),
    "refer": (AGENT, SUPERVISOR),
    "close_answered": (AGENT, SUPERVISOR),
    "confirm": (AGENT, HANDLER, SUPERVISOR),
    "reopen": (AGENT, SUPERVISOR),
    "dispute": (HANDLER, SUPERVISOR),
    "rule": (SUPERVISOR,),
    "issue_verification": (HANDLER, SUPERVISOR),
    "issue_supervision": (HANDLER, SUPERVISOR),
    "return_form": (HANDLER, SUPERVISOR),
    "relay": (HANDLER, SUPERVISOR),
    "correct_form": (HANDLER, SUPERVISOR),
    "pause": (HANDLER, SUPERVISOR),
    "resume": (HANDLER, SUPERVISOR),
}
# The actions that act on the complainant and so need the ticket itself in scope.
COMPLAINANT_ACTIONS = ("contact", "reply")
FORM_ACTIONS = ("return_form", "relay", "correct_form")


def may(principal: Principal, action: str) -> bool:
    return principal.role in ACTION_ROLES[action]


@dataclass
class Offers:
    """What the page offers the user: ticket actions, and actions per form number."""

    ticket: set[str] = field(default_factory=set)
    forms: dict[str, set[str]] = field(default_factory=dict)

    def __contains__(self, action: str) -> bool:
        return action in self.ticket


def offers(session: Session, principal: Principal, ticket: Ticket, *, full: bool, has_email: bool,
           forms: list[Form]) -> Offers:
    """The actions the page shows ``principal`` for the ticket as it stands.

    ``full``: the ticket itself is in scope (see the module's docstring);
    ``forms``: the latest version of each form the user may see.
    """
    unit, step = principal.unit_code, ticket.step
    wanted: set[str] = {"note"}
    if full:
        wanted.add("contact")
        if has_email:
            wanted.add("reply")
    holder, responsible = ticket.current_unit_code, ticket.responsible_unit_code
    if step == "triage" and unit == holder:
        wanted.add("assign")
    if step == "forwarding" and unit == holder:
        wanted.add("forward")
        if ticket.channel == "phone":
            wanted.add("refer")
    if step == "verify_issue" and unit == responsible and not ticket.disputed:
        wanted |= {"close_answered", "issue_verification"}
        if session.scalar(select(Unit.parent_code).where(Unit.code == responsible)) is not None:
            wanted.add("dispute")
    if ticket.disputed and responsible is not None:
        parent = session.scalar(select(Unit.parent_code).where(Unit.code == responsible))
        if unit == parent:
            wanted.add("rule")
    if step == "deciding" and unit == responsible:
        wanted.add("issue_supervision")
    if step == "confirming" and unit == responsible:
        wanted.add("confirm")
    if step == "closed" and unit == (responsible or holder):
        wanted.add("reopen")
    owed = session.scalars(select(Clock.paused_at).where(
        Clock.ticket_id == ticket.id, Clock.unit_code == unit, Clock.stopped_at.is_(None))).all()
    if any(paused is not None for paused in owed):
        wanted.add("resume")
    elif owed:
        wanted.add("pause")
    result = Offers(ticket={action for action in wanted if may(principal, action)})
    for form in forms:
        result.forms[form.number] = {a for a in _form_offers(session, unit, step, form) if may(principal, a)}
    return result


def _form_offers(session: Session, unit: str, step: str, form: Form) -> set[str]:
    done, actions = returned(session, form), set()
    if unit == form.issuing_unit_code and not done and step != "closed":
        actions.add("correct_form")
    if form.kind == "verification" and step == "verifying" and unit == form.receiving_unit_code and not done:
        actions.add("return_form")
    if form.kind == "supervision" and step == "handling":
        here = location(session, form)
        if unit == form.receiving_unit_code and here == unit and not done:
            actions.add("return_form")
        # Down towards the handling unit before it is handled, up towards the issuer after.
        moving_on = (here != form.receiving_unit_code) if not done else (here != form.issuing_unit_code)
        if unit == here and moving_on:
            actions.add("relay")
    return actions
