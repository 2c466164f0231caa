"""The entry point for gunicorn: ``gunicorn 'hotline.wsgi:app'``.

Importing this module does nothing; asking it for ``app`` (as gunicorn
does) configures logging (hotline.logs) and builds the app from the
environment, once per process. A misconfiguration is one line on stderr
and exit status 4, gunicorn's "App failed to load": the arbiter stops
instead of starting workers that fail the same way, forever, and nobody
reads a traceback. A database or Redis that does not answer is not a
misconfiguration: the site starts, answers 503 (/readyz says why) until the
database is back, and limits in-process while Redis is away.
"""

from __future__ import annotations

import sys
from typing import Any

from flask import Flask

# gunicorn.arbiter.Arbiter.APP_LOAD_ERROR, not imported: any WSGI server may load this module.
APP_LOAD_ERROR = 4
_app: Flask | None = None


def load() -> Flask:
    """The app of this process, built on first use."""
    global _app
    if _app is None:
        from hotline import logs
        from hotline.app import create_app
        from hotline.config import ConfigError, load_settings

        try:
            settings = load_settings()
            logs.configure(settings)
            _app = create_app(settings)
        except ConfigError as exc:
            print(f"配置错误：{exc}", file=sys.stderr, flush=True)
            sys.exit(APP_LOAD_ERROR)
    return _app


def __getattr__(name: str) -> Any:
    # PEP 562: ``hotline.wsgi:app`` is built when gunicorn asks for it, not on import.
    if name == "app":
        return load()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
