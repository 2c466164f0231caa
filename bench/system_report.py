"""The tables the whole-system run prints: per endpoint, per fault, per abuse run."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from system_data import Sample, Window, classify, percentile

ORDER = ("lookup", "status", "console login", "console queue", "console ticket", "console form",
         "console preview", "console save", "smtp")


@dataclass(frozen=True)
class EndpointRow:
    endpoint: str
    requests: int
    rps: float
    p50: float
    p99: float
    fault: int  # 503 inside a fault's window: deliberate
    refused: int  # 429
    errors: int  # other 5xx, 503 outside a window, no answer
    statuses: Counter[int]


def endpoint_rows(samples: Iterable[Sample], seconds: float, windows: Sequence[Window]) -> list[EndpointRow]:
    """One row per endpoint. Latencies leave out the requests inside a fault's window (they
    measure the fault, not the service); rates count every request over the whole load."""
    by: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by[sample.endpoint].append(sample)
    rows = []
    for endpoint in sorted(by, key=lambda e: (ORDER.index(e) if e in ORDER else len(ORDER), e)):
        group = by[endpoint]
        kinds = Counter(classify(s, windows) for s in group)
        calm = sorted(s.ms for s in group if not any(w.holds(s) for w in windows))
        rows.append(EndpointRow(endpoint, len(group), len(group) / seconds, percentile(calm, 50),
                                percentile(calm, 99), kinds["fault"], kinds["refused"], kinds["error"],
                                Counter(s.status for s in group)))
    return rows


def print_endpoints(rows: Sequence[EndpointRow]) -> None:
    print(f"\n{'endpoint':<17}{'requests':>9}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>9}{'503 fault':>10}"
          f"{'429':>6}{'errors':>7}  statuses")
    for r in rows:
        statuses = " ".join(f"{s or 'none'}:{n}" for s, n in sorted(r.statuses.items()))
        print(f"{r.endpoint:<17}{r.requests:>9,}{r.rps:>8.1f}{r.p50:>8.1f}{r.p99:>9.1f}{r.fault:>10}"
              f"{r.refused:>6}{r.errors:>7}  {statuses}")


def print_pairs(title: str, rows: Sequence[tuple[str, object]]) -> None:
    print(f"\n{title}")
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
