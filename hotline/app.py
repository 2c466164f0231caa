"""The application factory: one Flask app for the public site and the console."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

import lookup.limit_storage  # noqa: F401  # memory:// limits without a timer thread per worker
from hotline import db, health, logs, metrics, web
from hotline.config import Settings, database_url, load_settings, resolve_secrets

# Created here, bound to the app in create_app; routes in lookup/ and the
# console decorate with them. Limits themselves are per route. The client
# address is REMOTE_ADDR as web.TrustedProxies leaves it.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
csrf = CSRFProtect()


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the app from ``settings`` (default: the environment), without side effects
    beyond creating the instance folder and, in development, its generated secrets."""
    settings = settings or load_settings()
    app = Flask(
        "hotline",
        template_folder=str(files("xueji_templates")),
        static_folder=str(files("xueji_static")),
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
        # Off: flask-limiter would put Retry-After on every answer; the 429
        # handler (hotline.web) sets it where it means something.
        RATELIMIT_HEADERS_ENABLED=False,
        RATELIMIT_KEY_PREFIX="xueji",
        # If Redis goes away, keep limiting in this process (and log it) rather
        # than failing every lookup; flask-limiter checks back and recovers.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        # A Redis that hangs must not hold a lookup for long before the fallback.
        RATELIMIT_STORAGE_OPTIONS=({"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
                                   if settings.ratelimit_storage_uri.startswith("redis") else {}),
        # Lookups are a few short fields; console uploads will set their own limit.
        MAX_CONTENT_LENGTH=1024 * 1024,
        WTF_CSRF_TIME_LIMIT=2 * 3600,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env == "production",
    )
    app.config.update(overrides)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Chinese stays readable in JSON

    app.wsgi_app = web.TrustedProxies(app.wsgi_app, settings.trusted_proxies)  # type: ignore[method-assign]

    db.init_app(app)
    limiter.init_app(app)
    csrf.init_app(app)
    web.init_app(app, production=settings.env == "production")
    logs.init_app(app)  # every request gets an id, and is timed, counted and logged
    metrics.init_app(app)  # /metrics
    health.init_app(app)  # /readyz

    from hotline import cli
    from hotline.status import blueprint as status
    from hotline.status.openapi import FRAGMENT as STATUS_OPENAPI
    from lookup import blueprint as public

    app.register_blueprint(public.bp)
    app.register_blueprint(public.api_bp)
    csrf.exempt(public.api_bp)
    app.register_blueprint(status.bp)
    app.register_blueprint(status.api_bp)
    csrf.exempt(status.api_bp)
    # Parts of /api/v1/openapi.json described outside lookup/ (lookup/openapi.py merges them).
    app.extensions["xueji.openapi"] = [STATUS_OPENAPI]
    if settings.console_enabled:
        from hotline import console

        console.init_app(app)
    cli.init_app(app)
    return app
