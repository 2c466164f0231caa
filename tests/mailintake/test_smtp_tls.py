"""STARTTLS on the receiver: real SMTP conversations over TLS, a certificate made for the test."""

from __future__ import annotations

import os
import smtplib
import ssl
import subprocess
from email import policy
from pathlib import Path

import pytest

from mailintake.smtp import TlsSetupError, make_controller, server_context
from mailintake.spool import Spool
from tests.hotline.test_cli import XUEJI
from tests.hotline.test_serve import free_port
from tests.mailintake.test_smtp import MAILBOX, complaint


def certificate(folder: Path, name: str = "server") -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (openssl, as the IMAP tests do)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=60)
    return cert, key


def client_context(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


@pytest.fixture
def pem(tmp_path: Path) -> tuple[Path, Path]:
    return certificate(tmp_path / "tls")


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    return Spool(tmp_path / "mail")


def start(spool: Spool, pem: tuple[Path, Path], require_tls: bool):
    port = free_port()
    context = server_context(str(pem[0]), str(pem[1]))
    controller = make_controller(spool, [MAILBOX], "127.0.0.1", port, max_bytes=64 * 1024,
                                 tls_context=context, require_tls=require_tls)
    controller.start()
    return controller, port


@pytest.mark.parametrize("require_tls", [False, True])
def test_mail_delivered_over_starttls_ends_in_the_spool_marked_esmtps(spool, pem, require_tls):
    controller, port = start(spool, pem, require_tls)
    raw = complaint().as_bytes(policy=policy.SMTP)
    try:
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.ehlo("client.example")
            assert client.has_extn("starttls")
            client.starttls(context=client_context(pem[0]))
            client.ehlo("client.example")
            refused = client.sendmail("parent@example.com", [MAILBOX], raw)
            assert client.sock.version() is not None  # the data went through the TLS socket
    finally:
        controller.stop()
    assert refused == {}
    [stored] = spool.waiting()
    content = stored.read_bytes()
    assert b"\tby xueji with ESMTPS for <66119801@moe.edu.cn>" in content
    assert content.endswith(b"\r\n" + raw)


def test_with_tls_required_mail_before_starttls_gets_530_and_nothing_is_stored(spool, pem):
    controller, port = start(spool, pem, require_tls=True)
    try:
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.ehlo()
            code, reply = client.mail("parent@example.com")
    finally:
        controller.stop()
    assert (code, reply) == (530, b"Must issue a STARTTLS command first")
    assert spool.waiting() == []


def test_without_tls_required_plain_delivery_still_works_and_is_marked_esmtp(spool, pem):
    """Opportunistic: other MTAs that cannot do TLS still deliver."""
    controller, port = start(spool, pem, require_tls=False)
    try:
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.sendmail("parent@example.com", [MAILBOX], complaint().as_bytes(policy=policy.SMTP))
    finally:
        controller.stop()
    [stored] = spool.waiting()
    assert b"\tby xueji with ESMTP for" in stored.read_bytes()


def _missing(tmp_path, cert, key):
    return str(tmp_path / "nope.pem"), str(key), f"无法读取 {tmp_path / 'nope.pem'}（XUEJI_SMTP_TLS_CERT）："


def _folder_as_key(tmp_path, cert, key):
    return str(cert), str(tmp_path), f"无法读取 {tmp_path}（XUEJI_SMTP_TLS_KEY）："


def _mismatched(tmp_path, cert, key):
    _, other = certificate(tmp_path / "other")
    return (str(cert), str(other),
            f"TLS 私钥 {other} 与证书 {cert} 不匹配（XUEJI_SMTP_TLS_KEY、XUEJI_SMTP_TLS_CERT）")


def _not_pem(tmp_path, cert, key):
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(os.urandom(64))
    return str(garbage), str(key), f"无法加载 TLS 证书 {garbage} 或私钥 {key}（"


@pytest.mark.parametrize("case", [_missing, _folder_as_key, _mismatched, _not_pem],
                         ids=lambda case: case.__name__.strip("_"))
def test_a_certificate_or_key_that_cannot_be_used_is_one_line_naming_the_file(tmp_path, pem, case):
    cert, key, expected = case(tmp_path, *pem)
    with pytest.raises(TlsSetupError) as caught:
        server_context(cert, key)
    message = str(caught.value)
    assert message.startswith(expected) and "\n" not in message


# A file that cannot be used: exit status 1 when the receiver starts; settings
# that cannot work together: the configuration error of every command (status 2).
@pytest.mark.parametrize("settings, status, expected", [
    ({"XUEJI_SMTP_TLS_CERT": "{missing}", "XUEJI_SMTP_TLS_KEY": "{key}"}, 1,
     "Error: 无法读取 {missing}（XUEJI_SMTP_TLS_CERT）：No such file or directory\n"),
    ({"XUEJI_SMTP_TLS_CERT": "{cert}"}, 2,
     "配置错误：XUEJI_SMTP_TLS_CERT and XUEJI_SMTP_TLS_KEY go together: set both or neither\n"),
    ({"XUEJI_SMTP_REQUIRE_TLS": "true"}, 2,
     "配置错误：XUEJI_SMTP_REQUIRE_TLS needs XUEJI_SMTP_TLS_CERT and XUEJI_SMTP_TLS_KEY\n"),
])
def test_xueji_mail_smtp_with_an_unusable_tls_setting_says_so_in_one_line_before_listening(
        tmp_path, pem, settings, status, expected):
    port = free_port()
    values = {"missing": str(tmp_path / "missing.pem"), "cert": str(pem[0]), "key": str(pem[1])}
    environ = {k: v for k, v in os.environ.items() if not k.startswith("XUEJI_")}
    environ.update(XUEJI_INSTANCE_PATH=str(tmp_path / "instance"), XUEJI_MAIL_SPOOL=str(tmp_path / "spool"),
                   **{name: value.format(**values) for name, value in settings.items()})
    result = subprocess.run([XUEJI, "mail", "smtp", "--port", str(port)], env=environ, capture_output=True,
                            text=True, timeout=60)
    assert (result.returncode, result.stderr) == (status, expected.format(**values))
    with pytest.raises(ConnectionRefusedError):  # it never listened
        smtplib.SMTP("127.0.0.1", port, timeout=5)
