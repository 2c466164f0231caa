"""The IMAP poller's settings: validated when read, the port following the TLS mode."""

from __future__ import annotations

import pytest

from hotline.config import ConfigError, load_settings
from mailintake.imap import ImapSettings, MailboxError

MAILBOX = {"XUEJI_IMAP_HOST": "imap.moe.edu.cn", "XUEJI_IMAP_USER": "66119801@moe.edu.cn",
           "XUEJI_IMAP_PASSWORD": "secret"}


@pytest.mark.parametrize(("environ", "says"), [
    ({"XUEJI_IMAP_TLS": "ssl"}, "XUEJI_IMAP_TLS='ssl': expected one of tls, starttls, plain"),
    ({"XUEJI_IMAP_POLL_SECONDS": "0"}, "XUEJI_IMAP_POLL_SECONDS=0: expected 1 or more"),
    ({"XUEJI_IMAP_PORT": "99999"}, "XUEJI_IMAP_PORT=99999: expected a port number"),
    ({"XUEJI_IMAP_FOLDER": "x" * 201}, "XUEJI_IMAP_FOLDER: expected a folder name of at most 200 characters"),
    ({"XUEJI_IMAP_DONE_FOLDER": "INBOX"}, "XUEJI_IMAP_DONE_FOLDER must differ from XUEJI_IMAP_FOLDER"),
])
def test_an_imap_setting_that_cannot_work_is_refused_when_read(environ, says):
    with pytest.raises(ConfigError) as refused:
        load_settings(environ)
    assert str(refused.value) == says


@pytest.mark.parametrize(("environ", "port", "address"), [
    ({}, 993, "imaps://imap.moe.edu.cn:993/INBOX"),
    ({"XUEJI_IMAP_TLS": "starttls"}, 143, "imap://imap.moe.edu.cn:143/INBOX"),
    ({"XUEJI_IMAP_TLS": "plain", "XUEJI_IMAP_PORT": "1143"}, 1143, "imap://imap.moe.edu.cn:1143/INBOX"),
])
def test_the_port_defaults_to_the_one_of_the_tls_mode(environ, port, address):
    imap = ImapSettings.from_settings(load_settings({**MAILBOX, **environ}))
    assert (imap.port, imap.address) == (port, address)


def test_the_password_is_never_shown():
    imap = ImapSettings.from_settings(load_settings(MAILBOX))
    assert "secret" not in repr(imap)


def test_a_mailbox_without_its_login_is_named_in_one_line():
    with pytest.raises(MailboxError) as missing:
        ImapSettings.from_settings(load_settings({"XUEJI_IMAP_HOST": "imap.moe.edu.cn"}))
    assert str(missing.value) == "未配置 IMAP 邮箱：请设置 XUEJI_IMAP_USER、XUEJI_IMAP_PASSWORD"
