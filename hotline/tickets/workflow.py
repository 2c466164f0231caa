"""The workflow of the 2014 notice, items 2-3: every transition in one place.

    triage ─assign─▶ forwarding ─forward (one level per hop)─▶ verify_issue
    verify_issue ─issue 核查单─▶ verifying ─last 核查单 returned─▶ deciding
    deciding ─issue 督办单 (relayed down)─▶ handling ─returned (relayed up)─▶ confirming
    confirming ─confirm and inform─▶ closed ─reopen─▶ verify_issue
    verify_issue ─answered directly─▶ closed;  forwarding ─caller given the hotline─▶ closed

Each transition refuses, with the reason in Chinese and nothing changed,
when the ticket is not at its step or the acting unit is not the one the
step belongs to; each starts and stops the clocks of its step.
"""

from hotline.tickets.dispatch import assign, dispute, forward, refer_caller, rule
from hotline.tickets.intake import Actor, NewTicket, StudentRef, TicketError, create_ticket
from hotline.tickets.steps import STEP_TEXT, latest_forms
from hotline.tickets.supervision import (
    close_answered,
    confirm_and_close,
    correct_form,
    issue_supervision,
    location,
    pause_clock,
    relay,
    reopen,
    resume_clock,
    return_supervision,
)
from hotline.tickets.verification import issue_verification, return_verification

__all__ = [
    "STEP_TEXT",
    "Actor",
    "NewTicket",
    "StudentRef",
    "TicketError",
    "assign",
    "close_answered",
    "confirm_and_close",
    "correct_form",
    "create_ticket",
    "dispute",
    "forward",
    "issue_supervision",
    "issue_verification",
    "latest_forms",
    "location",
    "pause_clock",
    "refer_caller",
    "relay",
    "reopen",
    "resume_clock",
    "return_supervision",
    "return_verification",
    "rule",
]
