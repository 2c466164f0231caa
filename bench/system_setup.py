"""Setting up the whole service for a system run, as an operator would in production.

Its own PostgreSQL cluster and Redis, ``xueji init``, the demo registry,
console accounts, gunicorn with 2 workers, the SMTP receiver and two mail
workers, all with ``XUEJI_ENV=production`` and secrets generated for the run.
Limits are the production defaults; the client addresses come through
``X-Forwarded-For`` from 127.0.0.1, the trusted proxy.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import secrets
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from system_data import client_address
from system_http import Agent, call_fields, request
from system_load import Plan
from system_services import (
    XUEJI,
    PostgresCluster,
    Process,
    RedisServer,
    answers,
    free_port,
    gunicorn_argv,
    wait_until,
    xueji,
)

PASSWORD = "Xj-System-Run-2026!"  # every account's: strong enough for the console's policy
STATUS_TICKETS = 8
SETUP_BLOCK = 120  # client addresses of the set-up's own console work


@dataclass
class Site:
    pg: PostgresCluster
    redis: RedisServer
    url: str
    spool: Path
    web: Process  # gunicorn's master
    workers: list[Process]
    services: list[Process]  # every long-running process of the service, to check they are all alive
    plan: Plan
    victim: tuple[str, str]  # the account the password guessing is aimed at
    describe: str


def environment(url: str, redis_uri: str, folder: Path) -> dict[str, str]:
    """Production settings with fresh secrets; nothing of the caller's XUEJI_* leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XUEJI_")}
    env.update({
        "XUEJI_ENV": "production",
        "XUEJI_DATABASE_URL": url,
        "XUEJI_SECRET_KEY": secrets.token_hex(32),
        "XUEJI_ID_HASH_KEY": secrets.token_hex(32),
        "XUEJI_MAIL_REPLY_KEY": secrets.token_hex(32),
        "XUEJI_INSTANCE_PATH": str(folder / "instance"),
        "XUEJI_RATELIMIT_STORAGE_URI": redis_uri,
        "XUEJI_TRUSTED_PROXIES": "127.0.0.1",
        "XUEJI_MAIL_SPOOL": str(folder / "spool"),
        "XUEJI_SMTP_HOST": "127.0.0.1",
        "XUEJI_SMTP_PORT": str(free_port()),
    })
    return env


def registry(demo: Path, found: int, seed: str) -> tuple[tuple, tuple, tuple, tuple]:
    """From the demo's CSV files: (name, ID number) of G students, all names, birthplace codes, schools."""
    pairs, names, regions = [], set(), set()
    with (demo / "students.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            names.add(row["name"])
            if row["kind"] == "G" and row["id_number"]:
                pairs.append((row["name"], row["id_number"]))
                regions.add(row["id_number"][:6])
    with (demo / "schools.csv").open(encoding="utf-8", newline="") as handle:
        schools = tuple(row["code"] for row in csv.DictReader(handle))
    rng = random.Random(seed)
    return (tuple(rng.sample(pairs, min(found, len(pairs)))), tuple(sorted(names)), tuple(sorted(regions)),
            schools)


def smtp_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            return connection.recv(3) == b"220"
    except OSError:
        return False


@contextmanager
def start_site(folder: Path, args: argparse.Namespace) -> Iterator[Site]:
    with ExitStack() as stack:
        pg = PostgresCluster(folder / "pg")
        pg.create()
        stack.callback(pg.destroy)
        pg.start()
        url = pg.create_database("xueji")
        redis = RedisServer(folder)
        redis.start()
        stack.callback(redis.stop)
        env = environment(url, redis.uri, folder)
        xueji(env, "init")
        xueji(env, "demo", "--students", str(args.students), "--no-serve")
        agents = tuple((f"agent{i}", PASSWORD) for i in range(1, args.agents + 1))
        victim = ("duty-officer", PASSWORD)
        for username, password in (*agents, victim):
            xueji(env, "user", "create", username, "--unit", "000000", "--role", "agent",
                  "--password", password)
        run = secrets.token_hex(3)
        found, names, regions, schools = registry(folder / "instance" / "demo", 5000, run)

        web_port = free_port()
        argv, used = gunicorn_argv(web_port, 2)
        web = Process("gunicorn", argv, folder / "gunicorn.log", env=env, cwd=folder).start()
        stack.callback(web.stop)
        wait_until(lambda: answers(f"http://127.0.0.1:{web_port}/healthz"), 60, "gunicorn", web)
        # Readiness (database and limit storage) where helper "ops"'s /readyz exists.
        readyz = request(web_port, "GET", "/readyz").status
        if readyz != 404:
            wait_until(lambda: request(web_port, "GET", "/readyz").status == 200, 60, "/readyz", web)
        smtp_port = int(env["XUEJI_SMTP_PORT"])
        receiver = Process("smtp", [XUEJI, "mail", "smtp"], folder / "smtp.log", env=env).start()
        stack.callback(receiver.stop)
        workers = [Process(f"worker{i}", [XUEJI, "mail", "work", "--interval", "0.2"],
                           folder / f"worker{i}.log", env=env).start() for i in (1, 2)]
        for worker in workers:
            stack.callback(worker.stop)
        wait_until(lambda: smtp_answers(smtp_port), 30, "the SMTP receiver", receiver)

        # Tickets for the status queries, logged at the console like any call.
        agent = Agent(web_port, *agents[0], client_address(SETUP_BLOCK, 0))
        if not agent.login()[1]:
            raise RuntimeError(f"agent {agents[0][0]} cannot log in:\n{web.tail()}")
        tickets = []
        for i in range(STATUS_TICKETS):
            phone = f"13700{i:06d}"
            number = agent.log_call(call_fields(f"状态查询用工单 {run}-{i}", phone, schools[i]))[1]
            if number is None:
                raise RuntimeError(f"the console did not save a call:\n{web.tail()}")
            tickets.append((number, phone))
        plan = Plan(web_port=web_port, smtp_port=smtp_port, run=run, found=found, names=names,
                    regions=regions, schools=schools, tickets=tuple(tickets), agents=agents)
        describe = (f"PostgreSQL {pg.port}, Redis {redis.port}, gunicorn {web_port} ({used}), "
                    f"SMTP {smtp_port}, "
                    f"2 mail workers, {args.students:,} students, {len(agents)} agents, "
                    f"/readyz {'absent' if readyz == 404 else 'ready'}")
        yield Site(pg, redis, url, folder / "spool", web, workers, [web, receiver, *workers], plan, victim,
                   describe)
