"""``xueji mail imap --once`` as an operator runs it: TLS, and settings that cannot work.

Settings that cannot work (no such folder, a refused login, a certificate
that does not verify) end the command with one line and exit status 1; the
mailbox is left as it was, and nothing is recorded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from hotline.tickets.inbox import ReceivedMail
from mailintake.cli import mail
from tests.hotline.test_serve import free_port
from tests.mailintake.imap.conftest import DONE, SEEN, Box
from tests.mailintake.imap.test_poller import mail as letter
from tests.mailintake.sender.conftest import Sink


@pytest.fixture
def imap(app, imap_desk, keep_signals):
    """``xueji mail imap …`` in the test's transaction, with settings changed for the test."""
    def invoke(*args: str, **changes: object):
        app.config["XUEJI"] = dataclasses.replace(app.config["XUEJI"], **changes)
        return app.test_cli_runner().invoke(mail, ["imap", *args])
    return invoke


def recorded(imap_desk) -> int:
    return imap_desk.session.scalar(select(func.count()).select_from(ReceivedMail))


@pytest.mark.parametrize(("changes", "says"), [
    ({"imap_folder": "没有这个文件夹"}, "邮箱文件夹“没有这个文件夹”不存在或无法打开"),
    ({"imap_password": "not-the-password"}, "IMAP 登录被拒绝（[AUTHENTICATIONFAILED]"),
    ({"imap_done_folder": "没有这个文件夹"}, "处理后移入的邮箱文件夹“没有这个文件夹”不存在"),
    ({"imap_host": None}, "未配置 IMAP 邮箱：请设置 XUEJI_IMAP_HOST"),
    ({"imap_tls": "tls"}, "TLS 握手失败（WRONG_VERSION_NUMBER）：请检查 XUEJI_IMAP_TLS"),
    ({"imap_tls": "tls", "tls_port": True}, "的 TLS 证书无法验证（self-signed certificate）"),
])
def test_settings_that_cannot_work_end_the_command_with_one_line(imap, imap_desk, box: Box, changes, says):
    box.append([letter(1)])
    changes = dict(changes)  # the table is shared by both backends' runs
    if changes.pop("tls_port", False):
        changes["imap_port"] = box.server.tls_port
    result = imap("--once", **changes)
    assert result.exit_code == 1
    (line,) = result.output.splitlines()
    assert says in line, line
    assert box.flags() == {1: set()} and recorded(imap_desk) == 0


@pytest.mark.parametrize("tls", ["tls", "starttls"])
def test_mail_is_taken_over_tls_with_a_verified_certificate(imap, imap_desk, box: Box, tls, monkeypatch):
    # OpenSSL's own variable: how a service trusts a private certificate authority.
    monkeypatch.setenv("SSL_CERT_FILE", str(box.server.ca))
    box.append([letter(1)])
    port = box.server.tls_port if tls == "tls" else box.server.port
    result = imap("--once", imap_tls=tls, imap_port=port)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["处理完毕：新建工单 1 封"]
    assert box.flags() == {1: {DONE, SEEN}} and recorded(imap_desk) == 1


def test_a_second_run_says_nothing_was_waiting(imap, box: Box):
    box.append([letter(1)])
    assert imap("--once").exit_code == 0
    result = imap("--once")
    assert (result.exit_code, result.output) == (0, "处理完毕：没有待处理的邮件\n")


def test_a_setting_that_cannot_work_stops_the_long_running_poller_too(imap, box: Box):
    result = imap(imap_folder="没有这个文件夹")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Error: 邮箱文件夹“没有这个文件夹”不存在或无法打开（Mailbox doesn't exist，XUEJI_IMAP_FOLDER）"]


@pytest.fixture
def sink() -> Iterator[Sink]:
    """The relay: aiosmtpd on loopback, keeping what it accepts."""
    handler = Sink(port=free_port())
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    yield handler
    controller.stop()


def test_with_a_relay_the_acknowledgement_is_sent_before_the_command_ends(imap, box: Box, sink: Sink):
    box.append([letter(1)])
    result = imap("--once", outbound_smtp_host="127.0.0.1", outbound_smtp_port=sink.port)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["处理完毕：新建工单 1 封", "发信：已发送 1 封"]
    assert [received.rcpt_tos for received in sink.received] == [["p1@qq.com"]]
