"""The SMTP receiver for the service mailbox (aiosmtpd).

Like Mailman's LMTP runner and Zulip's gateway, the front end does almost
nothing: it refuses recipients that are not the mailbox in ``RCPT`` with an
exact reply, and in ``DATA`` it only stores the raw message durably before
answering 250 — so a crash after 250 loses nothing. Parsing and routing
happen later, from the spool.

STARTTLS (RFC 3207) is offered when a certificate is configured
(``XUEJI_SMTP_TLS_CERT``/``_KEY``); with ``XUEJI_SMTP_REQUIRE_TLS`` a client
must start TLS before MAIL (530 otherwise). The certificate is loaded before
the receiver listens, so a wrong one ends the start with one line.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import ssl
from collections.abc import Iterable

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from mailintake.spool import Spool

log = logging.getLogger(__name__)

ERR_451 = "451 4.3.0 Temporary failure storing the message, please try again later"
ERR_550 = "550 5.1.1 {address}: no such mailbox here"
# Real clients (Outlook, some phones) send lines far longer than RFC 5321's
# 1,000 octets; refusing them would bounce real complaints.
LINE_LENGTH_LIMIT = 64 * 1024


class TlsSetupError(Exception):
    """The receiver's certificate or key cannot be used: one line for the operator."""


def server_context(cert: str, key: str) -> ssl.SSLContext:
    """The receiver's TLS context, or :class:`TlsSetupError` naming the file and what is wrong."""
    for path, setting in ((cert, "XUEJI_SMTP_TLS_CERT"), (key, "XUEJI_SMTP_TLS_KEY")):
        try:
            with open(path, "rb"):
                pass
        except OSError as error:
            why = error.strerror or type(error).__name__
            raise TlsSetupError(f"无法读取 {path}（{setting}）：{why}") from None
    # Clients are not asked for certificates (the default for Purpose.CLIENT_AUTH).
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as error:
        if error.reason == "KEY_VALUES_MISMATCH":
            raise TlsSetupError(f"TLS 私钥 {key} 与证书 {cert} 不匹配"
                                "（XUEJI_SMTP_TLS_KEY、XUEJI_SMTP_TLS_CERT）") from None
        raise TlsSetupError(f"无法加载 TLS 证书 {cert} 或私钥 {key}（{error.reason or error}）："
                            "需要 PEM 格式、未加密的私钥") from None
    return context


class MailboxHandler:
    def __init__(self, spool: Spool, addresses: Iterable[str], hostname: str = "xueji"):
        self.spool = spool
        self.addresses = {address.lower() for address in addresses}
        self.hostname = hostname

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        # A plus-address of our mailbox (66119801+t2026-000123.<hmac>@...) is a
        # signed per-ticket reply address: accepted here, its signature is
        # checked by the pipeline (a tampered one just opens a new ticket).
        local, _, domain = address.lower().rpartition("@")
        if f"{local.split('+', 1)[0]}@{domain}" not in self.addresses:
            return ERR_550.format(address=f"<{address}>")
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        # RFC 5321 4.4: the receiving server adds its trace; we are the final
        # delivery, so the envelope sender becomes Return-Path.
        stamp = datetime.datetime.now(datetime.UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        peer = session.peer[0] if session.peer else "unknown"
        trace = (f"Return-Path: <{envelope.mail_from or ''}>\r\n"
                 f"Received: from {session.host_name or 'unknown'} ([{peer}])\r\n"
                 f"\tby {self.hostname} with {protocol(session)}"
                 f" for <{envelope.rcpt_tos[0]}>; {stamp}\r\n").encode("utf-8", "replace")
        try:
            name = await asyncio.get_running_loop().run_in_executor(
                None, self.spool.store, trace + content)
        except OSError:
            log.exception("could not store an incoming message")
            return ERR_451
        log.info("stored message %s (%d bytes)", name, len(content))
        return f"250 2.0.0 OK queued as {name.rsplit('.', 1)[-1]}"


def protocol(session: Session) -> str:
    """The ``with`` word of our Received header (RFC 3848: ESMTPS when TLS was started)."""
    return ("E" if session.extended_smtp else "") + "SMTP" + ("S" if session.ssl is not None else "")


class _SMTP(SMTP):
    line_length_limit = LINE_LENGTH_LIMIT


class MailboxController(Controller):
    def factory(self) -> SMTP:
        return _SMTP(self.handler, **self.SMTP_kwargs)


def make_controller(spool: Spool, addresses: Iterable[str], host: str, port: int, max_bytes: int,
                    tls_context: ssl.SSLContext | None = None,
                    require_tls: bool = False) -> MailboxController:
    """The receiver, not yet started; STARTTLS offered when ``tls_context`` is given."""
    return MailboxController(MailboxHandler(spool, addresses), hostname=host, port=port,
                             data_size_limit=max_bytes, server_hostname="xueji",
                             tls_context=tls_context,
                             require_starttls=require_tls and tls_context is not None)
