"""The agent console under /console/: accounts and access (等保 level 3), and the views built on them."""

from __future__ import annotations

import datetime

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the console on ``app`` (called only when XUEJI_CONSOLE_ENABLED is true)."""
    from hotline.console.blueprint import bp

    settings = app.config["XUEJI"]
    # The session cookie lives as long as an idle session may (access.py checks it server-side too).
    app.config["PERMANENT_SESSION_LIFETIME"] = datetime.timedelta(minutes=settings.console_idle_minutes)
    app.register_blueprint(bp)
