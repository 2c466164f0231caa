"""What the current request asks, parsed once, and the limits that guard the lookups.

Two kinds of limit, both through flask-limiter and its storage (memory in a
single process, Redis when several share the load):

- per client address (after the trusted proxies), on every lookup request,
  page and API alike, so a script from one address is stopped;
- per identity: the keyed hash of each key of :func:`lookup.inputs.identity_keys`,
  counting failed lookups only, so that a distributed enumeration of one
  child is stopped however many addresses it comes from, while a parent who
  finds their child's number is never slowed down.

A request that is refused is audited as ``limited`` with the identity it
named, so that attacks show up in the audit table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flask import current_app, g, request
from flask_limiter import RequestLimit
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from hotline import db
from hotline.app import limiter
from lookup import audit
from lookup.inputs import (
    BIRTH_FIELDS,
    CHECK_FIELDS,
    ID_FIELDS,
    Query,
    identity_keys,
    parse_check,
    parse_query,
)
from lookup.numbers import NumberError
from lookup.privacy import id_hasher

_API_FIELDS = {"lookup": ID_FIELDS | BIRTH_FIELDS, "check": CHECK_FIELDS}
_KINDS = {"ById": "id", "ByBirth": "birth", "ByNumber": "number"}


@dataclass(frozen=True)
class Asked:
    """The current lookup request: its query or the error in it, and its identities."""

    channel: str  # "web" or "api"
    query: Query | None
    error: NumberError | None
    identities: tuple[str | None, ...]  # keyed hashes, None where a key does not apply

    @property
    def kind(self) -> str | None:
        return _KINDS[type(self.query).__name__] if self.query is not None else None


def _api_data(allowed: frozenset[str]) -> Mapping[str, object]:
    if request.mimetype != "application/json":
        raise NumberError("body", "content_type", "请求须为 JSON，Content-Type 应为 application/json")
    try:
        data = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):
        raise NumberError("body", "json", "请求体不是有效的 JSON") from None
    if not isinstance(data, dict):
        raise NumberError("body", "json", "请求体应为 JSON 对象，例如 {\"name\": …}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        # Named back as ASCII escapes: a key may hold anything, even a lone
        # surrogate that no encoding of the answer could carry.
        named = ", ".join(key.encode("ascii", "backslashreplace").decode() for key in unknown[:5])
        raise NumberError("body", "unknown_field", f"不认识的字段：{named[:100]}")
    return data


def hasher() -> Callable[[str], str]:
    """The app's keyed hash, its key schedule done once per process rather than per request."""
    hashers = current_app.extensions.setdefault("xueji.id_hasher", {})
    key = current_app.config["ID_HASH_KEY"]
    if key not in hashers:
        hashers[key] = id_hasher(key)
    return hashers[key]


def asked() -> Asked:
    """Parse the current request once; the limits, the view and the audit share the result."""
    if "lookup_asked" in g:
        return g.lookup_asked
    channel = "api" if request.blueprint == "api" else "web"
    what = "check" if request.endpoint.endswith("check") else "lookup"
    query = error = None
    # Never raises: this runs inside flask-limiter's checks, which take any
    # exception for a dead storage and fall back to empty in-process counts.
    try:
        if channel == "api":
            data, way = _api_data(_API_FIELDS[what]), None
        else:
            data = {key: request.form.get(key) for key in _API_FIELDS[what]}
            way = "birth" if request.form.get("way") == "birth" else "id"
        query = parse_check(data) if what == "check" else parse_query(data, way=way)
    except NumberError as exc:
        error = exc
    except RequestEntityTooLarge:
        error = NumberError("body", "too_large", "提交的内容过大")
    except HTTPException:  # a form body that cannot be parsed
        error = NumberError("body", "format", "请求格式不正确")
    identities: tuple[str | None, ...] = (None, None, None)
    if query is not None:
        hash_key = hasher()
        identities = tuple(key and hash_key(key) for key in identity_keys(query))
    g.lookup_asked = Asked(channel, query, error, identities)
    return g.lookup_asked


def _client_limits() -> str:
    return current_app.config["XUEJI"].lookup_client_limits


def _identity_limits() -> str:
    return current_app.config["XUEJI"].lookup_identity_limits


def _failed(_response) -> bool:
    return g.get("lookup_outcome") == "not_found"


def _on_breach(_limit: RequestLimit) -> None:
    # Audited here because the view never runs for a refused request.
    current = asked()
    audit.record(db.session(), current, "limited")
    db.session().commit()


def _identity(position: int) -> tuple[Callable[[], str], Callable[[], bool]]:
    def key() -> str:
        return asked().identities[position] or ""

    def exempt() -> bool:
        return request.method != "POST" or asked().identities[position] is None

    return key, exempt


def limited(view: Callable) -> Callable:
    """Apply the client limit and the three identity limits to a lookup view."""
    for position in (2, 1, 0):
        key, exempt = _identity(position)
        view = limiter.shared_limit(_identity_limits, scope=f"lookup-identity-{position}", key_func=key,
                                    exempt_when=exempt, deduct_when=_failed, on_breach=_on_breach)(view)
    return limiter.shared_limit(_client_limits, scope="lookup-client", methods=["POST"],
                                on_breach=_on_breach)(view)
