"""Logs: one line per record (JSON in production), each request's line, nothing personal in any.

Nothing here runs at import time. The process entry points configure
logging once: the gunicorn entry (``hotline.wsgi``) and the ``xueji``
command (``hotline.cli``); the app factory only adds the request hooks, so
that an app built in a test or a script logs through whatever that
program set up.

Every record that reaches the handler installed here passes
:class:`RedactFilter` first: ID numbers, phone numbers and e-mail addresses
are masked (``lookup.privacy.redact_personal``) in the message and in any
traceback. The code already logs hashes and masked values only; this is
the last line of defence for what slips through, such as a library quoting
a value in an error message.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import secrets
import sys
import time
from typing import IO, Any

from flask import Flask, Response, g, has_request_context, request

from hotline import metrics
from hotline.config import Settings
from lookup.privacy import redact_personal

request_log = logging.getLogger("xueji.request")

# What a request line carries beyond the message, in this order.
REQUEST_FIELDS = ("request_id", "method", "path", "status", "duration_ms")
# A request id from our proxy (nginx's $request_id) is kept if it looks like one.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def log_format(settings: Settings) -> str:
    """``XUEJI_LOG_FORMAT``, or its default: json in production, text otherwise.

    >>> log_format(Settings(env="production")), log_format(Settings())
    ('json', 'text')
    >>> log_format(Settings(env="production", log_format="text"))
    'text'
    """
    return settings.log_format or ("json" if settings.env == "production" else "text")


class RedactFilter(logging.Filter):
    """Masks personal data in the record's message and traceback (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact_personal(record.getMessage()), None
        path = getattr(record, "path", None)
        if isinstance(path, str):
            record.path = redact_personal(path)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_personal(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_personal(record.stack_info)
        return True


class RequestFilter(logging.Filter):
    """Adds the current request's id, method and path to every record logged while it runs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and not hasattr(record, "request_id"):
            record.request_id = g.get("request_id")
            record.method = request.method
            record.path = request.path  # never the query string: the status API carries a contact in it
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
        entry: dict[str, Any] = {"time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                                 "level": record.levelname, "logger": record.name,
                                 "message": record.getMessage()}
        for name in REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        # Chinese stays readable; json.dumps escapes every newline, so a record is one line.
        return json.dumps(entry, ensure_ascii=False, default=str)


# Libraries that log every protocol step at INFO: aiosmtpd writes about 18
# lines per message received (each SMTP command, the peer, the sender).
# Their warnings and errors still come through; our own lines say what
# became of each message.
CHATTY = ("mail.log",)


def configure(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Send every record at INFO and above to ``stream`` (stderr) in the configured format.

    Called again, it replaces the handler it installed before, so the
    process never writes a record twice.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name("xueji")
    handler.addFilter(RequestFilter())
    handler.addFilter(RedactFilter())  # after the request's fields are added: the path is masked too
    if log_format(settings) == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT, defaults={"request_id": "-"}))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "xueji"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler


def _request_id() -> str:
    given = request.headers.get("X-Request-ID", "")
    return given if _REQUEST_ID.fullmatch(given) else secrets.token_hex(8)


def _begin() -> None:
    g.request_id = _request_id()
    g.request_started = time.perf_counter()


def _finish(response: Response) -> Response:
    started = g.get("request_started")
    seconds = time.perf_counter() - started if started is not None else 0.0
    endpoint = request.url_rule.endpoint if request.url_rule is not None else "unmatched"
    metrics.observe_request(endpoint, response.status_code, seconds)
    if g.get("request_id"):
        response.headers["X-Request-ID"] = g.request_id
    if request_log.isEnabledFor(logging.INFO):
        # Masked here already, not only by the handler's filter: this line is
        # ours, and other handlers (a test's capture) see it unfiltered.
        path = redact_personal(request.path)
        request_log.info("%s %s %s", request.method, path, response.status_code,
                         extra={"request_id": g.get("request_id"), "method": request.method,
                                "path": path, "status": response.status_code,
                                "duration_ms": round(seconds * 1000, 1)})
    return response


def init_app(app: Flask) -> None:
    """Give every request an id and a start time, and log and count it when it is answered."""
    # First of all before_request hooks: one that refuses the request (a
    # rate limit) ends the list, and the request is still logged and timed.
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request(_finish)
