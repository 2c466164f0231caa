"""Public lookups per second under gunicorn, as a ratio of ``/healthz`` on the same server.

For each backend (SQLite, PostgreSQL) and registry size (100,000 and 1,000,000
synthetic students; 10,000,000 more with ``--full``) a database is migrated,
seeded and filled through the real importers, then served by gunicorn with
2 sync workers. wrk, a second process on loopback, takes turns between GET
``/healthz`` (the trivial endpoint: the baseline) and POST ``/api/v1/lookup``
with real (name, ID number) pairs of the registry, a tenth of them with a
wrong name, for a fixed time each. Each lookup is limited (memory storage,
limits set too high to trigger), hashed, searched, audited and committed:
all of that is measured. Headlines: lookups/s ÷ healthz/s (goal ≥ 0.6) and
the lookup p50 at the largest size ÷ at 100,000 (goal ≤ 1.3). ``--quick`` is
100,000 students only, short runs, under a minute; it prints
``lookup ratio=X.XX`` (the lowest ratio) last. Any 5xx, or lookups that are
not a mix of 200 and 404, fail the run (exit status 1) after the table.
A second table gives the CPU time per request of gunicorn's processes and,
for a PostgreSQL server on this machine, of the server processes serving the
bench's database: where the time goes, and a figure that other load on the
machine moves much less than the rates.
Usage: ``.venv/bin/python bench/lookup.py [--quick | --full] [--backend sqlite]``.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.orm import Session

from hotline import db

HERE = Path(__file__).resolve().parent
WRK = "/usr/bin/wrk"
SIZES = (100_000, 1_000_000)
FULL_SIZE = 10_000_000
N_PAIRS = 10_000
WRONG_NAMES = 0.10  # share of lookups that name the wrong child: answered 404
UNLIMITED = "100000000 per minute"  # flask-limiter still counts, so its cost is measured
QUICK_BUDGET = 55.0  # seconds --quick may spend before it stops adding backends
MARK = "WRK-RESULT "
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")  # the unit of CPU times in /proc/<pid>/stat

# One Lua state per wrk thread: each reads the bodies, starts at its own place
# (a run's start, given by the bench, and the thread's offset) and counts
# statuses; done() (in the main state) sums the threads.
WRK_SCRIPT = r"""
local threads = {}
local started = 0

function setup(thread)
  started = started + 1
  thread:set("id", started)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  mode = args[1]
  if mode == "lookup" then
    bodies = {}
    for line in io.lines(args[2]) do bodies[#bodies + 1] = line end
    at = (tonumber(args[3]) + id * 7919) % #bodies
    headers = {["Content-Type"] = "application/json"}
  else
    get = wrk.format("GET", "/healthz")
  end
end

function request()
  if mode ~= "lookup" then return get end
  at = at % #bodies + 1
  return wrk.format("POST", "/api/v1/lookup", headers, bodies[at])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[#counts + 1] = string.format('{"%d": %d}', status, n)
    end
  end
  local quantiles = {}  -- microseconds at bench/lookup.py's GRID of percentiles
  for i = 1, 198 do quantiles[#quantiles + 1] = latency:percentile(i / 2) end
  for i = 1, 10 do quantiles[#quantiles + 1] = latency:percentile(99 + i / 10) end
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %d, "seconds": %.6f, "socket_errors": %d, "statuses": [%s], "quantiles": [%s]}\n',
    "MARK", summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.timeout,
    table.concat(counts, ", "), table.concat(quantiles, ", ")))
end
""".replace('"MARK"', json.dumps(MARK))
# The percentiles wrk reports of each run, finer in the tail: through them the
# runs of one endpoint are merged into one distribution.
GRID = [i / 2 for i in range(1, 199)] + [99 + i / 10 for i in range(1, 11)]


def _bench_import():
    """bench/import.py, whose database helpers this bench shares. Its name is a
    keyword, so it is loaded from its path rather than imported."""
    spec = importlib.util.spec_from_file_location("bench_import", HERE / "import.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


common = _bench_import()
KEY: bytes = common.KEY


# --- the registry -----------------------------------------------------------


def write_pairs(students_csv: Path, out: Path, n_students: int, seed: int = 2016) -> int:
    """Write JSON lookup bodies, one a line, for ``N_PAIRS`` students with an ID number
    drawn evenly from the whole file; a tenth carry another student's name."""
    rng = random.Random(seed)
    wanted = set(rng.sample(range(n_students), min(N_PAIRS * 2, n_students)))
    pairs: list[tuple[str, str]] = []
    with students_csv.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for line, (_number, _kind, name, ident, *_rest) in enumerate(reader):
            if line in wanted and ident:
                pairs.append((name, ident))
    # Twice the draws so that J and L students (no ID number) leave enough.
    pairs = rng.sample(pairs, min(N_PAIRS, len(pairs)))
    names = [name for name, _ in pairs]
    bodies = []
    for i, (name, ident) in enumerate(pairs):
        if i < len(pairs) * WRONG_NAMES:
            right = name
            while name == right:
                name = rng.choice(names)
        bodies.append(json.dumps({"name": name, "id_number": ident}, ensure_ascii=False))
    rng.shuffle(bodies)
    out.write_text("\n".join(bodies) + "\n", encoding="utf-8")
    return len(bodies)


def fill(url: str, students_csv: Path, history_csv: Path) -> float:
    """Import the students and their number history through the real importers; seconds."""
    from lookup.history import import_history
    from lookup.importers import import_students

    start = time.perf_counter()
    engine = db.make_engine(url)
    try:
        with Session(engine) as session:
            import_students(session, students_csv, KEY)
            import_history(session, history_csv)
            session.commit()
    finally:
        engine.dispose()  # on SQLite the last close checkpoints the WAL into the file
    seconds = time.perf_counter() - start
    # Settle what a fresh import leaves for later, so that it does not weigh on
    # the measurement of another size: what autovacuum would do in the minutes
    # after a real import (statistics, hint bits, visibility map), and the
    # kernel's writing back of the dirty pages.
    if url.startswith("postgresql"):
        engine = db.make_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
        finally:
            engine.dispose()
    os.sync()
    return seconds


def count_audit(url: str) -> int:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql("SELECT count(*) FROM lookup_audit").scalar_one()
    finally:
        engine.dispose()


# --- the server and the load ------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(url: str, instance: Path) -> dict[str, str]:
    """The process environment with our XUEJI_* settings only: a stray one of the
    caller's would change what is measured, or be refused as unknown."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XUEJI_")}
    env.update({
        "XUEJI_ENV": "production",
        "XUEJI_DATABASE_URL": url,
        "XUEJI_SECRET_KEY": secrets.token_hex(32),
        "XUEJI_ID_HASH_KEY": KEY.decode(),  # the key the students were imported with
        "XUEJI_INSTANCE_PATH": str(instance),
        "XUEJI_LOOKUP_CLIENT_LIMITS": UNLIMITED,
        "XUEJI_LOOKUP_IDENTITY_LIMITS": UNLIMITED,
    })
    return env


@contextmanager
def gunicorn(url: str, folder: Path, log_path: Path, workers: int,
             worker_threads: int = 1) -> Iterator[tuple[str, int]]:
    """Serve the app on a free loopback port with sync workers; yield its base URL and
    the master's process id.

    gunicorn runs in a session of its own, so the whole group (master and
    workers) is stopped at the end, however the bench ends.
    """
    port = free_port()
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(worker_threads),
             "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "hotline.app:create_app()"],
            cwd=folder, env=server_environment(url, folder / "instance"),
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {server.returncode}:\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer in 30 s:\n{log_path.read_text()}")
            time.sleep(0.1)
        try:
            yield base, server.pid
        except Exception:
            # The log goes with the temporary folder: show its end while there is one.
            print(f"--- end of gunicorn's log:\n{log_path.read_text()[-4000:]}", file=sys.stderr)
            raise
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn died during the run:\n{log_path.read_text()}")
    finally:
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(server.pid, sig)
                server.wait(wait)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU seconds the processes have used so far (the gone count 0)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def _processes(match) -> list[int]:
    """The ids of the processes whose (ppid, command line) ``match`` accepts."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if match(ppid, command):
                found.append(int(entry.name))
    return found


def cpu_users(master: int, url: str) -> dict[str, list[int]]:
    """Who works for a request: gunicorn's processes ("app") and, when the PostgreSQL
    server runs on this machine, the server processes serving the bench's database
    ("database"; the WAL writer and other shared processes are not counted)."""
    users = {"app": [master, *_processes(lambda ppid, _command: ppid == master)]}
    if url.startswith("postgresql"):
        name = make_url(url).database
        users["database"] = _processes(lambda _ppid, command: command.startswith("postgres:")
                                       and f" {name} " in command)
    return users


def wrk(base: str, script: Path, args: argparse.Namespace, seconds: float, *mode: str,
        cpu: dict[str, list[int]] | None = None) -> dict:
    """One fixed-time wrk run: requests, seconds, statuses and latency quantiles."""
    before = {who: _cpu_seconds(pids) for who, pids in (cpu or {}).items()}
    done = subprocess.run(
        [WRK, f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds:g}s", "--timeout", "10s",
         "-s", str(script), base, "--", *mode],
        capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    if done.returncode or not lines:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result = json.loads(lines[-1].removeprefix(MARK))
    statuses: Counter[int] = Counter()
    for part in result["statuses"]:  # one object per wrk thread
        statuses.update({int(status): n for status, n in part.items()})
    result["statuses"] = statuses
    result["cpu"] = {who: _cpu_seconds(pids) - before[who] for who, pids in (cpu or {}).items()}
    return result


def merge(runs: list[dict]) -> dict:
    """The runs of one endpoint as one: requests/s over their whole time, statuses
    summed, percentiles (ms) of the mixture of their latency distributions."""
    requests = sum(run["requests"] for run in runs)
    masses = sorted((us, (p - below) / 100 * run["requests"]) for run in runs
                    for below, p, us in zip([0, *GRID[:-1]], GRID, run["quantiles"], strict=True))

    def percentile(p: float) -> float:
        wanted, total = p / 100 * requests, 0.0
        for us, mass in masses:
            total += mass
            if total >= wanted - 1e-6:
                return us / 1000
        return masses[-1][0] / 1000

    cpu = {who: sum(run["cpu"].get(who, 0.0) for run in runs) for who in runs[0]["cpu"]}
    return {"requests": requests, "rps": requests / sum(run["seconds"] for run in runs),
            "cpu_us": {who: seconds / max(1, requests) * 1e6 for who, seconds in cpu.items()},
            "statuses": sum((run["statuses"] for run in runs), Counter()),
            "socket_errors": sum(run["socket_errors"] for run in runs),
            "p50": percentile(50), "p99": percentile(99)}


def problems_of(what: str, run: dict, *, lookup: bool) -> list[str]:
    """What is wrong with a run's answers: any 5xx, any status the endpoint should
    not give, and, for lookups, a found/not-found mix unlike the bodies' (a lookup
    run answered only 400 or 429 measures nothing)."""
    statuses = run["statuses"]
    expected = {200, 404} if lookup else {200}
    problems = []
    if errors := sum(n for status, n in statuses.items() if status >= 500):
        problems.append(f"{what}: {errors} answers 5xx")
    if unexpected := {s: n for s, n in statuses.items() if s not in expected and s < 500}:
        problems.append(f"{what}: unexpected statuses {unexpected}")
    if run["socket_errors"]:
        problems.append(f"{what}: {run['socket_errors']} socket errors or timeouts")
    if lookup:
        answered = statuses.get(200, 0) + statuses.get(404, 0)
        if not answered:
            problems.append(f"{what}: no lookup answered 200 or 404, so nothing was measured")
        elif not errors and abs(statuses.get(404, 0) / answered - WRONG_NAMES) > 0.05:
            problems.append(f"{what}: {statuses.get(404, 0) / answered:.1%} not found, expected "
                            f"{WRONG_NAMES:.0%} (the wrong names); is the ID-hash key the import's?")
    elif not statuses.get(200):
        problems.append(f"{what}: no answer 200")
    return problems


def logged_errors(log: Path) -> list[str]:
    """The distinct exceptions in a gunicorn log, with their counts."""
    counts: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        if re.match(r"[\w.]+(Error|Exception|Exit): ", line):
            counts[line[:200]] = counts.get(line[:200], 0) + 1
    return [f"{n} × {line}" for line, n in counts.items()]


def measure(backend: str, registries: dict[int, tuple[str, Path]], folder: Path, script: Path,
            args: argparse.Namespace) -> dict[int, dict]:
    """Serve every size of registry at once, then measure each server's /healthz and lookups.

    ``registries`` maps a size to its database URL and lookup bodies. An idle
    server costs nothing, so all of them run and take turns: in each of
    ``args.rounds`` rounds every server gets its /healthz and its lookups, in an
    order reversed from one round to the next, so that whatever else the
    machine does weighs on every figure alike and the sizes compare fairly.
    """
    audited = {n: count_audit(url) for n, (url, _) in registries.items()}
    logs = {n: folder / f"gunicorn-{backend}-{n}.log" for n in registries}
    turns = [(n, what) for n in registries for what in ("healthz", "lookup")]
    runs: dict[tuple[int, str], list[dict]] = {turn: [] for turn in turns}
    warm: dict[int, dict] = {}
    starts = random.Random(2016)

    def lookups(n: int) -> tuple[str, ...]:
        # Each run starts somewhere else in the bodies, so that the runs together
        # ask for many students rather than the same few again.
        return "lookup", str(registries[n][1]), str(starts.randrange(N_PAIRS))

    with ExitStack() as servers:
        bases, users = {}, {}
        for n, (url, _) in registries.items():
            bases[n], master = servers.enter_context(gunicorn(url, folder, logs[n], args.workers,
                                                                         args.worker_threads))
            warm[n] = wrk(bases[n], script, args, args.warmup, *lookups(n))
            # After the warm-up: the workers and their database connections exist.
            users[n] = cpu_users(master, url)
        for i in range(args.rounds):
            for n, what in turns[::1 if i % 2 == 0 else -1]:
                mode = lookups(n) if what == "lookup" else ("healthz",)
                runs[n, what].append(run := wrk(bases[n], script, args, args.duration / args.rounds, *mode,
                                                cpu=users[n]))
                if args.verbose:
                    print(f"  round {i + 1} {backend} {n:,} {what}: "
                          f"{run['requests'] / run['seconds']:,.0f}/s, "
                          f"statuses {dict(sorted(run['statuses'].items()))}", flush=True)
    results = {}
    for n, (url, _) in registries.items():
        label = f"{backend} {n:,}"
        health, lookup = merge(runs[n, "healthz"]), merge(runs[n, "lookup"])
        problems = (problems_of("warm-up", warm[n], lookup=True)
                    + problems_of("/healthz", health, lookup=False)
                    + problems_of("/api/v1/lookup", lookup, lookup=True))
        # Every lookup answered 200 or 404 committed its audit row (more may have been in flight).
        answered = sum(run["statuses"][200] + run["statuses"][404] for run in (warm[n], *runs[n, "lookup"]))
        if (rows := count_audit(url) - audited[n]) < answered:
            problems.append(f"{answered} lookups answered but only {rows} audit rows written")
        if problems:
            problems += [f"gunicorn logged {line}" for line in logged_errors(logs[n])]
        statuses = lookup["statuses"]
        results[n] = {"healthz_rps": health["rps"], "lookup_rps": lookup["rps"],
                      "healthz_cpu": health["cpu_us"], "lookup_cpu": lookup["cpu_us"],
                      "ratio": lookup["rps"] / health["rps"], "p50": lookup["p50"], "p99": lookup["p99"],
                      "errors": sum(c for status, c in statuses.items() if status not in (200, 404)),
                      "found": statuses[200] / max(1, statuses.total()), "problems": problems}
        print(f"{label}: healthz {health['rps']:,.0f}/s (p50 {health['p50']:.1f} ms), lookup "
              f"{lookup['rps']:,.0f}/s (p50 {lookup['p50']:.1f} ms, p99 {lookup['p99']:.1f} ms), "
              f"ratio {results[n]['ratio']:.2f}; lookup statuses {dict(sorted(statuses.items()))}",
              flush=True)
        for problem in problems:
            print(f"{label}: PROBLEM {problem}", file=sys.stderr, flush=True)
    return results


# --- the run ----------------------------------------------------------------


def report(results: dict[str, dict[int, dict]]) -> float:
    """Print the table and the size ratios; return the lowest lookup ratio."""
    print(f"\n{'backend':<11}{'students':>12}{'healthz/s':>11}{'lookup/s':>10}{'ratio':>7}"
          f"{'p50 ms':>8}{'p99 ms':>8}{'found':>7}{'errors':>8}")
    for backend, sizes in results.items():
        for n, r in sizes.items():
            print(f"{backend:<11}{n:>12,}{r['healthz_rps']:>11,.0f}{r['lookup_rps']:>10,.0f}"
                  f"{r['ratio']:>7.2f}{r['p50']:>8.1f}{r['p99']:>8.1f}{r['found']:>7.1%}"
                  f"{r['errors']:>8}")
    # A measure of work rather than of speed: what other processes on the machine
    # do changes the rates, much less the CPU our own processes spend per request.
    print(f"\n{'CPU µs per request':<23}{'healthz app':>12}{'lookup app':>11}{'lookup db':>10}"
          f"{'ratio':>7}")
    for backend, sizes in results.items():
        for n, r in sizes.items():
            app_h, app_l = r["healthz_cpu"]["app"], r["lookup_cpu"]["app"]
            db_l = r["lookup_cpu"].get("database")
            print(f"{backend:<11}{n:>12,}{app_h:>12,.0f}{app_l:>11,.0f}"
                  f"{'–' if db_l is None else f'{db_l:,.0f}':>10}{app_h / (app_l + (db_l or 0)):>7.2f}")
    for backend, sizes in results.items():
        small, large = min(sizes), max(sizes)
        if small != large:
            print(f"{backend}: lookup p50 at {large:,} ÷ at {small:,} students: "
                  f"{sizes[large]['p50'] / sizes[small]['p50']:.2f} (goal ≤ 1.3)")
    return min(r["ratio"] for sizes in results.values() for r in sizes.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="100,000 students, short runs, under a minute")
    mode.add_argument("--full", action="store_true", help="also 10,000,000 students (takes long)")
    parser.add_argument("--sizes", type=lambda s: [int(n) for n in s.split(",")],
                        help="comma-separated registry sizes instead (p50 ratio: largest ÷ smallest)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get("XUEJI_BENCH_DATABASE_URL", common.DEFAULT_PG),
                        help="an existing database on the server to benchmark "
                             "[XUEJI_BENCH_DATABASE_URL]; the bench creates and drops its own")
    parser.add_argument("--duration", type=float,
                        help="seconds of load per endpoint (default 15; --quick 4)")
    parser.add_argument("--rounds", type=int, help="turns the endpoints take (default 3; --quick 2)")
    parser.add_argument("--warmup", type=float, help="seconds of lookups first (default 3; --quick 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--worker-threads", type=int, default=1,
                        help="threads per gunicorn worker (more than 1: gthread workers; default 1, sync)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every wrk run")
    args = parser.parse_args()
    args.duration = args.duration or (4.0 if args.quick else 15.0)
    args.rounds = args.rounds or (2 if args.quick else 3)
    args.warmup = args.warmup or (2.0 if args.quick else 3.0)
    sizes = sorted(set(args.sizes or ([SIZES[0]] if args.quick else
                                      [*SIZES, FULL_SIZE] if args.full else SIZES)))
    if min(sizes) < 1000:
        parser.error("sizes must be at least 1000 students")
    if not os.access(WRK, os.X_OK):
        sys.exit(f"{WRK} not found: install Debian's wrk package (apt-get install wrk)")
    # SIGTERM ends the bench like Ctrl-C: through every finally, stopping gunicorn
    # and dropping the databases. SIGINT is set too, since a shell that starts the
    # bench in the background leaves it ignored.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)

    from lookup.divisions import derive_units, read_stdnum
    from lookup.synth import DemoFiles, write_demo_registry

    started = time.perf_counter()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and (why := common.postgresql_answers(args.pg_url)) is not None:
        shown = make_url(args.pg_url).render_as_string(hide_password=True)
        print(f"postgresql: skipped, no server answers at {shown} ({why})", flush=True)
        backends.remove("postgresql")
    results: dict[str, dict[int, dict]] = {}
    took = 0.0  # seconds the last backend took to fill and measure
    with tempfile.TemporaryDirectory(prefix="xueji-bench-") as tmp:
        folder = Path(tmp)
        script = folder / "lookup.lua"
        script.write_text(WRK_SCRIPT)
        units = derive_units(read_stdnum())
        registry: dict[int, tuple[DemoFiles, Path]] = {}
        for n in sizes:
            t = time.perf_counter()
            files = write_demo_registry(folder / f"csv_{n}", units, n_students=n)
            bodies = folder / f"bodies_{n}.jsonl"
            pairs = write_pairs(files.students_csv, bodies, n)
            registry[n] = files, bodies
            print(f"generated {n:,} students, {files.n_schools} schools, {files.n_history} number "
                  f"changes, {pairs} lookup bodies in {time.perf_counter() - t:.1f} s", flush=True)
        schools_csv = registry[sizes[0]][0].schools_csv  # the same for every size: one seed
        for backend in backends:
            if args.quick and results and time.perf_counter() - started + 1.2 * took > QUICK_BUDGET:
                print(f"{backend}: skipped, --quick has no time left for it", flush=True)
                continue
            t = time.perf_counter()
            databases = (common.sqlite_databases(folder, schools_csv) if backend == "sqlite"
                         else common.postgresql_databases(args.pg_url, schools_csv))
            with databases as factory:
                urls = {}
                for n, (files, bodies) in registry.items():
                    urls[n] = factory(f"students_{n}"), bodies
                    seconds = fill(urls[n][0], files.students_csv, files.history_csv)
                    print(f"{backend}: imported {n:,} students in {seconds:.1f} s", flush=True)
                results[backend] = measure(backend, urls, folder, script, args)
            for path in folder.glob("*.sqlite3*"):  # the larger registries need the disk
                path.unlink()
            took = time.perf_counter() - t
    if not results:
        sys.exit("no backend could be benchmarked")
    lowest = report(results)
    if failed := sum(len(r["problems"]) for sizes in results.values() for r in sizes.values()):
        print(f"FAILED: {failed} problems, each shown above as PROBLEM", file=sys.stderr)
    print(f"(took {time.perf_counter() - started:.0f} s)", flush=True)
    print(f"lookup ratio={lowest:.2f}", flush=True)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    # Python puts this script's folder first on sys.path, where this file would
    # shadow the lookup package it measures.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted; servers stopped, databases dropped")
