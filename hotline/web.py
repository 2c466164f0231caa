"""What every response of the site shares: client addresses, security headers, error pages."""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Iterable
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError

# No script at all on the public pages; styles from our own origin only; the
# page may not be framed; forms may only post back to us.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
_HEADERS = {
    "Content-Security-Policy": CSP,
    # A lookup's answer page must not tell the next site where the parent came
    # from; our own forms do send it back to us, because Flask-WTF's CSRF check
    # refuses a POST over HTTPS without a same-origin Referer (behind nginx,
    # "no-referrer" made every form fail with 400).
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    # A dual-stack socket shows an IPv4 peer as ::ffff:10.0.0.1: it is 10.0.0.1.
    ip = ipaddress.ip_address(text)
    return ip.ipv4_mapped or ip if isinstance(ip, ipaddress.IPv6Address) else ip


class TrustedProxies:
    """WSGI middleware: the client's address, honouring X-Forwarded-For only from our proxies.

    When the peer is one of the configured proxy networks, the forwarded
    addresses are read from the right (the hop our proxy added) leftwards,
    skipping further trusted proxies; the first address that is not one is
    the client. Anything a client writes further left cannot move it, and a
    peer that is not a trusted proxy cannot forward at all. The peer itself
    stays in ``environ["xueji.peer"]``.
    """

    def __init__(self, app: Any, networks: Iterable[str]) -> None:
        self.app = app
        self.networks = [ipaddress.ip_network(n, strict=False) for n in networks]

    def _trusted(self, address: str) -> bool:
        try:
            ip = _address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        peer = environ.get("REMOTE_ADDR", "")
        environ["xueji.peer"] = peer
        if self.networks and self._trusted(peer):
            client = peer
            for hop in reversed(environ.get("HTTP_X_FORWARDED_FOR", "").split(",")):
                hop = hop.strip()
                try:
                    client = str(_address(hop))
                except ValueError:
                    break  # a garbled entry: the last good hop is as far as we can trust
                if not self._trusted(client):
                    break
            environ["REMOTE_ADDR"] = client
            proto = environ.get("HTTP_X_FORWARDED_PROTO", "").rsplit(",", 1)[-1].strip().lower()
            if proto in ("http", "https"):
                environ["wsgi.url_scheme"] = proto
        return self.app(environ, start_response)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


_TITLES = {400: "请求有误", 404: "页面不存在", 405: "访问方式不正确", 413: "提交内容过大",
           429: "查询过于频繁", 500: "系统繁忙", 503: "服务暂时不可用"}
# What a client is told to wait when the database is away (a PostgreSQL
# restart takes seconds; a failover, tens of seconds).
RETRY_AFTER_SECONDS = 30
UNAVAILABLE = "数据库暂时无法访问，本次请求未能完成，请稍后再试。"


def _reply(code: int, message: str, error: str, **extra: Any) -> tuple[Response | str, int]:
    if _wants_json():
        return jsonify(error=error, message=message, **extra), code
    return render_template("error.html", code=code, title=_TITLES.get(code), message=message,
                           **extra), code


def init_app(app: Flask, *, production: bool) -> None:
    """Register the shared headers and error pages on ``app``."""

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)
        if production:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.method == "POST" or _wants_json():
            # Answers hold personal data: no cache, shared or private, keeps them.
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(400)
    def bad_request(_error: Exception):
        return _reply(400, "请求格式不正确，请返回后重新填写。", "invalid")

    @app.errorhandler(CSRFError)
    def csrf_failed(_error: CSRFError):
        return _reply(400, "页面已过期或不完整，请返回查询页面重新填写后提交。", "invalid")

    @app.errorhandler(404)
    def not_found(_error: Exception):
        return _reply(404, "您访问的页面不存在。", "not_found")

    @app.errorhandler(405)
    def method_not_allowed(_error: Exception):
        return _reply(405, "不支持这种访问方式。查询请通过页面上的表单提交。", "method_not_allowed")

    @app.errorhandler(413)
    def too_large(_error: Exception):
        return _reply(413, "提交的内容过大。", "too_large")

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(error: RateLimitExceeded):
        from hotline.app import limiter

        current = limiter.current_limit
        wait = max(1, int(current.reset_at - time.time())) if current else 60
        after = f"{wait} 秒" if wait < 120 else f"约 {math.ceil(wait / 60)} 分钟"
        message = f"查询过于频繁，请在 {after}后再试。"
        response, code = _reply(429, message, "rate_limited", retry_after=wait)
        if isinstance(response, str):
            response = app.make_response(response)
        response.headers["Retry-After"] = str(wait)
        return response, code

    @app.errorhandler(500)
    def server_error(_error: Exception):
        return _reply(500, "系统繁忙，请稍后再试。", "server_error")

    for error_class in _database_errors():
        app.register_error_handler(error_class, database_unavailable)


def _database_errors() -> tuple[type[Exception], ...]:
    import sqlite3

    import psycopg
    from sqlalchemy import exc

    return (exc.OperationalError, exc.InterfaceError, exc.TimeoutError, exc.DisconnectionError,
            psycopg.OperationalError, psycopg.InterfaceError, sqlite3.OperationalError)


def database_unavailable(error: Exception) -> Response:
    """503 while the database cannot be used: a clear page (JSON under /api/) and Retry-After.

    The request's session is rolled back when its context ends, and the pool
    replaces broken connections on their next checkout (hotline.db), so the
    site recovers by itself when the database is back.
    """
    from hotline import db
    from hotline.health import error_line

    if not db.unavailable(error):
        raise error  # a wrong statement: our bug, Flask's 500
    current_app.logger.warning("database unavailable: %s", error_line(error))
    if _wants_json():
        response = jsonify(error="unavailable", message=UNAVAILABLE, retry_after=RETRY_AFTER_SECONDS)
    else:
        # Rendered without the blueprints' context processors: the console's
        # would read the signed-in user from the very database that is away.
        page = current_app.jinja_env.get_template("error.html").render(
            code=503, title=_TITLES[503], message=UNAVAILABLE)
        response = Response(page, content_type="text/html; charset=utf-8")
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response
