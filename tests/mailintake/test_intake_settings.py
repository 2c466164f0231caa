"""The mail pipeline's settings: read and checked in hotline.config, one line when wrong."""

from __future__ import annotations

import pytest

from hotline.app import create_app
from hotline.config import ConfigError, load_settings
from mailintake.cli import mail


def test_the_defaults_fit_the_ministrys_mailbox():
    settings = load_settings({})
    assert settings.mail_receiving_unit == "000000"
    assert (settings.mail_reopen_days, settings.mail_ack_per_hour) == (30, 10)


@pytest.mark.parametrize(("environ", "message"), [
    ({"XUEJI_MAIL_REOPEN_DAYS": "0"}, "XUEJI_MAIL_REOPEN_DAYS=0: expected 1 or more"),
    ({"XUEJI_MAIL_REOPEN_DAYS": "thirty"}, "whole number"),
    ({"XUEJI_MAIL_ACK_PER_HOUR": "-1"}, "XUEJI_MAIL_ACK_PER_HOUR=-1: expected 0 or more"),
    ({"XUEJI_MAIL_RECEIVING_UNIT": "教育部"}, "XUEJI_MAIL_RECEIVING_UNIT='教育部': expected a unit code"),
])
def test_a_wrong_mail_setting_is_a_clear_error(environ, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(environ)


def test_production_needs_the_reply_address_key_before_the_worker_starts(tmp_path):
    settings = load_settings({"XUEJI_ENV": "production", "XUEJI_SECRET_KEY": "s" * 40,
                              "XUEJI_ID_HASH_KEY": "k" * 40}, instance_path=str(tmp_path),
                             database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}")
    result = create_app(settings).test_cli_runner().invoke(mail, ["work", "--once"])
    assert result.exit_code == 1
    assert result.output == ("Error: 配置错误：XUEJI_MAIL_REPLY_KEY is not set; production needs it "
                             "(see README)\n")
    assert not (tmp_path / "mail_reply_key").exists()


def test_in_development_the_reply_address_key_is_generated_once_and_kept(app):
    from mailintake.config import MailConfig

    with app.app_context():
        first, second = MailConfig.from_app(app).reply_key, MailConfig.from_app(app).reply_key
    assert first == second and len(first) == 64
