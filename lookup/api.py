"""The JSON API: the same lookups as the page, for programs (and the same limits)."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify

from lookup.limits import limited
from lookup.openapi import document
from lookup.operations import KIND_TEXT, NOT_FOUND, Result, perform_lookup
from lookup.search import Answer


def _student(answer: Answer) -> dict[str, Any]:
    return {
        "number": answer.number,
        "kind": answer.kind,
        "kind_text": KIND_TEXT[answer.kind],
        "school": {"code": answer.school_code, "name": answer.school_name},
        "status": answer.status,
        "replaced": [{"number": e.number, "reason": e.reason, "changed_on": e.changed_on.isoformat()}
                     for e in answer.earlier],
    }


def _failure(result: Result):
    if result.outcome == "invalid":
        error = result.asked.error
        if error.code == "too_large":
            return jsonify(error="too_large", field=error.field, code=error.code, message=error.message), 413
        return jsonify(error="invalid", field=error.field, code=error.code, message=error.message), 400
    contact = result.contact
    return jsonify(error="not_found", message=NOT_FOUND, contact={
        "unit": {"code": contact.unit_code, "name": contact.unit_name},
        "phone": contact.phone, "email": contact.email, "school": contact.school_name,
        "national_hotline": "010-66119801"}), 404


@limited
def lookup():
    result = perform_lookup()
    if result.answer is None:
        return _failure(result)
    return jsonify(_student(result.answer))


@limited
def check():
    result = perform_lookup()
    if result.answer is None:
        return _failure(result)
    body = _student(result.answer)
    if result.outcome == "replaced":
        body.update(result="replaced", asked=result.answer.replaced_number)
    else:
        body.update(result="current", asked=result.answer.number)
    return jsonify(body)


def openapi():
    return jsonify(document(current_app.extensions.get("xueji.openapi", ())))
