"""URL rules of the public site."""

from flask import Blueprint

from lookup import views

bp = Blueprint("public", __name__)
bp.add_url_rule("/", view_func=views.index)
bp.add_url_rule("/healthz", view_func=views.healthz)
