"""The whole service under load, faults and abuse (issue 7 item 4): errors, lost and duplicated.

It starts its own PostgreSQL cluster and Redis (so that it may restart them),
migrates and seeds a demo registry, creates console accounts, and runs the
service as in production: gunicorn with 2 workers (``deploy/gunicorn.conf.py``
and ``hotline/wsgi.py`` when present), ``XUEJI_ENV=production`` with secrets
generated for the run, limits in Redis, the SMTP receiver and two mail
workers. Then, for a fixed time and all at once: public lookups (found and
not found) and status queries from many client addresses (each request its
own ``X-Forwarded-For`` address, so the production limits stay in force and
never stop the legitimate load), console agents working their queue and
logging calls, and mail over SMTP. During that load PostgreSQL is restarted,
Redis stopped and started, and a mail worker SIGKILLed mid-batch. After it,
the enumeration and password-guessing runs. Last, the database is compared
with what the clients were told: every mail answered 250 has exactly one
``received_mail`` row, every ticket the console confirmed exists once.

Usage: ``.venv/bin/python bench/system.py [--quick | --smoke] [--keep]``. The
last line is ``system errors=N lost=N duplicated=N``; the exit status is 1
when any is not 0 (errors: 5xx other than a 503 inside a fault's window,
requests with no answer, and every problem of the faults, the abuse runs and
the checks, each printed as ``PROBLEM``).
"""

from __future__ import annotations

import sys
from importlib.machinery import PathFinder
from pathlib import Path

HERE = Path(__file__).resolve().parent


class BenchModules:
    """Finds this bench's own modules (``system_*``) in bench/ without bench/ on sys.path,
    where bench/lookup.py would shadow the lookup package wherever it stood."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> object:
        return PathFinder.find_spec(name, [str(HERE)]) if name.startswith("system_") else None


# Python puts this script's folder first on sys.path: take it out.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.meta_path.insert(0, BenchModules())

import argparse  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from contextlib import ExitStack  # noqa: E402

from system_abuse import guess_passwords, per_client, per_identity  # noqa: E402
from system_checks import (  # noqa: E402
    count_audit,
    count_mail,
    count_tickets,
    leaked_ids,
    login_outcomes,
    wait_drained,
)
from system_cpu import CpuMeter, cores  # noqa: E402
from system_data import Sample, recovery, unaudited  # noqa: E402
from system_faults import RECOVERY_BOUND, Fault, kill_mail_worker, restart_postgresql, stop_redis  # noqa: E402
from system_load import Load, Result  # noqa: E402
from system_probes import tls_form_post  # noqa: E402
from system_report import endpoint_rows, print_endpoints, print_pairs  # noqa: E402
from system_setup import Site, start_site  # noqa: E402

QUICK = dict(students=20_000, duration=40.0, pg_down=2.0, redis_down=3.0, batch=100, kills=1,
             identities=2_000, clients=20, guesses=100, passwords=12, agents=2)
# The subset tests/system runs: every fault and abuse run, briefly.
SMOKE = dict(students=5_000, duration=20.0, pg_down=1.0, redis_down=2.0, batch=50, kills=1,
             identities=300, clients=10, guesses=30, passwords=8, agents=1)
FULL = dict(students=1_000_000, duration=180.0, pg_down=5.0, redis_down=5.0, batch=300, kills=3,
            identities=10_000, clients=100, guesses=1_000, passwords=30, agents=3)


def faults_under_load(site: Site, args: argparse.Namespace,
                      rng: random.Random) -> tuple[float, list[Fault], Result]:
    """Run the load for ``args.duration`` seconds with the three faults inside it, a fifth of the
    time apart; the seconds it ran, the faults, and every request and mail of it."""
    load = Load(site.plan)
    load.start()
    step = args.duration / 5
    time.sleep(step)
    postgresql, back = restart_postgresql(site.pg, args.pg_down)
    postgresql.figures["db_back_after_s"] = round(back - postgresql.window.start, 2)
    time.sleep(max(0.0, load.started + 2 * step - time.monotonic()))
    redis = stop_redis(site.redis, site.plan, args.redis_down)
    time.sleep(max(0.0, load.started + 3 * step - time.monotonic()))
    mail, sent = kill_mail_worker(site.workers, site.spool / "new", site.plan, args.batch, args.kills, rng)
    time.sleep(max(0.0, load.started + args.duration - time.monotonic()))
    for result in load.stop().values():
        sent.extend(result)
    return time.monotonic() - load.started, [postgresql, redis, mail], sent


def postgresql_line(fault: Fault, samples: list[Sample]) -> str:
    """How the site went through the restart; a problem if it took longer than the bound to recover."""
    bad, until = recovery([s for s in samples if s.endpoint not in ("smtp", "readyz")], fault.window)
    back = float(fault.figures["db_back_after_s"])
    after = 0.0 if until is None else max(0.0, until - back)
    if after > RECOVERY_BOUND:
        fault.problems.append(f"the site answered normally only {after:.1f} s after PostgreSQL was back")
    return (f"down {back} s; {bad} requests answered 503 (or failed) meanwhile; all normal again "
            f"{after:.1f} s after the database was back (bound {RECOVERY_BOUND:.0f} s)")


def print_load(seconds: float, cpu: dict[str, float]) -> None:
    """The load's length and where the machine's CPU went meanwhile."""
    parts = ", ".join(f"{name} {spent:.0f}" for name, spent in cpu.items()
                      if name not in ("machine", "other"))
    print(f"\nload: {seconds:.0f} s on {cores()} cores = {seconds * cores():.0f} CPU s, "
          f"busy {cpu['machine']:.0f}: "
          f"{parts}; other work on the machine {cpu['other']:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="a small registry and a short run (2-3 minutes)")
    mode.add_argument("--smoke", action="store_true", help="the shortest run of every part (about a minute)")
    parser.add_argument("--duration", type=float, help="seconds of load (quick 40, full 180)")
    parser.add_argument("--students", type=int, help="registry size (quick 20,000, full 1,000,000)")
    parser.add_argument("--identities", type=int, help="identities enumerated (quick 2,000, full 10,000)")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (logs, spool, database)")
    args = parser.parse_args()
    for name, value in (QUICK if args.quick else SMOKE if args.smoke else FULL).items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    # SIGTERM ends the run like Ctrl-C: through every finally, stopping every server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    rng = random.Random()
    folder = Path(tempfile.mkdtemp(prefix="xueji-system-"))
    folder.chmod(0o755)  # the postgres user must reach its cluster inside it
    problems: list[str] = []
    with ExitStack() as stack:
        if not args.keep:
            stack.callback(shutil.rmtree, folder, ignore_errors=True)
        site = stack.enter_context(start_site(folder, args))
        print(f"set up in {time.monotonic() - started:.0f} s: {site.describe}", flush=True)

        meter = CpuMeter({"gunicorn": site.web.cpu, "PostgreSQL": site.pg.cpu, "Redis": site.redis.cpu,
                          "mail": lambda: sum(p.cpu() for p in site.services[1:]),
                          "harness": time.process_time})
        meter.start()
        seconds, faults, sent = faults_under_load(site, args, rng)
        cpu = meter.stop()
        cpu["load generator"] = sent.cpu_seconds
        cpu["other"] -= sent.cpu_seconds
        problems += [f"{p.name} is not running after the load:\n{p.tail(1500)}"
                     for p in site.services if not p.alive()]
        if not wait_drained(site.spool / "new", 180):
            problems.append("the mail workers did not take up every stored message within 180 s")
        print(f"load and faults done at {time.monotonic() - started:.0f} s", flush=True)
        # The abuse runs, on a quiet service.
        enumeration = per_client(site.plan, args.identities, args.clients, rng)
        identity, position = per_identity(site.plan, args.guesses, rng)
        guessing = guess_passwords(site.plan.web_port, *site.victim, args.passwords)
        tls = tls_form_post(site.plan.web_port)
        print(f"abuse done at {time.monotonic() - started:.0f} s", flush=True)

        rows = endpoint_rows(sent.samples, seconds, [fault.window for fault in faults])
        print_load(seconds, cpu)
        print_endpoints(rows)
        mails = count_mail(site.url, sent.mails)
        tickets = count_tickets(site.url, sent.created, sent.attempted)
        postgresql, redis, mail = faults
        print_pairs("faults", [
            ("PostgreSQL restart", postgresql_line(postgresql, sent.samples)),
            ("Redis stop", ", ".join(f"{k}={v}" for k, v in redis.figures.items())),
            ("mail worker kill -9", ", ".join(f"{k}={v}" for k, v in mail.figures.items())),
            ("mail, whole run", f"sent {mails.sent} (250), outcomes recorded {mails.recorded}, "
                                f"lost {mails.lost}, duplicated {mails.duplicated}; {dict(mails.outcomes)}"),
            ("console tickets", f"confirmed {tickets.confirmed} of {tickets.attempted} saves, "
                                f"lost {tickets.lost}, duplicated {tickets.duplicated}; "
                                f"saved without an answer {tickets.unconfirmed_saved}"),
        ])
        logins = login_outcomes(site.url, site.victim[0])
        audit = count_audit(site.url)
        most = max(enumeration.through_by_client.values(), default=0)
        print_pairs("abuse", [
            (enumeration.name, f"{enumeration.through:,} through (not 429; at most {most} per address), "
                               f"{enumeration.refused:,} refused, {enumeration.found} found, "
                               f"{enumeration.errors} errors"),
            (identity.name, f"{identity.through} through, {identity.refused:,} refused, "
                            f"{identity.found} found (the real name was guess {position})"),
            (f"password guessing, {guessing.attempts} attempts",
             f"right password before: {'in' if guessing.control_ok else 'REFUSED'}; wrong ones let in: "
             f"{guessing.let_in}; right password while locked: "
             f"{'refused' if guessing.right_refused else 'LET IN'}; login_audit {dict(logins)}"),
            ("lookup_audit rows", dict(audit)),
        ])
        lookups = [s for s in (*sent.samples, *redis.samples, *enumeration.samples, *identity.samples)
                   if s.endpoint == "lookup"]
        problems += [f"lookup answers without their audit row: {line}"
                     for line in unaudited(audit, Counter(s.status for s in lookups))]
        leaks = leaked_ids(folder, [ident for _, ident in site.plan.found])
        print_pairs("checks", [("form POST through a TLS proxy", tls),
                               ("ID numbers in the logs", dict(leaks) or "none of those the run sent")])
        problems += [f"{log} holds {n} ID numbers the run sent" for log, n in leaks.items()]
        for fault in faults:
            problems += [f"{fault.name}: {p}" for p in fault.problems]
        if identity.found:
            problems.append("the per-identity enumeration found the real child")
        if not guessing.control_ok or guessing.let_in or not guessing.right_refused:
            problems.append("the password guessing was not stopped by the lockout")
        for problem in problems:
            print(f"PROBLEM {problem}", file=sys.stderr, flush=True)
        errors = sum(row.errors for row in rows) + enumeration.errors + identity.errors + len(problems)
        lost, duplicated = mails.lost + tickets.lost, mails.duplicated + tickets.duplicated
    if args.keep:
        print(f"kept {folder}")
    print(f"(took {time.monotonic() - started:.0f} s)")
    print(f"system errors={errors} lost={lost} duplicated={duplicated}", flush=True)
    if errors or lost or duplicated:
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted; servers stopped")
