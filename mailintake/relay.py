"""The connection to the SMTP relay our mail leaves through: TLS and login.

``XUEJI_OUTBOUND_SMTP_TLS`` chooses ``starttls`` (the default for a relay
across the network: submission relays of government mail systems announce
STARTTLS on port 25 or 587), ``tls`` (implicit TLS, port 465) or ``none``
(the default only for a relay on loopback; see
:func:`hotline.config.outbound_smtp_tls`). STARTTLS is required once asked
for: a relay that does not offer it is an error, never a silent fall-back to
clear text. Certificates are verified against the system's authorities; a
private authority is trusted through OpenSSL's own ``SSL_CERT_FILE``, as the
IMAP poller does.

Whatever goes wrong while connecting, starting TLS or logging in is the
relay's problem, not the message's: it raises :class:`RelayError`, and the
sender records it on the row being tried and retries with backoff.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass

from flask import Flask

from hotline.config import outbound_smtp_tls
from hotline.tickets.outbox import one_line

SMTP_TIMEOUT = 60.0


class RelayError(Exception):
    """The relay cannot take mail now (TLS or login failed): one line, in Chinese, for the row."""


@dataclass(frozen=True)
class Relay:
    """The SMTP relay (``XUEJI_OUTBOUND_SMTP_*``)."""

    host: str
    port: int
    timeout: float = SMTP_TIMEOUT
    tls: str = "starttls"
    user: str | None = None
    password: str | None = None

    @classmethod
    def from_app(cls, app: Flask) -> Relay | None:
        """The configured relay, or None when none is configured (nothing is sent)."""
        settings = app.config["XUEJI"]
        if not settings.outbound_smtp_host:
            return None
        return cls(settings.outbound_smtp_host, settings.outbound_smtp_port, tls=outbound_smtp_tls(settings),
                   user=settings.outbound_smtp_user or None, password=settings.outbound_smtp_password or None)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def _reply(error: smtplib.SMTPResponseException) -> str:
    text = error.smtp_error
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return one_line(f"{error.smtp_code} {text}", 300)


def connect(relay: Relay, local_hostname: str | None = None) -> smtplib.SMTP:
    """A connection ready for MAIL: greeted, TLS started and logged in as configured.

    Raises :class:`RelayError` for TLS and login failures; connection errors
    (refused, timeouts, a relay greeting with an error) come through as
    smtplib or socket errors, as before TLS existed.
    """
    context = ssl.create_default_context()
    client: smtplib.SMTP | None = None
    try:
        if relay.tls == "tls":
            client = smtplib.SMTP_SSL(relay.host, relay.port, timeout=relay.timeout,
                                      local_hostname=local_hostname, context=context)
        else:
            client = smtplib.SMTP(relay.host, relay.port, timeout=relay.timeout,
                                  local_hostname=local_hostname)
        client.ehlo_or_helo_if_needed()
        if relay.tls == "starttls":
            _starttls(client, relay, context)
        if relay.user:
            _login(client, relay)
        return client
    except ssl.SSLCertVerificationError as error:
        _drop(client)
        raise RelayError(f"发信服务器 {relay.address} 的 TLS 证书无法验证"
                         f"（{error.verify_message}）") from None
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
        _drop(client)
        raise  # the relay hung up in the handshake: a connection error like any other
    except ssl.SSLError as error:
        _drop(client)
        raise RelayError(f"与发信服务器 {relay.address} 的 TLS 握手失败（{error.reason}）："
                         "请检查 XUEJI_OUTBOUND_SMTP_TLS 和 XUEJI_OUTBOUND_SMTP_PORT") from None
    except BaseException:
        _drop(client)
        raise


def _starttls(client: smtplib.SMTP, relay: Relay, context: ssl.SSLContext) -> None:
    if not client.has_extn("starttls"):
        raise RelayError(f"发信服务器 {relay.address} 不支持 STARTTLS（XUEJI_OUTBOUND_SMTP_TLS=starttls），"
                         "邮件未以明文发出")
    try:
        client.starttls(context=context)
    except smtplib.SMTPResponseException as error:
        raise RelayError(f"发信服务器 {relay.address} 拒绝 STARTTLS（{_reply(error)}）") from None
    client.ehlo()  # RFC 3207 section 4.2: forget what was said before TLS


def _login(client: smtplib.SMTP, relay: Relay) -> None:
    if not client.has_extn("auth"):
        raise RelayError(f"发信服务器 {relay.address} 不接受登录（未提供 AUTH）：请检查 "
                         "XUEJI_OUTBOUND_SMTP_USER，或改用 XUEJI_OUTBOUND_SMTP_TLS=starttls")
    try:
        client.login(relay.user or "", relay.password or "")
    except smtplib.SMTPAuthenticationError as error:
        raise RelayError(f"发信服务器 {relay.address} 拒绝登录（{_reply(error)}）：请检查 "
                         "XUEJI_OUTBOUND_SMTP_USER 和 XUEJI_OUTBOUND_SMTP_PASSWORD") from None
    except smtplib.SMTPResponseException as error:
        raise RelayError(f"发信服务器 {relay.address} 登录失败（{_reply(error)}）") from None
    except smtplib.SMTPServerDisconnected:
        raise  # a connection error like any other
    except smtplib.SMTPException:
        # smtplib's "No suitable authentication method found."
        raise RelayError(f"发信服务器 {relay.address} 没有可用的登录方式"
                         "（本系统支持 PLAIN、LOGIN、CRAM-MD5）") from None


def _drop(client: smtplib.SMTP | None) -> None:
    if client is not None:
        client.close()


def close(client: smtplib.SMTP | None) -> None:
    """End a connection politely (QUIT), or just drop it when the relay is gone."""
    if client is None:
        return
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
