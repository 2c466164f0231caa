"""The national supervisors' dashboard with 10,000 and with 1,000,000 tickets, on PostgreSQL.

For each size a throwaway PostgreSQL database is migrated, seeded with the
national tree and filled with a year of synthetic tickets spread over its
units (bench/dashboard_fill.py: most closed with every clock judged, the
recent ones open, 2 % stalled and overdue). The dashboard's tables are then
sealed once, as the first page of the day would (timed and printed), and
the ministry's dashboard is rendered several times:

- ``stats``: ``hotline.console.stats.dashboard`` for 000000, every figure;
- ``page``: GET /console/dashboard as a logged-in national supervisor
  through Flask's test client: the same figures, the template, the SVG
  trend charts, the access checks.

Headline: p50 of the page at the largest size ÷ p50 at 10,000 (goal ≤ 3:
the aggregation is indexed SQL over the sealed histograms and the open
work, not a pass over the tickets). ``--quick`` uses 10,000 and 100,000
tickets and prints ``dashboard ratio=X.XX`` last.
Usage: ``.venv/bin/python bench/dashboard.py [--quick] [--url postgresql://…] [--runs N]``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hotline import db

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
NATIONAL = "000000"
PASSWORD = "Xueji#Kanban2026"


def stats_runner(engine: Engine, now: datetime.datetime) -> Callable[[], object]:
    from hotline.calendar import WorkCalendar
    from hotline.console.stats import dashboard

    def run() -> object:
        with Session(engine) as session:
            return dashboard(session, NATIONAL, now=now, calendar=WorkCalendar.from_session(session))
    return run


def page_runner(stack: ExitStack, url: str, folder: Path) -> Callable[[], object]:
    """GET /console/dashboard as a national supervisor, through the whole app."""
    from hotline.app import create_app
    from hotline.config import load_settings
    from hotline.console.accounts import create_user

    settings = load_settings({}, env="testing", database_url=url, secret_key="bench-" + "0" * 32,
                             id_hash_key="bench-" + "1" * 32, instance_path=str(folder / "instance"))
    app = create_app(settings)
    with app.app_context():
        session = db.session()
        create_user(session, username="supervisor", unit_code=NATIONAL, role="supervisor", password=PASSWORD,
                    name="看板测试")
        session.commit()
    stack.callback(app.extensions["xueji.engine"].dispose)
    client = app.test_client()
    page = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post("/console/login",
                         data={"csrf_token": token, "username": "supervisor", "password": PASSWORD})
    assert answer.status_code == 302, f"bench login refused: {answer.status_code}"

    def run() -> object:
        response = client.get("/console/dashboard")
        assert response.status_code == 200, f"dashboard answered {response.status_code}"
        return response
    return run


def prepare(stack: ExitStack, admin_url: str, n: int, folder: Path) -> dict[str, Callable[[], object]]:
    """A filled, sealed database of ``n`` tickets, and a render function of each kind."""
    from bench.dashboard_fill import fill
    from bench.databases import throwaway_database
    from hotline.console.stats_seal import rebuild

    url = stack.enter_context(throwaway_database(admin_url, "xueji_bench_dashboard"))
    engine = db.make_engine(url)
    stack.callback(engine.dispose)
    db.upgrade(engine)
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    started = time.perf_counter()
    fill(engine, n, now)
    filled = time.perf_counter() - started
    started = time.perf_counter()
    with Session(engine) as session:
        rebuild(session, now)
        session.commit()
    sealed = time.perf_counter() - started
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE dashboard_response")
        connection.exec_driver_sql("VACUUM ANALYZE dashboard_flow")
        clocks, open_tickets, overdue, rows = connection.exec_driver_sql(
            "SELECT (SELECT count(*) FROM ticket_clocks),"
            " (SELECT count(*) FROM tickets WHERE step <> 'closed'),"
            " (SELECT count(*) FROM ticket_clocks WHERE stopped_at IS NULL AND due_at < now()),"
            " (SELECT count(*) FROM dashboard_response)").one()
    print(f"{n:>9,} tickets: filled in {filled:5.1f} s ({clocks:,} clocks; {open_tickets:,} tickets open, "
          f"{overdue:,} clocks overdue); first sealing {sealed:.1f} s ({rows:,} histogram rows)", flush=True)
    return {"stats": stats_runner(engine, now), "page": page_runner(stack, url, folder / str(n))}


def measure(admin_url: str, sizes: tuple[int, ...], runs: int) -> dict[int, dict[str, float]]:
    """p50 of each kind of render at each size; the sizes take turns, so that they meet the
    same background load."""
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="xueji-bench-dashboard-")))
        runners = {n: prepare(stack, admin_url, n, folder) for n in sizes}
        times: dict[int, dict[str, list[float]]] = {n: {"stats": [], "page": []} for n in sizes}
        for n in sizes:  # warm the caches and the connection pools
            for run in runners[n].values():
                run()
        for _ in range(runs):
            for n in sizes:
                for kind, run in runners[n].items():
                    started = time.perf_counter()
                    run()
                    times[n][kind].append(time.perf_counter() - started)
    for n in sizes:
        for kind in ("stats", "page"):
            print(f"{n:>9,} {kind:5} runs (ms): " + ", ".join(f"{t * 1000:.0f}" for t in times[n][kind]))
    return {n: {kind: statistics.median(values) for kind, values in times[n].items()} for n in sizes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 and 100,000 tickets")
    parser.add_argument("--runs", type=int, default=15,
                        help="timed renders of each kind per size (default 15)")
    parser.add_argument("--url", default=os.environ.get("XUEJI_BENCH_DATABASE_URL", DEFAULT_PG),
                        help="a PostgreSQL server where a throwaway database may be created")
    args = parser.parse_args()
    sizes = (10_000, 100_000) if args.quick else (10_000, 1_000_000)
    results = measure(args.url, sizes, args.runs)
    small, large = results[sizes[0]], results[sizes[-1]]
    print()
    print("tickets     stats p50   page p50")
    for n in sizes:
        print(f"{n:>9,}  {results[n]['stats'] * 1000:8.1f} ms {results[n]['page'] * 1000:8.1f} ms")
    print(f"ratio {sizes[-1]:,} ÷ {sizes[0]:,}: stats {large['stats'] / small['stats']:.2f}, "
          f"page {large['page'] / small['page']:.2f} (goal ≤ 3)")
    print(f"dashboard ratio={large['page'] / small['page']:.2f}")


if __name__ == "__main__":
    # Python puts this script's folder first on sys.path, where bench/lookup.py
    # would shadow the lookup package; the repository root takes its place.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(here.parent))
    main()
