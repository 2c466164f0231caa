"""A real SMTP conversation with the receiver: 250 only once the message is on disk."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailintake.smtp import make_controller
from mailintake.spool import Spool
from tests.hotline.test_cli import XUEJI
from tests.hotline.test_serve import free_port

MAILBOX = "66119801@moe.edu.cn"


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    return Spool(tmp_path / "mail")


@pytest.fixture
def receiver(spool: Spool):
    port = free_port()
    controller = make_controller(spool, [MAILBOX], "127.0.0.1", port, max_bytes=64 * 1024)
    controller.start()
    yield port
    controller.stop()


def complaint() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "家长 <parent@example.com>"
    message["To"] = MAILBOX
    message["Subject"] = "孩子转学后学籍迟迟没有转过来"
    message.set_content("学校标识码 2113000003，学生张堃，已等待两个月。" + "很长的一行" * 300,
                        charset="gb18030")
    return message


def test_a_message_for_the_mailbox_is_stored_whole_before_250(receiver, spool):
    raw = complaint().as_bytes(policy=policy.SMTP)
    with smtplib.SMTP("127.0.0.1", receiver) as client:
        client.ehlo("client.example")
        code, reply = client.docmd("MAIL FROM:<parent@example.com>")
        client.rcpt(MAILBOX)
        code, reply = client.data(raw)
    assert code == 250 and reply.startswith(b"2.0.0 OK queued as ")
    [stored] = spool.waiting()
    content = stored.read_bytes()
    assert content.startswith(b"Return-Path: <parent@example.com>\r\nReceived: from client.example")
    assert content.endswith(b"\r\n" + raw)  # byte for byte, after our trace headers
    assert list((spool.root / "tmp").iterdir()) == []


def test_a_recipient_other_than_the_mailbox_is_refused_in_rcpt(receiver, spool):
    with smtplib.SMTP("127.0.0.1", receiver) as client:
        client.ehlo()
        client.mail("parent@example.com")
        code, reply = client.rcpt("someone@moe.edu.cn")
    assert (code, reply) == (550, b"5.1.1 <someone@moe.edu.cn>: no such mailbox here")
    assert spool.waiting() == []


def test_a_plus_address_of_the_mailbox_is_accepted_for_the_pipeline_to_check(receiver, spool):
    local, domain = MAILBOX.split("@")
    with smtplib.SMTP("127.0.0.1", receiver) as client:
        client.ehlo()
        client.mail("parent@example.com")
        accepted = client.rcpt(f"{local}+t2026-000123.0123456789@{domain}")
        refused = client.rcpt(f"someone+t2026-000123.0123456789@{domain}")
    assert accepted[0] == 250 and refused[0] == 550


def test_an_oversized_message_gets_552_and_is_not_stored(receiver, spool):
    message = complaint()
    message.add_attachment(os.urandom(100 * 1024), maintype="application", subtype="pdf",
                           filename="材料.pdf")
    raw = message.as_bytes(policy=policy.SMTP)
    # A client that declares the size is refused up front ...
    with smtplib.SMTP("127.0.0.1", receiver) as client, pytest.raises(
            smtplib.SMTPSenderRefused) as caught:
        client.sendmail("parent@example.com", [MAILBOX], raw)
    assert caught.value.smtp_code == 552
    # ... and one that does not, after the data.
    with smtplib.SMTP("127.0.0.1", receiver) as client:
        client.ehlo()
        client.mail("parent@example.com")
        client.rcpt(MAILBOX)
        code, _reply = client.data(raw)
    assert code == 552
    assert spool.waiting() == []


def test_a_store_that_cannot_write_answers_451_so_the_sender_retries(receiver, spool):
    (spool.root / "tmp").rename(spool.root / "tmp-gone")
    with smtplib.SMTP("127.0.0.1", receiver) as client, pytest.raises(
            smtplib.SMTPDataError) as caught:
        client.sendmail("parent@example.com", [MAILBOX],
                                   complaint().as_bytes(policy=policy.SMTP))
    assert caught.value.smtp_code == 451
    assert spool.waiting() == []


def test_xueji_mail_smtp_receives_and_stops_on_sigterm(tmp_path):
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("XUEJI_")}
    environ.update(XUEJI_INSTANCE_PATH=str(tmp_path / "instance"),
                   XUEJI_MAIL_SPOOL=str(tmp_path / "spool"))
    worker = subprocess.Popen([XUEJI, "mail", "smtp", "--port", str(port)], env=environ,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
                    client.sendmail("parent@example.com", [MAILBOX],
                                   complaint().as_bytes(policy=policy.SMTP))
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, worker.stderr
                time.sleep(0.2)
        assert len(Spool(tmp_path / "spool").waiting()) == 1
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=15)
    assert worker.returncode == 0, err
    assert f"smtp://127.0.0.1:{port}" in out
