"""The faults of the whole-system run, each done to the running service under load.

- PostgreSQL is stopped (``pg_ctl stop -m fast``: sessions are ended, as in a
  failover or a restart for an upgrade), kept down a moment, and started
  again. The site should answer 503 meanwhile and recover by itself; the
  bound is ``RECOVERY_BOUND`` seconds after the database is back.
- Redis is stopped and started again empty (it keeps nothing on disk, like
  the shared one). The lookups must keep answering, limited in each process
  meanwhile, and go back to Redis: its key count grows again.
- A mail worker is SIGKILLed while it drains a batch, with another one
  working, and started again: every message still gets one outcome.
"""

from __future__ import annotations

import os
import random
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from system_data import Sample, Window, client_address
from system_http import lookup_request
from system_load import Plan, Result, burst
from system_services import PostgresCluster, Process, RedisServer

RECOVERY_BOUND = 15.0  # seconds after PostgreSQL is back within which the site must answer normally again
# flask-limiter looks for its storage again 1, 2, 4 … 32 s apart, so it may take a while.
REDIS_BOUND = 45.0
PROBE_BLOCK = 200  # client addresses of the limit probes: apart from the load's and the abuse's


@dataclass
class Fault:
    """What a fault did: its window (503 allowed inside it) and the figures to print."""

    name: str
    window: Window
    figures: dict[str, object] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)  # the fault's own probes


def restart_postgresql(pg: PostgresCluster, down: float) -> tuple[Fault, float]:
    """Stop the database under load, wait ``down`` seconds, start it; the fault and when it was back."""
    start = time.monotonic()
    pg.stop("fast")
    stopped = time.monotonic()
    time.sleep(down)
    pg.start()
    back = time.monotonic()
    fault = Fault("postgresql", Window("postgresql", start, back + RECOVERY_BOUND))
    fault.figures.update(stop_s=round(stopped - start, 2), down_s=round(back - start, 2))
    return fault, back


def _probe(plan: Plan, client: str, n: int) -> list[Sample]:
    """``n`` lookups of one real student from one address."""
    name, ident = plan.found[0]
    return [lookup_request(plan.web_port, client, {"name": name, "id_number": ident})[0] for _ in range(n)]


def _tally(probe: list[Sample]) -> tuple[int, int, int]:
    """(answered, refused, errors) of a probe's lookups."""
    return (sum(s.status == 200 for s in probe), sum(s.status == 429 for s in probe),
            sum(s.status == 0 or s.status >= 500 for s in probe))


def stop_redis(redis: RedisServer, plan: Plan, down: float) -> Fault:
    """Stop Redis under load, probe the limits while it is away, start it, watch it fill again."""
    start = time.monotonic()
    before = redis.keys()
    redis.stop()
    # While Redis is away each worker limits in its own memory: 25 lookups from one
    # address still meet the per-client limit (10 a minute), in each of the 2 workers.
    away = _probe(plan, client_address(PROBE_BLOCK, 1), 25)
    time.sleep(max(0.0, down - (time.monotonic() - start)))
    redis.start()
    back = time.monotonic()
    keys, regrown = 0, None
    while time.monotonic() - back < REDIS_BOUND:
        keys = redis.keys() or 0
        if keys > 0:
            regrown = time.monotonic() - back
            break
        time.sleep(0.25)
    # Back on Redis, the workers share one count again: 10 of 25 answered once every
    # worker has looked for its storage again (each does so on its own schedule).
    again = _probe(plan, client_address(PROBE_BLOCK, 2), 25)
    # Only /readyz may say 503 meanwhile (it reports the storage away); a lookup may not.
    fault = Fault("redis", Window("redis", start, time.monotonic(), frozenset({"readyz"})))
    fault.samples = away + again
    answered, refused, errors = _tally(away)
    fault.figures.update(keys_before=before, down_s=round(back - start, 2),
                         away=f"{answered} of 25 answered, {refused} refused",
                         keys_after=keys, regrown_s=None if regrown is None else round(regrown, 1),
                         back="{} of 25 answered, {} refused".format(*_tally(again)))
    if refused == 0:
        fault.problems.append("while Redis was away, 25 lookups from one address were never limited")
    if errors or _tally(again)[2]:
        fault.problems.append("a probe lookup got a server error or no answer")
    if regrown is None:
        fault.problems.append(f"Redis got no key in the {REDIS_BOUND:.0f} s after it came back: "
                              "the limits did not go back to it")
    return fault


def kill_mail_worker(workers: list[Process], spool_new: Path, plan: Plan, size: int, kills: int,
                     rng: random.Random) -> tuple[Fault, Result]:
    """Send a batch of ``size`` complaints; SIGKILL a worker while they drain, ``kills`` times,
    each time starting it again a second later. The batch's sends are returned for the count."""
    start = time.monotonic()
    sent = Result()
    killed_mid_batch = 0
    for round_ in range(kills):
        # The workers are paused while the batch arrives: otherwise they may
        # keep up with it and the kill would find no mail to interrupt.
        for worker in workers:
            os.kill(worker.pid, signal.SIGSTOP)
        try:
            batch = burst(plan, size, f"k{round_}")
        finally:
            for worker in workers:
                os.kill(worker.pid, signal.SIGCONT)
        sent.extend(batch)
        # Into the batch: once some of it has been taken up, somewhere inside the next messages.
        target = len(list(spool_new.iterdir())) - rng.randint(1, max(1, size // 4))
        deadline = time.monotonic() + 30
        while len(list(spool_new.iterdir())) > target:
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.05))
        victim = workers[round_ % len(workers)]
        left = len(list(spool_new.iterdir()))
        victim.kill9()
        killed_mid_batch += left > 0
        time.sleep(1.0)
        victim.start()
    fault = Fault("mail worker", Window("mail worker", start, time.monotonic(), frozenset()))  # no 503 at all
    accepted = sum(ok for _, ok in sent.mails)
    fault.figures.update(batch=size, kills=kills, killed_with_mail_waiting=killed_mid_batch,
                         accepted=accepted)
    if killed_mid_batch < kills:
        fault.problems.append(f"only {killed_mid_batch} of {kills} kills found mail waiting (not mid-batch)")
    return fault, sent
