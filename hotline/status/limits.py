"""The current status request, parsed once; its answer; and the limits that guard it.

Two limits, both through flask-limiter like the lookup's (``lookup/limits.py``):

- per client address (after the trusted proxies), on every check, page and
  API counted together, with the lookup's client allowance
  (``XUEJI_LOOKUP_CLIENT_LIMITS``) but a count of their own;
- per ticket number, counting failed checks only, with the lookup's
  per-identity allowance (``XUEJI_LOOKUP_IDENTITY_LIMITS``): a few wrong
  contacts an hour stop anyone guessing the phone number behind a ticket,
  from however many addresses, while a complainant who types theirs right
  is never slowed down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, g, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from hotline import db
from hotline.app import limiter
from hotline.status.inputs import StatusInputError, parse_contact, parse_number
from hotline.status.query import Status, find
from hotline.tickets.contacts import contact_hasher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asked:
    """The current status request: the number and contact as normalised, or the error in them."""

    channel: str  # "web" or "api"
    number: str | None
    contact: str | None
    error: StatusInputError | None


def asked() -> Asked:
    """Parse the current request once; the limits and the view share the result."""
    if "status_asked" in g:
        return g.status_asked
    channel = "api" if request.blueprint == "status_api" else "web"
    number = contact = error = None
    # Never raises: this runs inside flask-limiter's checks, which take any
    # exception for a dead storage.
    try:
        if channel == "api":
            raw_number, raw_contact = (request.view_args or {}).get("number"), request.args.get("contact")
        else:
            raw_number, raw_contact = request.form.get("number"), request.form.get("contact")
        number = parse_number(raw_number)
        contact = parse_contact(raw_contact)
    except StatusInputError as exc:
        error = exc
    except RequestEntityTooLarge:
        error = StatusInputError("body", "too_large", "提交的内容过大")
    except HTTPException:  # a form body that cannot be parsed
        error = StatusInputError("body", "format", "请求格式不正确")
    g.status_asked = Asked(channel, number, contact, error)
    return g.status_asked


def perform(current: Asked) -> Status | None:
    """Answer a well-formed request, and record its outcome for the per-number limit."""
    if current.number is None or current.contact is None:
        raise ValueError("perform() needs a well-formed request")
    status = find(db.session(), current.number, contact_hasher()(current.contact))
    g.status_outcome = "found" if status is not None else "not_found"
    # The number is no personal data; the contact never reaches a log.
    log.info("status check: channel=%s number=%s outcome=%s", current.channel, current.number,
             g.status_outcome)
    return status


def _client_limits() -> str:
    return current_app.config["XUEJI"].lookup_client_limits


def _number_limits() -> str:
    return current_app.config["XUEJI"].lookup_identity_limits


def _number_key() -> str:
    return asked().number or ""


def _no_number() -> bool:
    return asked().number is None


def _failed(_response) -> bool:
    return g.get("status_outcome") == "not_found"


def _on_breach(_limit) -> None:
    current = asked()
    log.info("status check: channel=%s number=%s outcome=limited", current.channel, current.number or "-")


def limited(*methods: str) -> Callable[[Callable], Callable]:
    """Apply the client limit and the per-number limit to a status view, for ``methods``."""
    def decorate(view: Callable) -> Callable:
        view = limiter.shared_limit(_number_limits, scope="status-number", key_func=_number_key,
                                    methods=list(methods), exempt_when=_no_number, deduct_when=_failed,
                                    on_breach=_on_breach)(view)
        return limiter.shared_limit(_client_limits, scope="status-client", methods=list(methods),
                                    on_breach=_on_breach)(view)
    return decorate
