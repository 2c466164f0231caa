"""Pure helpers of the whole-system run: client addresses, identities, mail, and the sums.

Nothing here talks to a server; ``tests/system/test_system_helpers.py`` checks
each rule with a table, and the doctests show the shapes.
"""

from __future__ import annotations

import datetime
import email.utils
import ipaddress
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from lookup.numbers import id_check_char

MAILBOX = "66119801@moe.edu.cn"
TICKET_LINK = re.compile(r'href="[^"]*/console/tickets/(20\d\d-\d{6})"')


@dataclass(frozen=True)
class Sample:
    """One request as a client saw it: when it started (monotonic seconds), what, how, how long."""

    t: float
    endpoint: str
    status: int  # the HTTP status, or 0 for a connection error or a timeout
    ms: float


def client_address(block: int, n: int) -> str:
    """The ``n``-th client address of a block of 65,536 in 10.0.0.0/8 (one block per load driver,
    so that drivers never share an address, and so never a per-client counter).

    >>> client_address(0, 0), client_address(3, 258), client_address(255, 65535)
    ('10.0.0.0', '10.3.1.2', '10.255.255.255')
    """
    if not 0 <= block < 256 or not 0 <= n < 65536:
        raise ValueError(f"block {block} or number {n} out of range")
    return str(ipaddress.IPv4Address((10 << 24) | (block << 16) | n))


def random_id_number(rng: random.Random, regions: Sequence[str]) -> str:
    """A resident ID number that passes every check of the lookup: a birthplace of ``regions``,
    a real date of birth of a school-age child, a sequence and the MOD 11-2 check character.

    >>> from lookup.numbers import parse_id_number
    >>> number = random_id_number(random.Random(1), ["110105"])
    >>> parse_id_number(number).number == number and number[:6] == "110105"
    True
    """
    born = datetime.date(2006, 1, 1) + datetime.timedelta(days=rng.randrange(14 * 365))
    first17 = f"{rng.choice(regions)}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + id_check_char(first17)


def percentile(sorted_ms: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of ascending values (0.0 for none).

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile([1.0, 2.0, 3.0, 4.0], 99), percentile([], 50)
    (2.0, 4.0, 0.0)
    """
    if not sorted_ms:
        return 0.0
    rank = max(1, -(-len(sorted_ms) * p // 100))  # ceil without floats' rounding surprises
    return sorted_ms[int(min(rank, len(sorted_ms))) - 1]


@dataclass(frozen=True)
class Window:
    """A time span (monotonic seconds) during which 503 answers are deliberate: a fault.
    ``endpoints`` limits it to some endpoints (a Redis outage excuses /readyz, not a lookup)."""

    name: str
    start: float
    end: float
    endpoints: frozenset[str] | None = None

    def holds(self, sample: Sample) -> bool:
        """Whether the request was under way at some moment of the window.

        >>> w = Window("postgresql", 10.0, 20.0)
        >>> spans = ((9.0, 500.0), (9.0, 1500.0), (20.0, 1.0), (21.0, 1.0))
        >>> [w.holds(Sample(t, "x", 503, ms)) for t, ms in spans]
        [False, True, True, False]
        """
        if self.endpoints is not None and sample.endpoint not in self.endpoints:
            return False
        return sample.t <= self.end and sample.t + sample.ms / 1000 >= self.start


def classify(sample: Sample, windows: Iterable[Window]) -> str:
    """``ok``, ``refused`` (429: a limit), ``fault`` (a 503 inside a fault's window) or ``error``
    (any other 5xx, a 503 outside every window, a connection error, a timeout).

    >>> w = [Window("postgresql", 10.0, 20.0), Window("redis", 30.0, 40.0, frozenset({"readyz"}))]
    >>> cases = ((1, "x", 200), (1, "x", 404), (12, "x", 503), (25, "x", 503), (12, "x", 500), (1, "x", 0),
    ...          (1, "x", 429), (31, "readyz", 503), (31, "x", 503))
    >>> [classify(Sample(t, endpoint, status, 1.0), w) for t, endpoint, status in cases]
    ['ok', 'ok', 'fault', 'error', 'error', 'error', 'refused', 'fault', 'error']
    """
    if sample.status == 429:
        return "refused"
    if sample.status == 503 and any(window.holds(sample) for window in windows):
        return "fault"
    if sample.status == 0 or sample.status >= 500:
        return "error"
    return "ok"


def recovery(samples: Iterable[Sample], window: Window) -> tuple[int, float | None]:
    """How a fault showed: the bad answers (503, other 5xx, connection errors) inside its window,
    and the seconds from the window's start to the end of the last of them (None: none at all).

    >>> s = [Sample(9.0, "a", 200, 5.0), Sample(10.5, "a", 503, 5.0), Sample(13.0, "a", 503, 1000.0),
    ...      Sample(14.0, "a", 200, 5.0)]
    >>> recovery(s, Window("postgresql", 10.0, 30.0))
    (2, 4.0)
    """
    bad = [s for s in samples if window.holds(s) and (s.status == 0 or s.status >= 500)]
    if not bad:
        return 0, None
    return len(bad), max(s.t + s.ms / 1000 for s in bad) - window.start


def one_outcome_each(sent: Iterable[str], recorded: Iterable[str]) -> tuple[int, int]:
    """``(lost, duplicated)``: messages accepted (250) with no recorded row, and rows beyond one
    per accepted message. A row for a message we were not told was accepted is neither.

    >>> one_outcome_each(["<a>", "<b>", "<c>"], ["<a>", "<b>", "<b>", "<x>"])
    (1, 1)
    """
    counts = Counter(recorded)
    sent = set(sent)
    lost = sum(1 for message_id in sent if counts[message_id] == 0)
    duplicated = sum(counts[message_id] - 1 for message_id in sent if counts[message_id] > 1)
    return lost, duplicated


def unaudited(audit: Mapping[str, int], statuses: Mapping[int, int]) -> list[str]:
    """Lookup answers with no ``lookup_audit`` row of their outcome. More rows than answers is
    fine (a request whose answer was lost on the way may have committed its row); fewer is not.

    >>> unaudited({"found": 8, "replaced": 2, "not_found": 5, "limited": 3}, {200: 10, 404: 5, 429: 3})
    []
    >>> unaudited({"found": 8, "not_found": 5}, {200: 10, 404: 4, 429: 1})
    ['10 found, 8 audited', '1 limited, 0 audited']
    """
    pairs = ((statuses.get(200, 0), audit.get("found", 0) + audit.get("replaced", 0), "found"),
             (statuses.get(404, 0), audit.get("not_found", 0), "not_found"),
             (statuses.get(400, 0), audit.get("invalid", 0), "invalid"),
             (statuses.get(429, 0), audit.get("limited", 0), "limited"))
    return [f"{answered} {what}, {rows} audited" for answered, rows, what in pairs if rows < answered]


@dataclass(frozen=True)
class TicketCount:
    confirmed: int  # the console answered with a ticket number
    attempted: int  # saves sent, answered or not
    lost: int  # confirmed, but no ticket with that subject and number
    duplicated: int  # tickets beyond one per subject (each save has a subject of its own)
    unconfirmed_saved: int  # saves that got no answer (a fault) but were committed: allowed, once


def tally_tickets(created: Iterable[tuple[str, str]], attempted: Iterable[str],
                  rows: Iterable[tuple[str, str]]) -> TicketCount:
    """Compare what the console confirmed, ``(subject, number)``, with the ``(subject, number)`` rows
    of the tickets table.

    >>> tally_tickets([("a", "1"), ("b", "2")], ["a", "b", "c", "d"], [("a", "1"), ("c", "3"), ("c", "4")])
    TicketCount(confirmed=2, attempted=4, lost=1, duplicated=1, unconfirmed_saved=1)
    """
    created = list(created)
    numbers: dict[str, list[str]] = {}
    for subject, number in rows:
        numbers.setdefault(subject, []).append(number)
    lost = sum(1 for subject, number in created if number not in numbers.get(subject, []))
    duplicated = sum(len(found) - 1 for found in numbers.values())
    confirmed = {subject for subject, _ in created}
    unconfirmed = sum(1 for subject in numbers if subject not in confirmed)
    return TicketCount(len(created), len(list(attempted)), lost, duplicated, unconfirmed)


def complaint(i: int, run: str, school_code: str) -> tuple[str, bytes]:
    """A parent's complaint as a mail client sends it: its Message-ID and raw bytes.

    >>> import email, email.policy
    >>> message_id, raw = complaint(7, "r1", "2113000001")
    >>> mail = email.message_from_bytes(raw, policy=email.policy.default)
    >>> message_id, mail["Message-ID"], "2113000001" in mail.get_content()
    ('<sys-r1-7@qq.com>', '<sys-r1-7@qq.com>', True)
    """
    mail = EmailMessage()
    message_id = f"<sys-{run}-{i}@qq.com>"
    mail["From"] = f"家长{i} <p{i}.{run}@qq.com>"
    mail["To"] = MAILBOX
    mail["Subject"] = f"孩子的学籍号查不到（{i}）"
    mail["Date"] = email.utils.formatdate(localtime=False)
    mail["Message-ID"] = message_id
    mail.set_content(f"老师您好：孩子在学校 {school_code} 读书，学籍号查不到，麻烦帮忙查一下。第 {i} 封。")
    return message_id, mail.as_bytes()


def ticket_numbers(html: str) -> list[str]:
    """The tickets a console page links to, in order, each once (not a number in a hint or a form's).

    >>> ticket_numbers('<a href="/console/tickets/2026-000012">2026-000012</a> 例如 2026-000123 '
    ...                '<a href="/console/tickets/2026-000003">…</a> '
    ...                '<a href="/console/forms/HC-2026-000045">')
    ['2026-000012', '2026-000003']
    """
    return list(dict.fromkeys(TICKET_LINK.findall(html)))
