"""The application factory: one Flask app for the public site and the console."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from flask import Flask, render_template
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from hotline import db
from hotline.config import Settings, database_url, load_settings, resolve_secrets

# Created here, bound to the app in create_app; routes in lookup/ and the
# console decorate with it. Limits themselves are per route.
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the app from ``settings`` (default: the environment), without side effects
    beyond creating the instance folder and, in development, its generated secrets."""
    settings = settings or load_settings()
    templates = files("xueji_templates")
    app = Flask(
        "hotline",
        template_folder=str(templates),
        instance_path=settings.instance_path and str(Path(settings.instance_path).resolve()),
        instance_relative_config=False,
    )
    instance = Path(app.instance_path)
    secrets = resolve_secrets(settings, instance)
    app.config.update(
        XUEJI=settings,
        ENV_NAME=settings.env,
        TESTING=settings.env == "testing",
        SECRET_KEY=secrets["secret_key"],
        ID_HASH_KEY=secrets["id_hash_key"].encode(),
        DATABASE_URL=database_url(settings, instance),
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        RATELIMIT_HEADERS_ENABLED=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env == "production",
    )
    app.config.update(overrides)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Chinese stays readable in JSON

    db.init_app(app)
    limiter.init_app(app)

    from hotline import cli
    from lookup import blueprint as public

    app.register_blueprint(public.bp)
    cli.init_app(app)

    @app.errorhandler(404)
    def not_found(_error: Exception) -> tuple[str, int]:
        return render_template("error.html", code=404, message="您访问的页面不存在。"), 404

    @app.errorhandler(500)
    def server_error(_error: Exception) -> tuple[str, int]:
        return render_template("error.html", code=500, message="系统繁忙，请稍后再试。"), 500

    return app
