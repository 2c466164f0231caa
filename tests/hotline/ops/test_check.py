"""``xueji check``: one line per check, exit 1 when something is wrong, ``--json``.

Issue 7 item 2: "`xueji check` (configuration, database reachable and
migrated, Redis reachable, calendar has next year when due, mail settings)
with a non-zero exit and the reason when something is wrong".
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from hotline.cli import cli
from tests.conftest import ID_KEY
from tests.hotline.ops.conftest import free_port
from tests.hotline.test_calendar_cli import LAST

ALL = ["config", "database", "schema", "ratelimit_storage", "calendar", "mail", "mail_store"]
SECRETS = {"XUEJI_SECRET_KEY": "s" * 32, "XUEJI_ID_HASH_KEY": ID_KEY}


@pytest.fixture
def check(own_database, tmp_path):
    """Run ``xueji check --json [--today D]`` with these settings on the module's database."""
    def run(today: str = f"{LAST}-06-01", **settings: str) -> tuple[int, dict[str, tuple[str, str]], dict]:
        env = {"XUEJI_DATABASE_URL": own_database, "XUEJI_INSTANCE_PATH": str(tmp_path / "instance")}
        env.update(settings)
        result = CliRunner().invoke(cli, ["check", "--json", "--today", today], env=env)
        report = json.loads(result.stdout)
        return result.exit_code, {c["name"]: (c["status"], c["detail"]) for c in report["checks"]}, report
    return run


@pytest.fixture
def listening() -> Iterator[int]:
    """A port something accepts connections on (a relay, as far as a connection goes)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        yield server.getsockname()[1]


def test_a_healthy_machine_passes_every_check(check):
    code, checks, report = check()
    assert code == 0 and report["healthy"] is True
    assert list(checks) == ALL
    assert {status for status, _ in checks.values()} == {"ok"}


def test_each_check_is_one_line_and_the_verdict_closes(own_database, tmp_path):
    env = {"XUEJI_DATABASE_URL": own_database, "XUEJI_INSTANCE_PATH": str(tmp_path / "instance"),
           "XUEJI_MAIL_RECEIVING_UNIT": "999999"}
    result = CliRunner().invoke(cli, ["check", "--today", f"{LAST}-06-01"], env=env)
    lines = result.stdout.splitlines()
    assert result.exit_code == 1 and len(lines) == len(ALL) + 1
    assert lines[0] == "✓ 配置：配置有效（XUEJI_ENV=development）"
    assert "✗ 邮件设置：收件单位 999999 不存在（XUEJI_MAIL_RECEIVING_UNIT）" in lines
    assert lines[-1] == "检查未通过：1 项异常。"


# (settings, the check, its status, words of its detail)
PROBLEMS = [
    ({"XUEJI_ENV": "production"}, "config", "fail", "XUEJI_SECRET_KEY is not set"),
    ({"XUEJI_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:{closed}"}, "ratelimit_storage", "fail",
     "Redis）无法连接"),
    ({"XUEJI_MAIL_RECEIVING_UNIT": "999999"}, "mail", "fail", "收件单位 999999 不存在"),
    ({"XUEJI_IMAP_HOST": "127.0.0.1", "XUEJI_IMAP_USER": "box"}, "mail", "fail", "缺少 XUEJI_IMAP_PASSWORD"),
    ({"XUEJI_OUTBOUND_SMTP_HOST": "127.0.0.1", "XUEJI_OUTBOUND_SMTP_PORT": "{closed}"}, "mail", "fail",
     "无法连接"),
    ({"XUEJI_OUTBOUND_SMTP_HOST": "relay..example"}, "mail", "fail", "无法解析"),
    ({"XUEJI_MAIL_SPOOL": "{file}"}, "mail_store", "fail", "不是目录"),
]


@pytest.mark.parametrize(("settings", "name", "status", "words"), PROBLEMS)
def test_a_problem_fails_its_check_with_the_reason(check, tmp_path, settings, name, status, words):
    (tmp_path / "a-file").write_text("")
    values = {"closed": free_port(), "file": tmp_path / "a-file"}
    code, checks, report = check(**{key: value.format(**values) for key, value in settings.items()})
    assert code == 1 and report["healthy"] is False
    assert checks[name][0] == status and words in checks[name][1], checks[name]
    failed = [n for n, (s, _) in checks.items() if s == "fail"]
    assert failed == [name]
    if name == "config":  # nothing else can be checked without settings
        assert {s for n, (s, _) in checks.items() if n != "config"} == {"skip"}


def test_an_unreachable_or_empty_database_fails_and_skips_what_needs_it(check, tmp_path, backend):
    if backend == "postgresql":
        gone = f"postgresql://postgres:s3cret@127.0.0.1:{free_port()}/xueji"
    else:
        gone = f"sqlite:///{tmp_path / 'gone' / 'x.sqlite3'}"
    code, checks, report = check(XUEJI_DATABASE_URL=gone)
    assert code == 1
    assert checks["database"][0] == "fail" and checks["database"][1].startswith("数据库无法连接")
    assert checks["schema"][0] == checks["calendar"][0] == checks["mail"][0] == "skip"
    assert "s3cret" not in json.dumps(report)
    code, checks, _ = check(XUEJI_DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert code == 1 and checks["database"][0] == "ok"
    assert checks["schema"] == ("fail", "数据库尚未初始化，请运行 xueji init")


def test_redis_that_answers_passes(check, redis_url):
    code, checks, _ = check(XUEJI_RATELIMIT_STORAGE_URI=redis_url)
    assert code == 0 and checks["ratelimit_storage"] == ("ok", "限流存储（Redis）连接正常")


def test_a_relay_that_accepts_connections_passes(check, listening):
    code, checks, _ = check(XUEJI_OUTBOUND_SMTP_HOST="127.0.0.1", XUEJI_OUTBOUND_SMTP_PORT=str(listening))
    assert code == 0 and f"发信服务器 127.0.0.1:{listening} 可连接" in checks["mail"][1]


def test_the_calendar_fails_without_this_year_and_warns_from_november_without_the_next(check):
    code, checks, _ = check(today=f"{LAST + 1}-03-01")
    assert code == 1 and checks["calendar"][0] == "fail" and f"{LAST + 1} 年" in checks["calendar"][1]
    code, checks, report = check(today=f"{LAST}-11-01")
    assert code == 0 and report["healthy"] is True  # published around November-December: a warning
    assert checks["calendar"][0] == "warn" and f"尚未载入 {LAST + 1} 年的节假日安排" in checks["calendar"][1]


def test_production_warns_of_per_process_limits_and_of_a_worker_without_its_key(check):
    code, checks, _ = check(XUEJI_ENV="production", **SECRETS)
    assert code == 0
    assert checks["ratelimit_storage"][0] == "warn" and "redis://" in checks["ratelimit_storage"][1]
    assert checks["mail"][0] == "warn" and "XUEJI_MAIL_REPLY_KEY" in checks["mail"][1]


def test_the_store_is_never_created_by_the_check(check, tmp_path):
    store = tmp_path / "spool" / "mail"
    code, checks, _ = check(XUEJI_MAIL_SPOOL=str(store))
    assert code == 0 and checks["mail_store"] == ("ok", f"{store} 尚不存在，收信进程将创建")
    assert not store.exists() and not store.parent.exists()
