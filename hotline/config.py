"""Configuration: read once, from the environment, in this module only.

Every setting is an ``XUEJI_*`` environment variable; the README lists them
all. Nothing else in the code base reads ``os.environ`` (STYLE habit 5), so a
setting is documented, validated and defaulted in exactly one place.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from limits import parse_many


class ConfigError(Exception):
    """The configuration cannot work. The message is one line for the operator."""


ENVIRONMENTS = ("development", "production", "testing")


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    database_url: str | None = None
    secret_key: str | None = None
    # Key of the HMAC that turns a resident ID number into the value we store
    # and search by. It must never change once data exists, so it is a setting
    # of its own rather than being derived from the session secret.
    id_hash_key: str | None = None
    instance_path: str | None = None
    ratelimit_storage_uri: str = "memory://"
    # Addresses or networks of our reverse proxies: X-Forwarded-For is
    # honoured only when the peer is one of them.
    trusted_proxies: tuple[str, ...] = ()
    # Public lookup limits (flask-limiter syntax, ";" between limits): every
    # lookup per client address, and failed lookups per queried identity.
    lookup_client_limits: str = "10 per minute;50 per day"
    lookup_identity_limits: str = "5 per hour"
    # The mailbox the public writes to (2016 notice part 3: 66119801@moe.edu.cn).
    mail_addresses: tuple[str, ...] = ("66119801@moe.edu.cn",)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    # Where raw mail is kept (a Maildir); default: "mail" in the instance folder.
    mail_spool: str | None = None
    mail_max_bytes: int = 25 * 1024 * 1024
    imap_host: str | None = None
    imap_port: int = 993
    imap_user: str | None = None
    imap_password: str | None = None
    imap_folder: str = "INBOX"
    outbound_smtp_host: str | None = None
    outbound_smtp_port: int = 25
    mail_from: str = "66119801@moe.edu.cn"
    # The unit whose mailbox this is: mail that names nothing routable waits
    # in its triage queue (2014 notice item 1; the ministry for 66119801@moe.edu.cn).
    mail_receiving_unit: str = "000000"
    # A reply to a ticket closed at most this many days ago reopens it; a
    # later one opens a new ticket linked to the old (issue 6 item 4).
    mail_reopen_days: int = 30
    # Acknowledgements to one sender per hour; past it, mail still becomes
    # tickets but gets no acknowledgement (no mail storm with a robot). 0: none.
    mail_ack_per_hour: int = 10
    # Key of the HMAC in signed per-ticket reply addresses (66119801+t…@).
    mail_reply_key: str | None = None
    # The agent console (/console/). Off: its pages answer 404.
    console_enabled: bool = True
    # 等保 level 3: an idle session ends, and repeated failed logins lock the
    # account for a while (see hotline/console/).
    console_idle_minutes: int = 30
    console_lockout_failures: int = 5
    console_lockout_minutes: int = 15


_BOOL = {"1": True, "true": True, "yes": True, "on": True,
         "0": False, "false": False, "no": False, "off": False}


def _parse(name: str, raw: str, kind: type | str) -> object:
    if kind == "bool":
        try:
            return _BOOL[raw.strip().lower()]
        except KeyError:
            raise ConfigError(f"XUEJI_{name.upper()}={raw!r}: expected true or false") from None
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"XUEJI_{name.upper()}={raw!r}: expected a whole number") from None
    if kind == "list":
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    if kind == "networks":
        networks = tuple(part.strip() for part in raw.split(",") if part.strip())
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ConfigError(f"XUEJI_{name.upper()}: {network!r} is not an address or network") from None
        return networks
    if kind == "limits":
        try:
            if not parse_many(raw):
                raise ValueError(raw)
        except ValueError:
            raise ConfigError(f"XUEJI_{name.upper()}={raw!r}: expected limits such as "
                              "'10 per minute;50 per day'") from None
        return raw
    return raw


_KINDS = {
    "smtp_port": "int",
    "mail_max_bytes": "int",
    "imap_port": "int",
    "outbound_smtp_port": "int",
    "trusted_proxies": "networks",
    "lookup_client_limits": "limits",
    "lookup_identity_limits": "limits",
    "mail_addresses": "list",
    "console_enabled": "bool",
    "console_idle_minutes": "int",
    "console_lockout_failures": "int",
    "console_lockout_minutes": "int",
    "mail_reopen_days": "int",
    "mail_ack_per_hour": "int",
}
# Settings that count something: zero or less would switch a protection off.
_POSITIVE = ("console_idle_minutes", "console_lockout_failures", "console_lockout_minutes",
             "mail_reopen_days")
KNOWN = {f.name for f in fields(Settings)}


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build the settings from ``XUEJI_*`` variables, then apply ``overrides``.

    An unknown ``XUEJI_`` name is an error: a typo in a deployment must not
    silently fall back to a default.

    >>> load_settings({"XUEJI_SMTP_PORT": "2525"}).smtp_port
    2525
    >>> load_settings({"XUEJI_DATABSE_URL": "x"})
    Traceback (most recent call last):
    ...
    hotline.config.ConfigError: unknown setting XUEJI_DATABSE_URL (known: ...)
    """
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for key, raw in environ.items():
        # The test and benchmark harnesses have variables of their own.
        if not key.startswith("XUEJI_") or key.startswith(("XUEJI_TEST_", "XUEJI_BENCH_")):
            continue
        name = key.removeprefix("XUEJI_").lower()
        if name not in KNOWN:
            raise ConfigError(f"unknown setting {key} (known: see README, Configuration)")
        values[name] = _parse(name, raw, _KINDS.get(name, "str"))
    values.update(overrides)
    settings = Settings(**values)  # type: ignore[arg-type]
    if settings.env not in ENVIRONMENTS:
        raise ConfigError(f"XUEJI_ENV={settings.env!r}: expected one of {', '.join(ENVIRONMENTS)}")
    for name in _POSITIVE:
        if getattr(settings, name) < 1:
            raise ConfigError(f"XUEJI_{name.upper()}={getattr(settings, name)}: expected 1 or more")
    if settings.mail_ack_per_hour < 0:
        raise ConfigError(f"XUEJI_MAIL_ACK_PER_HOUR={settings.mail_ack_per_hour}: expected 0 or more")
    if not (settings.mail_receiving_unit.isascii() and settings.mail_receiving_unit.isdigit()):
        raise ConfigError(f"XUEJI_MAIL_RECEIVING_UNIT={settings.mail_receiving_unit!r}: expected a unit code")
    return settings


def resolve_secrets(settings: Settings, instance_path: Path) -> dict[str, str]:
    """Return the session secret and the ID-hash key.

    In production both must be configured: a missing one is a start-up error,
    never a silent default. In development they are generated once and kept
    in the instance folder, so a restart keeps sessions and, above all, keeps
    stored ID hashes searchable.
    """
    return {name: resolve_secret(settings, name, instance_path) for name in ("secret_key", "id_hash_key")}


def resolve_secret(settings: Settings, name: str, instance_path: Path) -> str:
    """One secret setting, by the rules of :func:`resolve_secrets`.

    The mail worker resolves ``mail_reply_key`` with it when it starts, so
    that the web site does not need the key of the reply addresses.
    """
    value = getattr(settings, name)
    if value:
        if settings.env == "production" and len(value) < 32:
            raise ConfigError(f"XUEJI_{name.upper()} must be at least 32 characters in production")
        return value
    if settings.env == "production":
        raise ConfigError(f"XUEJI_{name.upper()} is not set; production needs it (see README)")
    path = instance_path / name
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        # Written aside, then linked into place: several processes starting at
        # once (mail workers) all end up with the first one's whole key.
        temporary = instance_path / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text().strip()


def database_url(settings: Settings, instance_path: Path) -> str:
    """The configured database, or an SQLite file in the instance folder."""
    if settings.database_url:
        return settings.database_url
    instance_path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{instance_path / 'xueji.sqlite3'}"
