"""TLS and login to the relay: a real aiosmtpd relay with STARTTLS (or implicit TLS) and AUTH.

The relay's certificate is made for the test and trusted through OpenSSL's
SSL_CERT_FILE, as a private authority would be in production. A relay
problem (TLS, login) is recorded on the row and retried with backoff; it
never fails the message at once, and mail never leaves in clear when TLS
was asked for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from hotline.config import ConfigError, load_settings
from mailintake.relay import Relay
from mailintake.sender import FIRST_RETRY
from mailintake.smtp import server_context
from tests.hotline.test_serve import free_port
from tests.mailintake.sender.conftest import Sink, T, rows, send
from tests.mailintake.test_smtp_tls import certificate

USER, PASSWORD = "66119801@moe.edu.cn", "relay-secret"


@dataclass
class SecureSink(Sink):
    """The relay sink, also noting how each message came: over TLS or not, and who logged in."""

    logins: list[str] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                     auth_data: object) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            USER.encode(), PASSWORD.encode())
        if ok:
            self.logins.append(USER)
        return AuthResult(success=ok, handled=False)  # a refusal is answered 535

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.tls.append(server.transport.get_extra_info("sslcontext") is not None)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def pem(tmp_path):
    return certificate(tmp_path / "relay-tls", "relay")


@pytest.fixture
def trusted(pem, monkeypatch):
    """Our side trusts the relay's certificate, as it would a private authority's."""
    monkeypatch.setenv("SSL_CERT_FILE", str(pem[0]))


@pytest.fixture
def secure_relay(pem) -> Iterator[Callable[[str], SecureSink]]:
    """Start a relay that demands ``starttls`` (STARTTLS before MAIL, AUTH only over TLS,
    and a login before MAIL) or speaks implicit ``tls``."""
    controllers: list[Controller] = []

    def start(mode: str) -> SecureSink:
        handler = SecureSink(port=free_port())
        context = server_context(str(pem[0]), str(pem[1]))
        # aiosmtpd counts only STARTTLS as TLS for AUTH: over implicit TLS it offers
        # AUTH only when told not to require TLS, and then must not require AUTH.
        tls = ({"tls_context": context, "require_starttls": True, "auth_required": True}
               if mode == "starttls" else {"ssl_context": context, "auth_require_tls": False})
        controller = Controller(handler, hostname="127.0.0.1", port=handler.port, enable_SMTPUTF8=True,
                                authenticator=handler.authenticate, **tls)
        controller.start()
        controllers.append(controller)
        return handler
    yield start
    for controller in controllers:
        controller.stop()


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_mail_goes_out_encrypted_and_logged_in(desk, secure_relay, trusted, mode):
    relay_sink = secure_relay(mode)
    relay = Relay("127.0.0.1", relay_sink.port, timeout=5.0, tls=mode, user=USER, password=PASSWORD)
    assert send(desk, relay) == {"sent": 1}
    [ack] = rows(desk)
    assert (ack.status, ack.attempts, ack.last_error) == ("sent", 1, None)
    [received] = relay_sink.received
    assert received.message["Message-ID"] == ack.message_id
    assert relay_sink.logins == [USER] and relay_sink.tls == [True]


def _untrusted(relay_sink, sink, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE")
    return (Relay("127.0.0.1", relay_sink.port, 5.0, "starttls", USER, PASSWORD),
            f"发信服务器 127.0.0.1:{relay_sink.port} 的 TLS 证书无法验证（self")


def _no_starttls(relay_sink, sink, monkeypatch):
    return (Relay("127.0.0.1", sink.port, 5.0, "starttls"),
            f"发信服务器 127.0.0.1:{sink.port} 不支持 STARTTLS（XUEJI_OUTBOUND_SMTP_TLS=starttls），"
            "邮件未以明文发出")


def _wrong_password(relay_sink, sink, monkeypatch):
    return (Relay("127.0.0.1", relay_sink.port, 5.0, "starttls", USER, "wrong"),
            f"发信服务器 127.0.0.1:{relay_sink.port} 拒绝登录"
            "（535 5.7.8 Authentication credentials invalid）："
            "请检查 XUEJI_OUTBOUND_SMTP_USER 和 XUEJI_OUTBOUND_SMTP_PASSWORD")


def _login_in_clear(relay_sink, sink, monkeypatch):
    return (Relay("127.0.0.1", relay_sink.port, 5.0, "none", USER, PASSWORD),
            f"发信服务器 127.0.0.1:{relay_sink.port} 不接受登录（未提供 AUTH）")


def _implicit_tls_on_a_starttls_port(relay_sink, sink, monkeypatch):
    return (Relay("127.0.0.1", relay_sink.port, 5.0, "tls", USER, PASSWORD),
            f"与发信服务器 127.0.0.1:{relay_sink.port} 的 TLS 握手失败（")


@pytest.mark.parametrize("case", [_untrusted, _no_starttls, _wrong_password, _login_in_clear,
                                  _implicit_tls_on_a_starttls_port],
                         ids=lambda case: case.__name__.strip("_"))
def test_a_tls_or_login_failure_is_the_relays_problem_recorded_and_retried(
        desk, secure_relay, sink, trusted, monkeypatch, case):
    relay_sink = secure_relay("starttls")
    relay, expected = case(relay_sink, sink, monkeypatch)
    assert send(desk, relay) == {"retry": 1}
    [ack] = rows(desk)
    assert (ack.status, ack.attempts, ack.next_attempt_at) == ("queued", 1, T + FIRST_RETRY)
    assert ack.last_error.startswith(expected)
    assert desk.events(desk.ticket_, "undeliverable") == []
    assert relay_sink.received == [] and sink.received == []  # nothing left in clear or unauthenticated


def test_once_the_relay_problem_is_fixed_the_next_attempt_delivers(desk, secure_relay, trusted):
    relay_sink = secure_relay("starttls")
    wrong = Relay("127.0.0.1", relay_sink.port, timeout=5.0, tls="starttls", user=USER, password="wrong")
    assert send(desk, wrong) == {"retry": 1}
    assert send(desk, dataclasses.replace(wrong, password=PASSWORD), T + FIRST_RETRY) == {"sent": 1}
    [ack] = rows(desk)
    assert (ack.status, ack.attempts, ack.last_error) == ("sent", 2, None)
    assert relay_sink.logins == [USER]


@pytest.mark.parametrize("environ, expected", [
    ({"XUEJI_OUTBOUND_SMTP_HOST": "smtp.moe.edu.cn"}, ("starttls", None)),
    ({"XUEJI_OUTBOUND_SMTP_HOST": "127.0.0.1"}, ("none", None)),
    ({"XUEJI_OUTBOUND_SMTP_HOST": "localhost", "XUEJI_OUTBOUND_SMTP_TLS": "starttls"}, ("starttls", None)),
    ({"XUEJI_OUTBOUND_SMTP_HOST": "smtp.moe.edu.cn", "XUEJI_OUTBOUND_SMTP_TLS": "tls",
      "XUEJI_OUTBOUND_SMTP_PORT": "465", "XUEJI_OUTBOUND_SMTP_USER": USER,
      "XUEJI_OUTBOUND_SMTP_PASSWORD": PASSWORD}, ("tls", USER)),
    # The machine's own MTA: a login in clear does not leave the machine.
    ({"XUEJI_OUTBOUND_SMTP_HOST": "127.0.0.1", "XUEJI_OUTBOUND_SMTP_USER": USER,
      "XUEJI_OUTBOUND_SMTP_PASSWORD": PASSWORD}, ("none", USER)),
])
def test_the_relay_is_verified_starttls_by_default_except_on_loopback(app, environ, expected):
    app.config["XUEJI"] = load_settings(environ)
    relay = Relay.from_app(app)
    assert (relay.tls, relay.user) == expected


@pytest.mark.parametrize("environ, error", [
    ({"XUEJI_OUTBOUND_SMTP_TLS": "ssl"},
     "XUEJI_OUTBOUND_SMTP_TLS='ssl': expected one of starttls, tls, none"),
    ({"XUEJI_OUTBOUND_SMTP_USER": USER},
     "XUEJI_OUTBOUND_SMTP_USER and XUEJI_OUTBOUND_SMTP_PASSWORD go together: set both or neither"),
    ({"XUEJI_OUTBOUND_SMTP_PASSWORD": PASSWORD},
     "XUEJI_OUTBOUND_SMTP_USER and XUEJI_OUTBOUND_SMTP_PASSWORD go together: set both or neither"),
    ({"XUEJI_OUTBOUND_SMTP_HOST": "smtp.moe.edu.cn", "XUEJI_OUTBOUND_SMTP_TLS": "none",
      "XUEJI_OUTBOUND_SMTP_USER": USER, "XUEJI_OUTBOUND_SMTP_PASSWORD": PASSWORD},
     "XUEJI_OUTBOUND_SMTP_USER: login to a relay that is not on loopback needs "
     "XUEJI_OUTBOUND_SMTP_TLS=starttls or tls"),
])
def test_a_relay_setting_that_cannot_work_is_refused_when_the_settings_load(environ, error):
    with pytest.raises(ConfigError) as caught:
        load_settings(environ)
    assert str(caught.value) == error
