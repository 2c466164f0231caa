"""The ticket page (/console/tickets/<number>), the full contact on request, and printable forms.

Every role may read what is in its jurisdiction; another unit's ticket or
form answers 404 exactly like one that does not exist
(``hotline.console.scope``). The actions on the page post to their own
endpoints (``hotline.console.ticket_actions``), which render this page
again, with the message, when the workflow refuses.
"""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Response, abort, render_template, request
from flask_wtf import FlaskForm

from hotline import db
from hotline.console.access import Principal, audit_view, current_user, login_required, role_required
from hotline.console.access import ticket_or_404 as _ticket_or_404
from hotline.console.blueprint import bp
from hotline.console.ticket_forms import ACTION_FORMS
from hotline.console.ticket_page import (
    KIND_TEXT,
    MAIL_STATUS_TEXT,
    TicketView,
    build,
    form_visible,
    sees_ticket_itself,
)
from hotline.console.ticket_roles import ACTION_ROLES
from hotline.tickets.intake import CATEGORY_TEXT, CHANNEL_TEXT
from hotline.tickets.models import Form, Ticket
from hotline.tickets.printing import FormNotFound, find_form, render_form
from hotline.tickets.steps import STEP_TEXT

_FORM_NUMBER = re.compile(r"(HC|DB|BG)-[0-9]{4}-[0-9]{1,9}")
_VERSION = re.compile(r"[1-9][0-9]{0,3}")
_STYLE = re.compile(r"<style>(.*?)</style>", re.S)


def principal() -> Principal:
    user = current_user()
    assert user is not None  # every view here is login_required
    return user


def ticket_or_404(number: str) -> Ticket:
    return _ticket_or_404(db.session(), principal(), number)


def _forms(view: TicketView, bound: dict[str, FlaskForm]) -> dict[str, FlaskForm]:
    """A form for every action offered, fresh, and the one just posted, with what was typed and its errors
    (even if the action is not offered: the refusal says why, and the text is not lost)."""
    forms: dict[str, FlaskForm] = dict(bound)
    for action in view.offers.ticket:
        forms.setdefault(action, ACTION_FORMS[action](formdata=None))
    for number, actions in view.offers.forms.items():
        for action in actions:
            key = f"{action}:{number}"
            forms.setdefault(key, ACTION_FORMS[action](formdata=None))
    return forms


def render_page(ticket: Ticket, *, status: int = 200, revealed: bool = False, error: str | None = None,
                bound: dict[str, FlaskForm] | None = None) -> tuple[str, int]:
    """The ticket page; ``bound`` holds a posted form (key: action, or action:form number) to show again."""
    session = db.session()
    view = build(session, principal(), ticket, revealed=revealed)
    if ticket.students:
        # Students are shown on every view of the page: each view is recorded (who, when, which ticket).
        audit_view("student", ticket_id=ticket.id, detail=f"{len(ticket.students)} 名学生")
        if status >= 400:
            # An answer that is not a success is not committed after the request
            # (hotline.console.blueprint), yet it shows the students too.
            session.commit()
    page = render_template(
        "console/ticket.html", v=view, t=ticket, forms=_forms(view, bound or {}), error=error,
        revealed=revealed,
        step_text=STEP_TEXT, kind_text=KIND_TEXT, channel_text=CHANNEL_TEXT, category_text=CATEGORY_TEXT,
        mail_status_text=MAIL_STATUS_TEXT)
    return page, status


@bp.get("/tickets/<number>", endpoint="ticket")
@login_required
def ticket_page(number: str) -> tuple[str, int]:
    return render_page(ticket_or_404(number))


@bp.post("/tickets/<number>/contact", endpoint="ticket_contact")
@role_required(*ACTION_ROLES["contact"])
def show_contact(number: str) -> tuple[str, int]:
    """The complainant's name, phone and e-mail in full: a POST (never prefetched), and audited."""
    ticket = ticket_or_404(number)
    # The CSRF token was checked by CSRFProtect before the view. A unit that sees
    # the ticket only through a form addressed to it has no business with the complainant.
    if not sees_ticket_itself(db.session(), principal(), ticket):
        abort(403)
    audit_view("complainant", ticket_id=ticket.id, detail="contact")
    return render_page(ticket, revealed=True)


def _with_style_hash(page: str) -> Response:
    """The printable form keeps its print CSS inline (it must print the same from a file or a mail);
    the site's policy allows no inline style, so this one answer allows exactly that style by its hash."""
    response = Response(page, content_type="text/html; charset=utf-8")
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()}'"
                      for style in _STYLE.findall(page))
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src {hashes or chr(39) + 'none' + chr(39)}; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    return response


@bp.get("/forms/<number>", endpoint="form_print")
@login_required
def print_form(number: str) -> Response:
    """A 核查单, 督办单 or 报告单 ready to print (``?version=N`` for an earlier version)."""
    number, version_text = number.strip().upper(), request.args.get("version", "")
    version = int(version_text) if _VERSION.fullmatch(version_text) else None
    if not _FORM_NUMBER.fullmatch(number) or (version_text and version is None):
        abort(404)
    session = db.session()
    try:
        form: Form = find_form(session, number, version)
    except FormNotFound:
        abort(404)
    if not form_visible(session, principal(), form):
        abort(404)
    return _with_style_hash(render_form(session, form))
