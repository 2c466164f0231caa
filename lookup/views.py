"""Handlers of the public site."""

from flask import render_template


def index() -> str:
    return render_template("lookup/index.html")


def healthz() -> tuple[dict[str, str], int]:
    # Liveness only: the process answers. Readiness (database, limits) is separate.
    return {"status": "ok"}, 200
