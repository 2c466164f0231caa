"""Bad input at start, and the site under gunicorn as production runs it.

Issue 7, "Bad input": "A misconfiguration (wrong database URL, unreachable
Redis, missing secret, unknown setting name) fails at start with one clear
line, never a traceback". An unreachable Redis is the exception by design:
the site starts and limits in-process (issue 3); ``xueji check`` and
/readyz report it.
"""

from __future__ import annotations

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import ID_KEY
from tests.hotline.ops.conftest import BIN, clean_environ, free_port, http
from tests.lookup.factories import id_number

FOUND = json.dumps({"name": "张三", "id_number": id_number(sequence=1)}).encode()
JSON = {"Content-Type": "application/json"}

# (settings, the one line on stderr)
MISCONFIGURED = [
    ({"XUEJI_DATABSE_URL": "sqlite:///x"}, "配置错误：unknown setting XUEJI_DATABSE_URL (known: see README, "
                                           "Configuration)"),
    ({"XUEJI_DATABASE_URL": "postgres://xueji:s3cret@db.internal/xueji"},
     "配置错误：XUEJI_DATABASE_URL=postgres://xueji:***@db.internal/xueji: unsupported scheme 'postgres'; "
     "expected postgresql://USER@HOST/DB or sqlite:///PATH"),
    ({"XUEJI_DATABASE_URL": "s3cret@db.internal"},
     "配置错误：XUEJI_DATABASE_URL is not a database URL; expected postgresql://USER@HOST/DB or sqlite:///PATH"),
    ({"XUEJI_ENV": "production"}, "配置错误：XUEJI_SECRET_KEY is not set; production needs it (see README)"),
    ({"XUEJI_LOG_FORMAT": "xml"}, "配置错误：XUEJI_LOG_FORMAT='xml': expected json or text"),
    ({"XUEJI_METRICS_ALLOW": "everyone"},
     "配置错误：XUEJI_METRICS_ALLOW: 'everyone' is not an address or network"),
]


def xueji(*args: str, **settings: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "xueji"), *args], capture_output=True, text=True, timeout=120,
                          env=clean_environ(**settings))


@pytest.mark.parametrize("command", [("init",), ("--help",)])
@pytest.mark.parametrize(("settings", "line"), MISCONFIGURED)
def test_a_misconfigured_command_says_so_in_one_line(tmp_path, command, settings, line):
    result = xueji(*command, XUEJI_INSTANCE_PATH=str(tmp_path / "instance"), **settings)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [line]
    assert "s3cret" not in result.stderr


def test_a_command_without_its_database_says_so_in_one_line(tmp_path):
    result = xueji("init", XUEJI_INSTANCE_PATH=str(tmp_path / "instance"),
                   XUEJI_DATABASE_URL=f"postgresql://xueji:s3cret@127.0.0.1:{free_port()}/xueji")
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("数据库无法连接：OperationalError: connection failed") and "s3cret" not in line


def _config_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("配置错误")]


@pytest.mark.parametrize(("settings", "line", "workers"), [
    *[(settings, line, ("--workers", "1")) for settings, line in MISCONFIGURED[:4]],
    # Loaded once in the arbiter, before any worker: the line is printed once however many workers.
    (*MISCONFIGURED[1], ("--workers", "2", "--preload")),
])
def test_gunicorn_stops_with_one_line_on_a_misconfiguration(gunicorn, tmp_path, settings, line, workers):
    server = gunicorn(clean_environ(XUEJI_INSTANCE_PATH=str(tmp_path / "instance"), **settings), *workers)
    assert server.process.wait(timeout=60) == 4  # gunicorn's "App failed to load": the arbiter stops
    stderr = server.stderr()
    assert _config_lines(stderr) == [line]
    assert "Traceback" not in stderr and "s3cret" not in stderr


def test_gunicorn_starts_without_redis_and_limits_in_process(gunicorn, own_database, tmp_path):
    closed = f"redis://127.0.0.1:{free_port()}"
    server = gunicorn(clean_environ(XUEJI_INSTANCE_PATH=str(tmp_path / "instance"), XUEJI_ENV="testing",
                                    XUEJI_DATABASE_URL=own_database, XUEJI_ID_HASH_KEY=ID_KEY,
                                    XUEJI_RATELIMIT_STORAGE_URI=closed,
                                    XUEJI_LOOKUP_CLIENT_LIMITS="2 per minute"),
                      "--workers", "1")
    server.wait_ready()
    answers = [http(server.url + "/api/v1/lookup", data=FOUND, headers=JSON)[0] for _ in range(3)]
    assert answers == [200, 200, 429]  # the limits still hold, in this process
    status, _, body = http(server.url + "/readyz")
    assert status == 503 and json.loads(body)["checks"]["ratelimit_storage"] == "unreachable"
    assert "Traceback" not in server.stderr()


def test_under_gunicorn_logs_are_json_and_metrics_add_up_every_worker(gunicorn, own_database, tmp_path):
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    server = gunicorn(clean_environ(XUEJI_INSTANCE_PATH=str(tmp_path / "instance"), XUEJI_ENV="testing",
                                    XUEJI_DATABASE_URL=own_database, XUEJI_ID_HASH_KEY=ID_KEY,
                                    XUEJI_LOG_FORMAT="json", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)),
                      "--workers", "2")
    server.wait_ready()
    assert http(server.url + "/readyz")[0] == 200
    # Requests until both workers have counted some (each keeps its counts in
    # files named by its pid). Eight at a time: one after another, a single
    # idle sync worker can win every accept on a busy machine.
    sent, url = 0, server.url + "/healthz?contact=13800138000"
    with ThreadPoolExecutor(8) as pool:
        while len({re.sub(r"\D", "", p.name) for p in metrics_dir.glob("counter_*.db")}) < 2 and sent < 800:
            statuses = list(pool.map(lambda _: http(url)[0], range(8)))
            assert statuses == [200] * 8
            sent += 8
    assert len(list(metrics_dir.glob("counter_*.db"))) == 2, "one worker served every request"
    status, _, text = http(server.url + "/metrics")
    assert status == 200
    counted = re.search(r'^xueji_http_requests_total\{endpoint="public.healthz",status="2xx"\} (\S+)$', text,
                        re.MULTILINE)
    # Every worker's count, whichever worker answered the scrape (+1: wait_ready's own request).
    assert counted and float(counted.group(1)) == sent + 1
    assert "xueji_mail_received_24h" in text

    stderr = server.stderr()
    entries = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    requests = [e for e in entries if e["logger"] == "xueji.request" and e["path"] == "/healthz"]
    assert len(requests) == sent + 1
    assert all(e["status"] == 200 and e["method"] == "GET" and e["request_id"] for e in requests)
    assert "13800138000" not in stderr
