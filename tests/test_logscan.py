"""The log scan finds ID numbers in any form they may take in a log line, and nothing else."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import LOG_CAPTURE
from tests.logscan import Capture, find_id_numbers
from tests.lookup.factories import id_number

ID = id_number("130102", "20120305", 1)                    # a valid 18-character number
ID_X = "11010519491231002X"                                # one whose check character is X
LEGACY = "130102120305001"                                 # first generation: 15 digits, 12-03-05


def wrong_check(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


@pytest.mark.parametrize(("text", "found"), [
    (f"lookup id_number={ID} name=张三", [ID]),
    (ID, [ID]),
    (f"身份证号{ID}，姓名", [ID]),
    (ID_X, [ID_X]),
    (ID_X.lower(), [ID_X]),                                  # a lower-case x
    (f"number=G{ID_X.lower()}", [ID_X]),                     # inside a G number
    (f"'G{ID}' is not current", [ID]),
    (f"{{'id_number': '{ID}'}}", [ID]),                      # a repr of a dict
    (f"line 1\nline 2 {ID}\n", [ID]),
    (f"{ID}{ID_X}", [ID, ID_X]),                             # glued together
    (f"ts=2024 seq=99{ID}", [ID]),                           # glued to other digits
    (f"legacy={LEGACY} done", [LEGACY]),
    (f"identity=5f1c2a9e44d0 id={ID}", [ID]),               # next to a short hash
    ("1234567890" * 4 + ID, [ID]),                           # a digit run is not a digest
    (f"{ID} and {ID_X} and {LEGACY}", [ID, ID_X, LEGACY]),
])
def test_finds_id_numbers(text, found):
    assert find_id_numbers(text) == found


@pytest.mark.parametrize("text", [
    wrong_check(ID),                                         # invalid check character
    wrong_check(ID_X),
    ID[:17] + "Y",
    ID[:17],                                                 # too short
    "1234567890" * 5,                                        # random long digit runs
    "31415926535897932384626433832795028841971693993751",
    "12345678901234567890",
    "130102201302290010",                                    # right length, no such date, wrong check
    "130102991399001",                                       # 15 digits, no 13th month
    "1234567890123456",                                      # 16 digits
    "sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "identity=5f1c2a9e44d0 outcome=not_found",
    f"LIMITER/xueji/a{ID}{'f' * 45}/lookup-identity-0",     # a digest that happens to hold one
    "ratelimit 5 per 1 hour (0123abcdef) exceeded at endpoint: lookup-identity-0",
    "",
])
def test_ignores_what_is_not_an_id_number(text):
    assert find_id_numbers(text) == []


def test_a_long_run_holding_an_id_number_is_flagged():
    # The digits around it do not hide it.
    assert find_id_numbers(f"1234567890{ID}0987654321") == [ID]


def test_the_capture_scans_messages_arguments_and_exception_text():
    capture = Capture()
    logger = logging.getLogger("tests.logscan.private")
    logger.propagate = False  # kept out of the session's own capture: these IDs are planted
    logger.addHandler(capture)
    logger.setLevel(logging.INFO)
    try:
        logger.info("looked up %s", "nothing")
        logger.info("looked up %s", ID)
        try:
            raise ValueError(f"bad number {ID_X}")
        except ValueError:
            logger.exception("lookup failed")
        logger.debug("below INFO: %s", LEGACY)  # not captured at all
        logger.info("broken %d", ID)              # a record that cannot be formatted
    finally:
        logger.removeHandler(capture)
    assert capture.counts["tests.logscan.private"] == 4
    masked = ID[:3] + "*" * 11 + ID[-4:]
    assert [(f.logger, f.masked) for f in capture.findings] == [
        ("tests.logscan.private", masked),                 # an argument
        ("tests.logscan.private", "110***********002X"),   # the exception's text
        ("tests.logscan.private", masked),                 # the raw record
    ]
    # The report shows where, never the number.
    report = "\n".join(capture.report())
    assert "tests.logscan.private" in report and "test_the_capture_scans" in report
    assert ID not in report and ID_X not in report


def test_the_session_capture_is_installed_on_the_root_logger():
    root = logging.getLogger()
    assert LOG_CAPTURE in root.handlers
    assert root.getEffectiveLevel() <= logging.INFO


def test_lookups_produce_log_lines_for_the_scan(client):
    # If lookups logged nothing (or INFO were filtered out), the scan would pass vacuously.
    before = LOG_CAPTURE.counts["xueji.lookup"]
    response = client.post("/api/v1/lookup", json={"name": "张三", "id_number": ID})
    assert response.status_code == 404
    assert LOG_CAPTURE.counts["xueji.lookup"] == before + 1
    line = next(text for name, text in reversed(LOG_CAPTURE.recent) if name == "xueji.lookup")
    assert line.startswith("xueji.lookup INFO lookup channel=api kind=id outcome=not_found identity=")
    assert ID not in line and "张三" not in line
