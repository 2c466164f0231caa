"""Structured logs: one JSON object per line, each request's line, nothing personal in any line.

Issue 7 item 2: "structured logs with no personal data". The filter of
hotline.logs masks ID numbers, phone numbers and e-mail addresses in every
record that reaches the handler, as a last line of defence.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

import pytest

from hotline import logs
from hotline.config import load_settings
from lookup.privacy import redact_personal
from tests.logscan import find_id_numbers
from tests.lookup.factories import id_number

ID = id_number(sequence=1)

# (what was written, what must not survive, what must be there instead)
MASKED = [
    (f"id {ID}", ID, ID[:3] + "*" * 11 + ID[-4:]),
    (f"id {ID.lower()}", ID.lower(), ID[:3] + "*" * 11),
    (f"G{ID} 学籍号", ID, f"G{ID[:3]}"),  # a G number is G + the ID number
    (f"spaced {ID[:6]} {ID[6:14]} {ID[14:]}", ID[6:14], ID[:3] + "*"),
    ("full-width １１０１０５１９４９１２３１００２Ｘ", "１９４９１２３１", "110***"),
    ("legacy 110105491231002", "110105491231002", "110********1002"),
    ("mobile 13800138000", "13800138000", "138****8000"),
    ("mobile 138-0013-8000", "0013", "138****8000"),
    ("mobile +86 13900139000", "13900139000", "139****9000"),
    ("landline 0571-88886666", "88886666", "0571-88****66"),
    ("mail Zhang.San@example.com", "Zhang.San", "Z****@example.com"),
]
# Numbers that are not personal data stay as they are.
KEPT = [
    "ticket 2026-000123 on 2026-03-02 10:05:01",
    "school 1301020001 unit 130102",
    "order 123456789012345678",  # 18 digits, no real birth date
    "counter 12345678901234567890",  # longer than any number we mask
    "key " + "5f1c2a9e44d0" + "110105194912310021" + "ab" * 10,  # inside a hex digest
    "took 1234.5 ms, 201 rows",
]


@pytest.mark.parametrize(("written", "secret", "shown"), MASKED)
def test_personal_data_is_masked(written, secret, shown):
    masked = redact_personal(written)
    assert secret not in masked and shown in masked, masked
    assert not find_id_numbers(masked)


@pytest.mark.parametrize("written", KEPT)
def test_other_numbers_are_kept(written):
    assert redact_personal(written) == written


def _logger(settings, name="xueji.test") -> tuple[logging.Logger, io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logs.configure(settings, stream)
    # First on the root logger, before the run's ID-number scan (tests/conftest.py):
    # the filter masks the record itself, so the scan then sees what it let through.
    root = logging.getLogger()
    root.handlers.remove(handler)
    root.handlers.insert(0, handler)
    return logging.getLogger(name), stream, handler


@pytest.fixture
def json_log():
    root = logging.getLogger()
    level = root.level
    logger, stream, handler = _logger(load_settings({}, env="production", log_format="json"))
    yield logger, stream
    root.removeHandler(handler)
    root.setLevel(level)


def records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_have_time_level_logger_and_message(json_log):
    logger, stream = json_log
    logger.info("工单 %s 已受理\n第二行", "2026-000123")
    [entry] = records(stream)
    assert entry["level"] == "INFO" and entry["logger"] == "xueji.test"
    assert entry["message"] == "工单 2026-000123 已受理\n第二行"  # one line on the wire, all of it kept
    assert entry["time"].endswith("Z") and "T" in entry["time"]


def test_the_filter_masks_arguments_and_tracebacks(json_log):
    logger, stream = json_log
    logger.warning("lookup for %s from %s", ID, "13800138000")
    try:
        raise ValueError(f"bad value {ID} for parent@example.com")
    except ValueError:
        logger.exception("failed")
    text = stream.getvalue()
    assert ID not in text and "13800138000" not in text and "parent@example.com" not in text
    first, second = records(stream)
    assert first["message"] == f"lookup for {ID[:3]}{'*' * 11}{ID[-4:]} from 138****8000"
    assert f"ValueError: bad value {ID[:3]}*" in second["exception"]
    assert "p****@example.com" in second["exception"]


def test_text_is_the_default_outside_production_and_configure_replaces_its_handler():
    root = logging.getLogger()
    level, before = root.level, list(root.handlers)
    try:
        logger, first, _ = _logger(load_settings({}, env="development"))
        logger, second, handler = _logger(load_settings({}, env="development"))
        logger.info("hello %s", ID)
        assert first.getvalue() == ""  # replaced, never both
        assert second.getvalue().rstrip().endswith(f"INFO xueji.test [-] hello {ID[:3]}{'*' * 11}{ID[-4:]}")
        assert [h for h in root.handlers if h not in before] == [handler]
    finally:
        for h in [h for h in root.handlers if h not in before]:
            root.removeHandler(h)
        root.setLevel(level)


def test_each_request_has_a_line_with_its_fields_and_never_its_query_string(client, json_log):
    _, stream = json_log
    response = client.get(f"/healthz?contact=13800138000&id={ID}", headers={"X-Request-ID": "nginx-abc123"})
    assert response.headers["X-Request-ID"] == "nginx-abc123"
    [line] = [entry for entry in records(stream) if entry["logger"] == "xueji.request"]
    assert line["method"] == "GET" and line["path"] == "/healthz" and line["status"] == 200
    assert line["request_id"] == "nginx-abc123" and isinstance(line["duration_ms"], float)
    assert "13800138000" not in stream.getvalue() and ID not in stream.getvalue()


def test_a_request_id_that_is_not_one_is_replaced(client, json_log):
    _, stream = json_log
    response = client.get("/healthz", headers={"X-Request-ID": "a b {\"x\": 1}"})
    given = response.headers["X-Request-ID"]
    assert len(given) == 16 and given.isalnum()
    assert records(stream)[-1]["request_id"] == given


def test_records_logged_during_a_request_carry_its_id_and_path(app, json_log):
    logger, stream = json_log

    @app.get("/ops-test-log")
    def log_something():
        logger.info("inside")
        return "ok"

    app.test_client().get("/ops-test-log?q=1")
    inside = next(entry for entry in records(stream) if entry["message"] == "inside")
    assert inside["path"] == "/ops-test-log" and inside["method"] == "GET" and inside["request_id"]


def test_a_path_with_personal_data_is_masked_in_the_request_line(client, json_log):
    _, stream = json_log
    client.get(f"/directory/{ID}")
    assert ID not in stream.getvalue()
    assert any(entry.get("path") == f"/directory/{ID[:3]}{'*' * 11}{ID[-4:]}" for entry in records(stream))


def test_nothing_configures_logging_at_import_time():
    # A fresh interpreter: importing every module of the service adds no handler anywhere
    # (libraries' NullHandlers aside: they are how a library says it configures nothing).
    code = ("import logging, pkgutil, importlib, hotline, lookup, mailintake\n"
            "for package in (hotline, lookup, mailintake):\n"
            "    for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
            "        importlib.import_module(info.name)\n"
            "import hotline.wsgi\n"
            "loggers = [logging.getLogger()] + [l for l in logging.Logger.manager.loggerDict.values()\n"
            "                                   if isinstance(l, logging.Logger)]\n"
            "print(sum(not isinstance(h, logging.NullHandler) for l in loggers for h in l.handlers),\n"
            "      logging.getLogger().level)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", str(logging.WARNING)]
