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
from functools import lru_cache, wraps
from typing import NoReturn

from flask import current_app, g, request
from flask_limiter import RateLimitExceeded, RequestLimit
from flask_limiter._limits import RuntimeLimit  # what RateLimitExceeded is made of
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from hotline.app import limiter
from lookup import audit, dbapi
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
    # Never raises: a request that cannot be parsed is still counted against
    # its client, and audited as invalid.
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


@dataclass(frozen=True)
class _Limit:
    """One configured limit of a lookup."""

    item: RateLimitItem
    scope: str
    # Which identity key it counts (tested before the lookup, counted after
    # it only if it failed); None for the client limit, counted every time.
    position: int | None


@lru_cache(maxsize=32)
def _declared(client_limits: str, identity_limits: str) -> tuple[_Limit, ...]:
    limits = [_Limit(item, f"lookup-identity-{position}", position)
              for position in (2, 1, 0) for item in parse_many(identity_limits)]
    limits += [_Limit(item, "lookup-client", None) for item in parse_many(client_limits)]
    # flask-limiter's order: the shortest window first, ties as declared. The
    # first breach ends the evaluation, so the limits after it are not counted.
    return tuple(sorted(limits, key=lambda limit: limit.item.GRANULARITY.seconds))


_Applied = tuple[_Limit, tuple[str, ...]]  # a limit and the identifiers of its counter


def _applicable(current: Asked) -> list[_Applied]:
    settings = current_app.config["XUEJI"]
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX")
    client = get_remote_address()
    applied = []
    for limit in _declared(settings.lookup_client_limits, settings.lookup_identity_limits):
        key = client if limit.position is None else current.identities[limit.position]
        if key:  # an identity key the query does not have is not limited
            applied.append((limit, (prefix, key, limit.scope) if prefix else (key, limit.scope)))
    return applied


def _first_breached(applied: list[_Applied]) -> _Applied | None:
    # flask-limiter's strategy on its storage, or on its in-process fallback
    # while the storage is down; the counters are the ones its decorators kept.
    strategy = limiter.limiter
    for limit, identifiers in applied:
        count = strategy.hit if limit.position is None else strategy.test
        if not count(limit.item, *identifiers):
            return limit, identifiers
    return None


def _check(current: Asked) -> list[_Applied]:
    """Count the request against its limits, refuse it if one is exhausted; return the
    identity limits to count if the lookup fails."""
    applied = _applicable(current)
    try:
        breached = _first_breached(applied)
    except Exception:
        config = current_app.config
        # flask-limiter's fallback, as its own checks do it: the same warning,
        # and the flag that its before_request hook clears (logging "Rate limit
        # storage recovered") once the storage answers again.
        if config.get("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED") and not limiter._storage_dead:
            limiter.logger.warning("Rate limit storage unreachable - falling back to in-memory storage")
            limiter._storage_dead = True
            breached = _first_breached(applied)
        elif config.get("RATELIMIT_SWALLOW_ERRORS"):
            limiter.logger.exception("Failed to rate limit. Swallowing error")
            return []
        else:
            raise
    if breached is not None:
        _refuse(current, *breached)
    return [(limit, identifiers) for limit, identifiers in applied if limit.position is not None]


def _refuse(current: Asked, limit: _Limit, identifiers: tuple[str, ...]) -> NoReturn:
    key = identifiers[-2]
    limiter.logger.info("ratelimit %s (%s) exceeded at endpoint: %s", limit.item, key, limit.scope)
    # The 429 handler (hotline.web) reads its Retry-After from limiter.current_limit.
    limiter.context.view_rate_limit = RequestLimit(limiter, limit.item, list(identifiers), True, True)
    # Audited here because the view never runs for a refused request.
    with dbapi.statements() as statements:
        audit.record(statements, current, "limited")
    raise RateLimitExceeded(RuntimeLimit(limit.item, lambda: key, limit.scope, shared=True))


def _count_failure(applied: list[_Applied]) -> None:
    try:
        strategy = limiter.limiter
        for limit, identifiers in applied:
            strategy.hit(limit.item, *identifiers)
    except Exception:
        if not current_app.config.get("RATELIMIT_SWALLOW_ERRORS"):
            raise
        limiter.logger.exception("Failed to deduct rate limit. Swallowing error")


def limited(view: Callable) -> Callable:
    """Guard a lookup view with the client limit and the three identity limits.

    One evaluation of all of them per request, on flask-limiter's storage and
    strategy (memory, or Redis shared by the workers, with flask-limiter's
    in-process fallback), under the keys flask-limiter gives them. Through
    four flask-limiter decorators the same checks cost a lookup more than its
    database work: each request resolved, filtered and sorted them twice.
    """
    @wraps(view)
    def limited_view(*args, **kwargs):
        if request.method != "POST" or not (limiter.enabled and limiter.initialized):
            return view(*args, **kwargs)
        to_count_on_failure = _check(asked())
        try:
            return view(*args, **kwargs)
        finally:
            if to_count_on_failure and g.get("lookup_outcome") == "not_found":
                _count_failure(to_count_on_failure)

    return limited_view
