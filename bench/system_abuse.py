"""The abuse runs: an enumeration of identities, and password guessing at the console.

Enumeration (issue 3 item 5, issue 7 item 4), from many client addresses as
our reverse proxy forwards them:

- *per client*: ``n`` identities nobody has (a name and a random valid ID
  number each) from ``clients`` addresses, round robin. The per-client limit
  (10 a minute) should let about 10 per address through;
- *per identity*: one real child's ID number with ``guesses`` names, each from
  an address never seen before, so that only the per-identity limit (5 failed
  lookups an hour) can stop it; the child's real name comes after the limit
  is reached and must be refused like any other guess.

Password guessing: wrong passwords against one console account, each from
another address, then the right one: the lockout (5 failures, 15 minutes)
must refuse it.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field

from system_data import Sample, client_address, random_id_number
from system_http import Agent, lookup_request
from system_load import Plan

ENUMERATION_BLOCKS = 128  # client addresses 10.128.0.0 and up
GUESSING_BLOCK = 250
THREADS = 4


@dataclass
class Enumeration:
    name: str
    requests: int = 0
    through: int = 0  # answered at all (not 429): what the attacker learnt something from
    found: int = 0  # answered with a student's number
    refused: int = 0
    errors: int = 0
    clients: int = 0
    samples: list[Sample] = field(default_factory=list)
    through_by_client: Counter[str] = field(default_factory=Counter)

    def add(self, client: str, sample: Sample) -> None:
        self.requests += 1
        self.samples.append(sample)
        self.through_by_client[client] += sample.status in (200, 400, 404)
        self.through += sample.status in (200, 400, 404)
        self.found += sample.status == 200
        self.refused += sample.status == 429
        self.errors += sample.status == 0 or sample.status >= 500


def _in_threads(jobs: list[tuple[str, dict[str, str]]], port: int, result: Enumeration) -> None:
    """Send (client address, body) lookups from ``THREADS`` threads; count into ``result``."""
    lock = threading.Lock()

    def worker(part: list[tuple[str, dict[str, str]]]) -> None:
        for client, body in part:
            sample = lookup_request(port, client, body)[0]
            with lock:
                result.add(client, sample)

    threads = [threading.Thread(target=worker, args=(jobs[i::THREADS],)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def per_client(plan: Plan, n: int, clients: int, rng: random.Random) -> Enumeration:
    result = Enumeration(f"{n:,} identities from {clients} addresses", clients=clients)
    jobs = [(client_address(ENUMERATION_BLOCKS, i % clients),
             {"name": rng.choice(plan.names), "id_number": random_id_number(rng, plan.regions)})
            for i in range(n)]
    _in_threads(jobs, plan.web_port, result)
    return result


def per_identity(plan: Plan, guesses: int, rng: random.Random) -> tuple[Enumeration, int]:
    """Names guessed for one real ID number; the position at which the real name was tried."""
    real_name, ident = plan.found[-1]
    wrong = [name for name in plan.names if name != real_name]
    names = [rng.choice(wrong) for _ in range(guesses)]
    position = min(guesses - 1, max(10, guesses // 2))  # well after the limit (5 failures)
    names[position] = real_name
    result = Enumeration(f"one real child, {guesses:,} names from {guesses:,} addresses", clients=guesses)
    # One thread: the order matters (the real name must come after the limit is reached).
    for i, name in enumerate(names):
        client = client_address(ENUMERATION_BLOCKS + 8, i)
        result.add(client, lookup_request(plan.web_port, client, {"name": name, "id_number": ident})[0])
    return result, position + 1


@dataclass
class Guessing:
    attempts: int = 0
    let_in: int = 0  # guesses that logged in (a wrong password never should)
    control_ok: bool = False  # the right password worked before the guessing
    right_refused: bool = False  # the right password was refused during the lockout
    audit: Counter[str] = field(default_factory=Counter)


def guess_passwords(port: int, username: str, password: str, guesses: int) -> Guessing:
    result = Guessing()
    control = Agent(port, username, password, client_address(GUESSING_BLOCK, 0))
    result.control_ok = control.login()[1]
    for i in range(guesses):
        attacker = Agent(port, username, password, client_address(GUESSING_BLOCK, 1 + i))
        result.attempts += 1
        result.let_in += attacker.login(f"Guess-{i:04d}-Pass!")[1]
    last = Agent(port, username, password, client_address(GUESSING_BLOCK, 1 + guesses))
    result.attempts += 1
    result.right_refused = not last.login()[1]
    return result
