"""The mixed load of the whole-system run: lookups, status queries, console use and mail, at once.

Each kind of load is a child process (forked before the parent starts any
thread) with a few threads that send requests back to back until told to
stop, so that the client's own interpreter lock is shared by one kind only.
Every request becomes a :class:`Sample` with its start time on the
machine's monotonic clock, which the parent also uses to mark the faults:
after the run, the samples say which answers fell inside which fault.
"""

from __future__ import annotations

import multiprocessing
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from system_data import Sample, client_address, complaint, random_id_number, ticket_numbers
from system_http import Agent, call_fields, lookup_request, send_mail, status_request, timed

BLOCKS_PER_THREAD = 8  # 524,288 addresses: no client address is ever used twice in a run
LOOKUP_BLOCKS, STATUS_BLOCKS, CONSOLE_BLOCK = 0, 64, 96


@dataclass(frozen=True)
class Plan:
    """What the load needs to know: where the servers are and what the registry holds."""

    web_port: int
    smtp_port: int
    run: str
    found: tuple[tuple[str, str], ...]  # (name, ID number) of real students
    names: tuple[str, ...]
    regions: tuple[str, ...]  # birthplace codes for ID numbers nobody has
    schools: tuple[str, ...]
    tickets: tuple[tuple[str, str], ...]  # (ticket number, contact) for status queries
    agents: tuple[tuple[str, str], ...]  # (user name, password) of console agents
    not_found_share: float = 0.2
    lookup_threads: int = 6
    status_threads: int = 2
    mail_per_second: float = 4.0
    # An agent reads what a page shows before the next click: without the pause, two agents'
    # back-to-back console pages (tens of ms of a worker each) would crowd out every lookup.
    console_think: float = 0.3


@dataclass
class Result:
    samples: list[Sample] = field(default_factory=list)
    created: list[tuple[str, str]] = field(default_factory=list)  # (subject, number) the console confirmed
    attempted: list[str] = field(default_factory=list)  # subjects of every save sent
    mails: list[tuple[str, bool]] = field(default_factory=list)  # (Message-ID, answered 250)
    logins_failed: int = 0
    cpu_seconds: float = 0.0  # the load generator's own CPU

    def extend(self, other: Result) -> None:
        self.samples += other.samples
        self.created += other.created
        self.attempted += other.attempted
        self.mails += other.mails
        self.logins_failed += other.logins_failed
        self.cpu_seconds += other.cpu_seconds


def addresses(first_block: int) -> Iterator[str]:
    for block in range(first_block, first_block + BLOCKS_PER_THREAD):
        for n in range(65536):
            yield client_address(block, n)


def _lookups(plan: Plan, index: int, stop: threading.Event, result: Result) -> None:
    rng = random.Random(f"{plan.run}-lookup-{index}")
    clients = addresses(LOOKUP_BLOCKS + index * BLOCKS_PER_THREAD)
    while not stop.is_set():
        if rng.random() < plan.not_found_share:
            # Nobody's ID number: a fresh identity each time, so no identity limit is reached.
            body = {"name": rng.choice(plan.names), "id_number": random_id_number(rng, plan.regions)}
        else:
            name, ident = rng.choice(plan.found)
            body = {"name": name, "id_number": ident}
        result.samples.append(lookup_request(plan.web_port, next(clients), body)[0])


def _status(plan: Plan, index: int, stop: threading.Event, result: Result) -> None:
    rng = random.Random(f"{plan.run}-status-{index}")
    clients = addresses(STATUS_BLOCKS + index * BLOCKS_PER_THREAD)
    while not stop.is_set():
        number, contact = rng.choice(plan.tickets)
        if rng.random() < 0.1:  # a number nobody was given: the uniform 404
            number = f"{number[:4]}-{rng.randrange(900000, 1000000)}"
        result.samples.append(status_request(plan.web_port, next(clients), number, contact)[0])


def _console(plan: Plan, index: int, stop: threading.Event, result: Result) -> None:
    """An agent's working loop: the queue, a ticket from it, and every third round a call logged."""
    username, password = plan.agents[index % len(plan.agents)]
    agent = Agent(plan.web_port, username, password, client_address(CONSOLE_BLOCK, index))
    rng, rounds, logged_in = random.Random(f"{plan.run}-console-{index}"), 0, False
    while not stop.is_set():
        if not logged_in:
            samples, logged_in = agent.login()
            result.samples += samples
            if not logged_in:
                result.logins_failed += 1
                stop.wait(0.5)
                continue
        sample, page = agent.call("console queue", "GET", "/console/queue")
        result.samples.append(sample)
        if page.status == 302:  # sent back to the login page: the session ended
            logged_in = False
            continue
        stop.wait(plan.console_think)
        if numbers := ticket_numbers(page.text):
            ticket = f"/console/tickets/{rng.choice(numbers)}"
            result.samples.append(agent.call("console ticket", "GET", ticket)[0])
            stop.wait(plan.console_think)
        if rounds % 3 == 0:
            subject = f"系统测试来电 {plan.run}-{index}-{rounds}"
            phone = f"139{index:02d}{rounds % 1000000:06d}"
            result.attempted.append(subject)
            # The caller names the child: the console looks them up and keeps only a hash and a mask.
            fields = call_fields(subject, phone, rng.choice(plan.schools), rng.choice(plan.found))
            samples, number = agent.log_call(fields)
            result.samples += samples
            if number is not None:
                result.created.append((subject, number))
        rounds += 1


def _mail(plan: Plan, index: int, stop: threading.Event, result: Result) -> None:
    """Complaints at a steady rate, each with a Message-ID of its own."""
    rng, n, due = random.Random(f"{plan.run}-mail-{index}"), 0, time.monotonic()
    while not stop.is_set():
        message_id, raw = complaint(n, f"{plan.run}m{index}", rng.choice(plan.schools))
        sample, accepted = send_mail(plan.smtp_port, message_id, raw, f"p{n}@qq.com")
        result.samples.append(sample)
        result.mails.append((message_id, accepted))
        n += 1
        due += 1 / plan.mail_per_second
        stop.wait(max(0.0, due - time.monotonic()))


def _readiness(plan: Plan, index: int, stop: threading.Event, result: Result) -> None:
    """/readyz four times a second, as a balancer would ask: it shows when each fault began and ended."""
    while not stop.is_set():
        result.samples.append(timed("readyz", plan.web_port, "GET", "/readyz")[0])
        stop.wait(0.25)


Loop = Callable[[Plan, int, threading.Event, Result], None]
KINDS: dict[str, tuple[Loop, Callable[[Plan], int]]] = {
    "lookup": (_lookups, lambda plan: plan.lookup_threads),
    "status": (_status, lambda plan: plan.status_threads),
    "console": (_console, lambda plan: len(plan.agents)),
    "mail": (_mail, lambda plan: 1),
    "readyz": (_readiness, lambda plan: 1),
}


def _drive(kind: str, plan: Plan, stop: Any, out: multiprocessing.Queue) -> None:
    """A child process: the threads of one kind of load, until ``stop``; the result to ``out``."""
    loop, threads = KINDS[kind]
    done = threading.Event()
    results = [Result() for _ in range(threads(plan))]
    workers = [threading.Thread(target=loop, args=(plan, i, done, results[i]), daemon=True)
               for i in range(len(results))]
    for worker in workers:
        worker.start()
    stop.wait()
    done.set()
    for worker in workers:
        worker.join(60)
    total = Result()
    for result in results:
        total.extend(result)
    total.cpu_seconds = time.process_time()
    out.put((kind, total))


class Load:
    """The load processes, started together and stopped together."""

    def __init__(self, plan: Plan, kinds: tuple[str, ...] = tuple(KINDS)) -> None:
        # Forked, not spawned: the children need this module as loaded, and the
        # parent starts no thread before them.
        context = multiprocessing.get_context("fork")
        self.stop_event = context.Event()
        self.out: multiprocessing.Queue = context.Queue()
        self.processes = [context.Process(target=_drive, args=(kind, plan, self.stop_event, self.out),
                                          name=f"load-{kind}", daemon=True) for kind in kinds]
        self.started = 0.0

    def start(self) -> None:
        self.started = time.monotonic()
        for process in self.processes:
            process.start()

    def stop(self) -> dict[str, Result]:
        self.stop_event.set()
        results: dict[str, Result] = {}
        deadline = time.monotonic() + 120
        while len(results) < len(self.processes) and time.monotonic() < deadline:
            try:
                kind, result = self.out.get(timeout=1)
            except queue.Empty:
                if not any(p.is_alive() for p in self.processes) and self.out.empty():
                    break
                continue
            results[kind] = result
        for process in self.processes:
            process.join(5)
            if process.is_alive():
                process.kill()
        if missing := [p.name for p in self.processes if p.name.removeprefix("load-") not in results]:
            raise RuntimeError(f"load processes gave no result: {', '.join(missing)}")
        return results


def burst(plan: Plan, n: int, tag: str) -> Result:
    """``n`` complaints as fast as one client sends them: a batch for the workers to be killed in."""
    result, rng = Result(), random.Random(f"{plan.run}-{tag}")
    for i in range(n):
        message_id, raw = complaint(i, f"{plan.run}{tag}", rng.choice(plan.schools))
        sample, accepted = send_mail(plan.smtp_port, message_id, raw, f"b{i}@qq.com")
        result.samples.append(sample)
        result.mails.append((message_id, accepted))
    return result
