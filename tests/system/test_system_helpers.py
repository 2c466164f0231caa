"""The rules bench/system.py counts by: which answers are errors, what is lost or duplicated.

A harness whose sums are wrong would report a broken service as healthy, so
its pure helpers are tested here like the service's own rules (the run
itself is tests/system/test_system_run.py, on request).
"""

from __future__ import annotations

import doctest
import random
from collections import Counter

import pytest

from lookup.numbers import parse_id_number
from mailintake.classify import classify as classify_mail
from mailintake.parsing import parse
from tests.system.bench_modules import load

data = load("system_data")
Sample, Window = data.Sample, data.Window
POSTGRESQL = Window("postgresql", 10.0, 20.0)
REDIS = Window("redis", 30.0, 40.0, frozenset({"readyz"}))


def test_the_helpers_doctests_pass():
    results = doctest.testmod(data, optionflags=doctest.ELLIPSIS)
    assert results.attempted > 0 and results.failed == 0


@pytest.mark.parametrize(("t", "endpoint", "status", "ms", "verdict"), [
    (1.0, "lookup", 200, 5.0, "ok"),
    (1.0, "lookup", 404, 5.0, "ok"),
    (1.0, "console save", 302, 5.0, "ok"),
    (1.0, "lookup", 429, 5.0, "refused"),
    (12.0, "lookup", 503, 5.0, "fault"),  # the database is down: the clear 503 is deliberate
    (9.5, "lookup", 503, 800.0, "fault"),  # started before the restart, answered during it
    (9.0, "lookup", 503, 500.0, "error"),  # answered before the restart began
    (25.0, "lookup", 503, 5.0, "error"),  # after the bound: the site did not recover
    (12.0, "lookup", 500, 5.0, "error"),  # a 500 is never deliberate, fault or not
    (12.0, "lookup", 0, 5.0, "error"),  # no answer at all: gunicorn must stay up
    (31.0, "readyz", 503, 5.0, "fault"),  # /readyz reports Redis away
    (31.0, "lookup", 503, 5.0, "error"),  # a lookup must keep answering without Redis
])
def test_a_503_is_deliberate_only_inside_its_faults_window(t, endpoint, status, ms, verdict):
    assert data.classify(Sample(t, endpoint, status, ms), [POSTGRESQL, REDIS]) == verdict


@pytest.mark.parametrize(("samples", "expected"), [
    ([], (0, None)),
    ([Sample(12.0, "lookup", 200, 5.0)], (0, None)),
    ([Sample(11.0, "lookup", 503, 5.0), Sample(15.0, "status", 0, 2000.0)], (2, 7.0)),
    ([Sample(11.0, "lookup", 503, 5.0), Sample(25.0, "lookup", 503, 5.0)], (1, 1.005)),
])
def test_recovery_runs_to_the_end_of_the_last_bad_answer_in_the_window(samples, expected):
    bad, until = data.recovery(samples, POSTGRESQL)
    assert bad == expected[0]
    assert until == pytest.approx(expected[1]) if expected[1] is not None else until is None


@pytest.mark.parametrize(("sent", "recorded", "lost", "duplicated"), [
    (["<a>", "<b>"], ["<a>", "<b>"], 0, 0),
    (["<a>", "<b>"], ["<a>"], 1, 0),
    (["<a>", "<b>"], ["<a>", "<a>", "<a>", "<b>"], 0, 2),
    (["<a>"], ["<a>", "<z>"], 0, 0),  # a row of a message not answered 250 is neither
    ([], [], 0, 0),
])
def test_every_message_answered_250_has_exactly_one_outcome(sent, recorded, lost, duplicated):
    assert data.one_outcome_each(sent, recorded) == (lost, duplicated)


@pytest.mark.parametrize(("created", "attempted", "rows", "lost", "duplicated", "unconfirmed"), [
    ([("s1", "2026-000001")], ["s1"], [("s1", "2026-000001")], 0, 0, 0),
    ([("s1", "2026-000001")], ["s1"], [], 1, 0, 0),
    ([("s1", "2026-000001")], ["s1"], [("s1", "2026-000002")], 1, 0, 0),  # another number than told
    ([("s1", "2026-000001")], ["s1"], [("s1", "2026-000001"), ("s1", "2026-000002")], 0, 1, 0),
    ([], ["s1"], [("s1", "2026-000001")], 0, 0, 1),  # no answer (a fault), but committed once: fine
])
def test_every_ticket_the_console_confirmed_exists_once(created, attempted, rows, lost, duplicated,
                                                        unconfirmed):
    count = data.tally_tickets(created, attempted, rows)
    assert (count.lost, count.duplicated, count.unconfirmed_saved) == (lost, duplicated, unconfirmed)


@pytest.mark.parametrize(("audit", "statuses", "problems"), [
    ({"found": 3, "not_found": 2, "limited": 1}, {200: 3, 404: 2, 429: 1}, 0),
    ({"found": 2, "replaced": 1}, {200: 3}, 0),  # a replaced number is found too
    ({"found": 4, "not_found": 2}, {200: 3, 404: 2, 503: 4}, 0),  # an answer lost on its way
    ({"found": 3}, {200: 3, 404: 1}, 1),
    ({}, {429: 2}, 1),  # a refused lookup is audited as limited
])
def test_every_answered_lookup_has_its_audit_row(audit, statuses, problems):
    assert len(data.unaudited(audit, Counter(statuses))) == problems


def test_each_load_driver_has_client_addresses_of_its_own():
    load_module, abuse, faults = load("system_load"), load("system_abuse"), load("system_faults")
    per_thread = load_module.BLOCKS_PER_THREAD
    ranges = {
        "lookups": range(load_module.LOOKUP_BLOCKS, load_module.LOOKUP_BLOCKS + 8 * per_thread),
        "status": range(load_module.STATUS_BLOCKS, load_module.STATUS_BLOCKS + 4 * per_thread),
        "console": range(load_module.CONSOLE_BLOCK, load_module.CONSOLE_BLOCK + 1),
        "enumeration": range(abuse.ENUMERATION_BLOCKS, abuse.ENUMERATION_BLOCKS + 9),
        "guessing": range(abuse.GUESSING_BLOCK, abuse.GUESSING_BLOCK + 1),
        "probes": range(faults.PROBE_BLOCK, faults.PROBE_BLOCK + 1),
    }
    seen: dict[int, str] = {}
    for name, blocks in ranges.items():
        for block in blocks:
            assert block not in seen, f"{name} and {seen[block]} share the block 10.{block}.0.0/16"
            seen[block] = name
    assert len({data.client_address(3, n) for n in range(65536)}) == 65536


def test_random_identities_pass_every_check_of_the_lookup():
    rng = random.Random(2016)
    regions = ["110105", "130102", "429004", "659001"]
    for _ in range(500):
        number = data.random_id_number(rng, regions)
        parsed = parse_id_number(number)
        assert parsed.number == number and number[:6] in regions


def test_a_complaint_is_a_normal_message_with_its_message_id():
    message_id, raw = data.complaint(3, "t1", "2113000001")
    parsed = parse(raw)
    assert parsed.message_id == message_id
    assert classify_mail(parsed).name == "normal"
    assert "2113000001" in parsed.text


@pytest.mark.parametrize(("values", "p", "expected"), [
    ([5.0], 50, 5.0),
    ([1.0, 2.0], 50, 1.0),
    ([float(i) for i in range(1, 101)], 99, 99.0),
    ([float(i) for i in range(1, 101)], 100, 100.0),
    ([], 99, 0.0),
])
def test_percentiles_are_nearest_rank(values, p, expected):
    assert data.percentile(values, p) == expected


def test_an_id_number_the_run_sent_is_found_in_any_of_its_logs(tmp_path):
    checks = load("system_checks")
    (tmp_path / "pg").mkdir()
    (tmp_path / "gunicorn.log").write_text('{"message": "lookup identity=a405315a019b"}\n'
                                           "lookup of 11010519491231002X failed\n")
    (tmp_path / "pg" / "postgresql.log").write_text("DETAIL: Key (x)=(11010519491231002x) exists\n")
    (tmp_path / "worker1.log").write_text("counted 110105194912310021234 rows\n")  # longer run: not an ID
    leaks = checks.leaked_ids(tmp_path, ["11010519491231002X", "130102201203050015"])
    assert leaks == Counter({"gunicorn.log": 1, "postgresql.log": 1})
