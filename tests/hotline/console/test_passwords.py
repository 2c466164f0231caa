"""The password policy (等保 level 3 style), one row per rule, and the configuration of the console."""

from __future__ import annotations

import pytest

from hotline.config import ConfigError, load_settings
from hotline.console.passwords import PasswordError, check, problems

POLICY = [
    # password, user name, the refusal (None: accepted)
    ("Xy7#kLm2pQ", "zhangsan", None),
    ("xy7kflm2pq9", "zhangsan", "至少 3 类"),  # two classes
    ("XY7#KLM2PQ", "zhangsan", None),  # upper, digit, symbol
    ("Xy7#kLm2p", "zhangsan", "至少需要 10 个字符"),
    ("Xy7#kLm2pQ" * 13, "zhangsan", "不能超过 128 个字符"),
    ("ZhangSan#2026", "zhangsan", "不能包含用户名"),
    ("admin@123456", "lisi", "过于常见"),  # case-insensitive
    ("1qaz@WSX3edc", "lisi", "过于常见"),
    ("学籍管理Ab12345", "lisi", None),  # Chinese characters count as symbols
    ("Xy7#kLm2pQ\x00", "lisi", "控制字符"),
    ("Abcdefghij", "lisi", "至少 3 类"),
    ("abc1234567!", "ab", None),  # a user name under 3 characters is not looked for
]


@pytest.mark.parametrize(("password", "username", "refusal"), POLICY)
def test_the_password_policy(password, username, refusal):
    found = problems(password, username)
    if refusal is None:
        assert found == []
        check(password, username)
    else:
        assert any(refusal in problem for problem in found), found
        with pytest.raises(PasswordError):
            check(password, username)


def test_every_problem_is_reported_at_once():
    assert len(problems("zhangsan", "zhangsan")) == 3  # too short, one class, contains the name


@pytest.mark.parametrize(("variable", "value", "setting", "expected"), [
    ("XUEJI_CONSOLE_ENABLED", "false", "console_enabled", False),
    ("XUEJI_CONSOLE_ENABLED", "yes", "console_enabled", True),
    ("XUEJI_CONSOLE_IDLE_MINUTES", "10", "console_idle_minutes", 10),
    ("XUEJI_CONSOLE_LOCKOUT_FAILURES", "3", "console_lockout_failures", 3),
    ("XUEJI_CONSOLE_LOCKOUT_MINUTES", "60", "console_lockout_minutes", 60),
])
def test_console_settings_are_read_from_the_environment(variable, value, setting, expected):
    assert getattr(load_settings({variable: value}), setting) == expected


def test_console_settings_default_to_the_documented_values():
    settings = load_settings({})
    assert (settings.console_enabled, settings.console_idle_minutes, settings.console_lockout_failures,
            settings.console_lockout_minutes) == (True, 30, 5, 15)


@pytest.mark.parametrize(("variable", "value"), [
    ("XUEJI_CONSOLE_ENABLED", "maybe"),
    ("XUEJI_CONSOLE_IDLE_MINUTES", "0"),
    ("XUEJI_CONSOLE_IDLE_MINUTES", "half an hour"),
    ("XUEJI_CONSOLE_LOCKOUT_FAILURES", "-1"),
    ("XUEJI_CONSOLE_LOCKOUT_MINUTES", "0"),
])
def test_a_console_setting_that_cannot_work_is_refused(variable, value):
    with pytest.raises(ConfigError, match=variable):
        load_settings({variable: value})
