"""The console's landing page (the queue and dashboard parts replace its content)."""

from __future__ import annotations

from flask import render_template

from hotline.console.access import login_required
from hotline.console.blueprint import bp


@bp.route("/")
@login_required
def home() -> str:
    return render_template("console/home.html")
