"""Handlers of the public site: the lookup page, the number check, liveness."""

from __future__ import annotations

from flask import abort, render_template, request

from lookup.limits import limited
from lookup.operations import KIND_TEXT, NOT_FOUND, perform_lookup

_LOOKUP_FIELDS = ("name", "id_number", "birth_date", "school_code")


def index() -> str:
    return render_template("lookup/index.html", values={}, error=None, way="id")


def _page(template: str, fields: tuple[str, ...], **context):
    result = perform_lookup()
    # What was typed goes back into the form only when it must be corrected.
    values = {key: request.form.get(key, "")[:64] for key in fields}
    if result.outcome == "invalid":
        if result.asked.error.field == "body":
            abort(413 if result.asked.error.code == "too_large" else 400)
        return render_template(template, values=values, error=result.asked.error, **context), 400
    return render_template("lookup/result.html", result=result, kind_text=KIND_TEXT,
                           not_found=NOT_FOUND, check=template.endswith("check.html"))


@limited
def lookup():
    way = "birth" if request.form.get("way") == "birth" else "id"
    return _page("lookup/index.html", _LOOKUP_FIELDS, way=way)


@limited
def check():
    if request.method == "GET":
        return render_template("lookup/check.html", values={}, error=None)
    return _page("lookup/check.html", ("name", "number"))


def healthz() -> tuple[dict[str, str], int]:
    # Liveness only: the process answers. Readiness (database, limits) is separate.
    return {"status": "ok"}, 200
