"""URL rules of the public site and its JSON API."""

from flask import Blueprint

from lookup import api, directory, views

bp = Blueprint("public", __name__)
bp.add_url_rule("/", view_func=views.index)
bp.add_url_rule("/lookup", view_func=views.lookup, methods=["POST"])
bp.add_url_rule("/check", view_func=views.check, methods=["GET", "POST"])
bp.add_url_rule("/directory", "directory", view_func=directory.index)
bp.add_url_rule("/directory/<code>", "directory_unit", view_func=directory.unit)
bp.add_url_rule("/healthz", view_func=views.healthz)

# The API is a blueprint of its own: it is exempt from CSRF (its clients send
# JSON, not a browser's form) but limited exactly like the page.
api_bp = Blueprint("api", __name__, url_prefix="/api/v1")
api_bp.add_url_rule("/lookup", view_func=api.lookup, methods=["POST"])
api_bp.add_url_rule("/check", view_func=api.check, methods=["POST"])
api_bp.add_url_rule("/openapi.json", view_func=api.openapi)
