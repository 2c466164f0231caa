"""The status as JSON, with the field names of Open311 GeoReport v2 where they fit."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from hotline.status.limits import asked, limited, perform
from hotline.status.query import NOT_FOUND, Status, local


def open311(status: Status) -> dict[str, Any]:
    """One service request as GeoReport v2 names its fields, plus what the 2014 notice adds."""
    deadline = status.deadline
    return {
        "service_request_id": status.number,
        "status": "closed" if status.closed else "open",
        "status_notes": status.step_text,
        "step": status.step,
        "service_code": status.category,
        "service_name": status.category_text,
        "agency_responsible": status.agency_name,
        "agency_contact": {"unit": status.channels.unit.name, "phone": status.channels.phone,
                           "email": status.channels.email},
        "requested_datetime": local(status.received_at),
        "updated_datetime": local(status.updated_at),
        "expected_datetime": local(deadline.due_at) if deadline else None,
        "expected_provisional": bool(deadline and deadline.provisional),
        "paused": status.paused_since is not None,
    }


@limited("GET")
def ticket(number: str):
    current = asked()
    if current.error is not None:
        error = current.error
        return jsonify(error="invalid", field=error.field, code=error.code, message=error.message), 400
    status = perform(current)
    if status is None:
        return jsonify(error="not_found", message=NOT_FOUND), 404
    return jsonify(open311(status))
