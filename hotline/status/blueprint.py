"""URL rules of the status page and its JSON API."""

from flask import Blueprint

from hotline.status import api, views

bp = Blueprint("status", __name__)
bp.add_url_rule("/status", "form", view_func=views.form)
bp.add_url_rule("/status", "answer", view_func=views.answer, methods=["POST"])

# Exempt from CSRF (its clients are programs; a GET changes nothing) but
# limited exactly like the page.
api_bp = Blueprint("status_api", __name__, url_prefix="/api/v1")
api_bp.add_url_rule("/tickets/<number>", "ticket", view_func=api.ticket)
