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
    # STARTTLS on the receiver: a PEM certificate (chain) and its key. Both or
    # neither; they are loaded when `xueji mail smtp` starts, before it listens.
    smtp_tls_cert: str | None = None
    smtp_tls_key: str | None = None
    # Refuse MAIL before STARTTLS (530). Off by default: other MTAs deliver
    # opportunistically and some still cannot do TLS.
    smtp_require_tls: bool = False
    # Where raw mail is kept (a Maildir); default: "mail" in the instance folder.
    mail_spool: str | None = None
    mail_max_bytes: int = 25 * 1024 * 1024
    # An existing mailbox the IMAP poller (xueji mail imap) takes mail from.
    imap_host: str | None = None
    imap_port: int | None = None  # default: 993 with implicit TLS, 143 otherwise
    imap_user: str | None = None
    imap_password: str | None = None
    imap_folder: str = "INBOX"
    # "tls" (implicit TLS), "starttls", or "plain": no encryption at all, so
    # only when asked for by name (a loopback server, the tests).
    imap_tls: str = "tls"
    # A folder processed mail is moved to; unset, it stays, flagged $XuejiDone.
    imap_done_folder: str | None = None
    # Seconds between looks at the mailbox when the server has no IDLE.
    imap_poll_seconds: int = 60
    outbound_smtp_host: str | None = None
    outbound_smtp_port: int = 25
    # "starttls", "tls" (implicit, port 465) or "none"; unset: starttls, except
    # for a relay on loopback (the machine's own MTA), see outbound_smtp_tls().
    outbound_smtp_tls: str | None = None
    # Login to the relay (both or neither); only over TLS unless on loopback.
    outbound_smtp_user: str | None = None
    outbound_smtp_password: str | None = None
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
    # Who may read /metrics: addresses or networks, after the trusted proxies
    # (hotline.web.TrustedProxies); everyone else gets a 404.
    metrics_allow: tuple[str, ...] = ("127.0.0.1/32", "::1")
    # One JSON object per log line ("json") or lines for people ("text");
    # unset: json in production, text otherwise.
    log_format: str | None = None
    # Retention (xueji purge, hotline/purge.py), in months: audit records
    # (lookups, logins, views of personal data); automatic, bounced, looped and
    # duplicate mail with its raw files; the contact data of closed tickets.
    # Never under 6: network logs are kept at least six months (网络安全法
    # article 21), and nothing else goes sooner either.
    retain_audit_months: int = 12
    retain_mail_months: int = 6
    retain_contact_months: int = 24


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
    "smtp_require_tls": "bool",
    "mail_max_bytes": "int",
    "imap_port": "int",
    "imap_poll_seconds": "int",
    "outbound_smtp_port": "int",
    "trusted_proxies": "networks",
    "metrics_allow": "networks",
    "lookup_client_limits": "limits",
    "lookup_identity_limits": "limits",
    "mail_addresses": "list",
    "console_enabled": "bool",
    "console_idle_minutes": "int",
    "console_lockout_failures": "int",
    "console_lockout_minutes": "int",
    "mail_reopen_days": "int",
    "mail_ack_per_hour": "int",
    "retain_audit_months": "int",
    "retain_mail_months": "int",
    "retain_contact_months": "int",
}
# Settings that count something: zero or less would switch a protection off.
_POSITIVE = ("console_idle_minutes", "console_lockout_failures", "console_lockout_minutes",
             "mail_reopen_days", "imap_poll_seconds")
# Retention settings and their floor (see Settings).
RETENTION = ("retain_audit_months", "retain_mail_months", "retain_contact_months")
MIN_RETENTION_MONTHS = 6
IMAP_TLS = ("tls", "starttls", "plain")
OUTBOUND_SMTP_TLS = ("starttls", "tls", "none")
KNOWN = {f.name for f in fields(Settings)}
LOG_FORMATS = ("json", "text")
# The database URLs the service runs on: SQLite through the standard
# library, PostgreSQL through psycopg 3 (hotline.db turns postgresql:// into it).
DATABASE_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")


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
    for name in RETENTION:
        if getattr(settings, name) < MIN_RETENTION_MONTHS:
            raise ConfigError(f"XUEJI_{name.upper()}={getattr(settings, name)}: expected "
                              f"{MIN_RETENTION_MONTHS} or more (records are kept at least 6 months)")
    if settings.mail_ack_per_hour < 0:
        raise ConfigError(f"XUEJI_MAIL_ACK_PER_HOUR={settings.mail_ack_per_hour}: expected 0 or more")
    if not (settings.mail_receiving_unit.isascii() and settings.mail_receiving_unit.isdigit()):
        raise ConfigError(f"XUEJI_MAIL_RECEIVING_UNIT={settings.mail_receiving_unit!r}: expected a unit code")
    _check_imap(settings)
    _check_smtp_tls(settings)
    if settings.log_format not in (None, *LOG_FORMATS):
        raise ConfigError(f"XUEJI_LOG_FORMAT={settings.log_format!r}: expected json or text")
    if settings.database_url:
        check_database_url(settings.database_url)
    return settings


def _check_imap(settings: Settings) -> None:
    if settings.imap_tls not in IMAP_TLS:
        raise ConfigError(f"XUEJI_IMAP_TLS={settings.imap_tls!r}: expected one of {', '.join(IMAP_TLS)}")
    if settings.imap_port is not None and not 0 < settings.imap_port < 65536:
        raise ConfigError(f"XUEJI_IMAP_PORT={settings.imap_port}: expected a port number")
    # The folder is part of every message's key in received_mail (255 characters).
    if not settings.imap_folder or len(settings.imap_folder) > 200:
        raise ConfigError("XUEJI_IMAP_FOLDER: expected a folder name of at most 200 characters")
    if settings.imap_done_folder == settings.imap_folder:
        raise ConfigError("XUEJI_IMAP_DONE_FOLDER must differ from XUEJI_IMAP_FOLDER")


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine without asking DNS.

    >>> [is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "relay.moe.edu.cn", "10.0.0.1")]
    [True, True, True, False, False]
    """
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def outbound_smtp_tls(settings: Settings) -> str:
    """The TLS mode of the relay connection.

    Unset, it is ``starttls`` (required, certificate verified): the complaints
    we answer carry personal data, and a relay across the network must not see
    them travel in clear. A relay on loopback (the machine's own MTA, which then
    does its own TLS outward) gets ``none``: nothing leaves the machine, and such
    an MTA's certificate is usually a self-signed one that would not verify.

    >>> outbound_smtp_tls(Settings(outbound_smtp_host="smtp.moe.edu.cn"))
    'starttls'
    >>> outbound_smtp_tls(Settings(outbound_smtp_host="127.0.0.1"))
    'none'
    >>> outbound_smtp_tls(Settings(outbound_smtp_host="127.0.0.1", outbound_smtp_tls="starttls"))
    'starttls'
    """
    if settings.outbound_smtp_tls:
        return settings.outbound_smtp_tls
    return "none" if is_loopback(settings.outbound_smtp_host or "") else "starttls"


def _check_smtp_tls(settings: Settings) -> None:
    if bool(settings.smtp_tls_cert) != bool(settings.smtp_tls_key):
        raise ConfigError("XUEJI_SMTP_TLS_CERT and XUEJI_SMTP_TLS_KEY go together: set both or neither")
    if settings.smtp_require_tls and not settings.smtp_tls_cert:
        raise ConfigError("XUEJI_SMTP_REQUIRE_TLS needs XUEJI_SMTP_TLS_CERT and XUEJI_SMTP_TLS_KEY")
    if settings.outbound_smtp_tls and settings.outbound_smtp_tls not in OUTBOUND_SMTP_TLS:
        raise ConfigError(f"XUEJI_OUTBOUND_SMTP_TLS={settings.outbound_smtp_tls!r}: expected one of "
                          f"{', '.join(OUTBOUND_SMTP_TLS)}")
    if bool(settings.outbound_smtp_user) != bool(settings.outbound_smtp_password):
        raise ConfigError("XUEJI_OUTBOUND_SMTP_USER and XUEJI_OUTBOUND_SMTP_PASSWORD go together: "
                          "set both or neither")
    # A password sent in clear across the network is a password given away.
    if (settings.outbound_smtp_user and outbound_smtp_tls(settings) == "none"
            and not is_loopback(settings.outbound_smtp_host or "")):
        raise ConfigError("XUEJI_OUTBOUND_SMTP_USER: login to a relay that is not on loopback needs "
                          "XUEJI_OUTBOUND_SMTP_TLS=starttls or tls")


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


def mail_store_path(settings: Settings, instance_path: Path | str) -> Path:
    """The raw-mail store: ``XUEJI_MAIL_SPOOL``, or ``mail/`` in the instance folder.

    Defined here, not in the mail worker, because the console reads the
    quarantined raw mail from the same store (and hotline never imports
    mailintake).

    >>> mail_store_path(Settings(), "/srv/xueji/instance")
    PosixPath('/srv/xueji/instance/mail')
    >>> mail_store_path(Settings(mail_spool="/var/spool/xueji"), "/srv/xueji/instance")
    PosixPath('/var/spool/xueji')
    """
    return Path(settings.mail_spool or Path(instance_path) / "mail")


def check_database_url(url: str) -> None:
    """Refuse a database URL the service cannot run on, with one line that shows no password.

    >>> check_database_url("postgresql://xueji:secret@db.internal/xueji")
    >>> check_database_url("postgres://xueji:secret@db.internal/xueji")
    Traceback (most recent call last):
    ...
    hotline.config.ConfigError: XUEJI_DATABASE_URL=postgres://xueji:***@db.internal/xueji: \
unsupported scheme 'postgres'; expected postgresql://USER@HOST/DB or sqlite:///PATH
    >>> check_database_url("db.internal/xueji")
    Traceback (most recent call last):
    ...
    hotline.config.ConfigError: XUEJI_DATABASE_URL is not a database URL; expected \
postgresql://USER@HOST/DB or sqlite:///PATH
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    expected = "expected postgresql://USER@HOST/DB or sqlite:///PATH"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        # Not echoed: whatever it is, it may hold a password.
        raise ConfigError(f"XUEJI_DATABASE_URL is not a database URL; {expected}") from None
    if parsed.drivername not in DATABASE_SCHEMES:
        raise ConfigError(f"XUEJI_DATABASE_URL={parsed.render_as_string(hide_password=True)}: "
                          f"unsupported scheme {parsed.drivername!r}; {expected}")


def prometheus_multiproc_dir(environ: Mapping[str, str] | None = None) -> str | None:
    """prometheus-client's own ``PROMETHEUS_MULTIPROC_DIR``, when set (gunicorn's workers).

    The library reads it itself, when it is imported, to keep its counters
    in files every worker can read; /metrics reads it here to know that it
    must add up those files (hotline.metrics). Not an ``XUEJI_*`` setting,
    because the name is the library's.
    """
    environ = os.environ if environ is None else environ
    return environ.get("PROMETHEUS_MULTIPROC_DIR") or None
