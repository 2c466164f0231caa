"""The live server: the real app on a database of its own, served on loopback in a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from werkzeug.serving import make_server

from hotline import db
from hotline.app import create_app
from hotline.config import load_settings
from tests.browser import seeded

ID_KEY = "browser-test-id-hash-key-" + "0" * 32
# High enough that no test meets them, except the one about the limit itself.
GENEROUS_LIMITS = {"lookup_client_limits": "1000 per minute", "lookup_identity_limits": "1000 per hour"}
CLIENT_LIMIT = 3  # lookups a minute from one address on the rate-limited server


@dataclass(frozen=True)
class LiveServer:
    url: str  # http://127.0.0.1:PORT, no trailing slash
    app: Flask


def make_database(folder: Path) -> str:
    """A migrated SQLite database in ``folder`` holding the students of :mod:`seeded`; its URL."""
    url = f"sqlite:///{folder / 'live.sqlite3'}"
    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
        seeded.load(engine, folder, ID_KEY.encode())
    finally:
        engine.dispose()
    return url


def make_app(url: str, folder: Path, **limits: str) -> Flask:
    settings = load_settings({}, env="testing", database_url=url, secret_key="browser-test-secret",
                             id_hash_key=ID_KEY, instance_path=str(folder / "instance"),
                             **{**GENEROUS_LIMITS, **limits})
    app = create_app(settings)
    app.after_request(_read_files_whole)
    return app


def _read_files_whole(response):
    # werkzeug's development server leaves a file response's handle to the
    # garbage collector when the browser drops the connection (Chromium
    # cancels the favicon request when a page navigates at once), and the
    # suite turns the ResourceWarning into an error. Production serves
    # static files from nginx; here they are read whole and closed at once.
    if response.direct_passthrough:
        wrapper = response.response
        response.direct_passthrough = False
        try:
            response.set_data(b"".join(wrapper))
        finally:
            getattr(wrapper, "close", lambda: None)()
    return response


@contextmanager
def serving(app: Flask) -> Iterator[LiveServer]:
    """Serve ``app`` until the block ends; then stop, and close the app's database connections."""
    # Port 0: the system picks a free port, so parallel runs never collide.
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["xueji.engine"].dispose()
