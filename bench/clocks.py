"""Recomputing provisional deadlines after a schedule load, against a bare UPDATE of the same rows.

A throwaway PostgreSQL database is migrated and seeded, then filled with N
open tickets (1,000,000; 100,000 with ``--quick``), each with a running
clock whose due date was computed provisionally for 2027 (start days spread
over the year, 3 or 5 working days, some extended by pauses). A 2027
schedule is loaded, as ``xueji calendar load`` does. Then, in turns, inside
a transaction that is rolled back (and vacuumed after) so each run sees the
same rows:

- baseline: ``UPDATE ticket_clocks SET due_day = due_day + 1`` over the same
  open provisional rows — the least any recomputation must cost;
- recompute: ``hotline.tickets.clocks.recompute_provisional``, what the
  command runs.

Headline: tickets/s of the recompute ÷ rows/s of the bare UPDATE (goal
≥ 0.3), the median of the runs. The results are checked: every clock
recomputed, none left provisional, due dates equal to the calendar's.
Usage: ``.venv/bin/python bench/clocks.py [--quick] [--url postgresql://…]``;
``--quick`` prints ``clocks ratio=X.XX`` last.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from hotline import db

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
YEAR = 2027


def fill(engine: Engine, n: int) -> None:
    """N open tickets on one county, each with a running provisional 2027 clock.

    Generated inside PostgreSQL (generate_series): the bench measures the
    recomputation, not how fast Python can insert a million rows.
    """
    from lookup.registry import seed

    with Session(engine) as session:
        seed(session)
        session.commit()
    with engine.begin() as connection:
        connection.execute(
            text("""
            INSERT INTO tickets (number, channel, category, subject, description, step, received_at,
                                 updated_at, receiving_unit_code, responsible_unit_code, current_unit_code,
                                 routing_rule, routing_trace, cross_province, disputed)
            SELECT :year || '-' || lpad(i::text, 7, '0'), 'phone', 'complaint', '测', '测', 'verify_issue',
                   now(), now(), '130102', '130102', '130102', 'one_school', '[]', false, false
            FROM generate_series(1, :n) AS i"""),
            {"year": YEAR, "n": n},
        )
        # Start days over the whole year (weekends included: mail arrives
        # every day), 3 or 5 working days, a tenth extended by a pause. The
        # stored due date is a placeholder: the bench checks that every one
        # is replaced by the calendar's.
        connection.execute(
            text("""
            INSERT INTO ticket_clocks (ticket_id, step, unit_code, started_at, start_day, days, extra_days,
                                       due_day, due_at, provisional)
            SELECT t.id, 'verify_issue', '130102', now(),
                   make_date(:year, 1, 1) + (t.id % 358)::int,
                   CASE WHEN t.id % 2 = 0 THEN 3 ELSE 5 END,
                   CASE WHEN t.id % 10 = 0 THEN (t.id / 10) % 4 ELSE 0 END,
                   make_date(:year, 1, 1), now(), true
            FROM tickets AS t"""),
            {"year": YEAR},
        )
        connection.exec_driver_sql("ANALYZE tickets")
        connection.exec_driver_sql("ANALYZE ticket_clocks")


def load_schedule(engine: Engine, folder: Path) -> None:
    """The regulation's 2027 holidays plus a longer National Day, loaded like the CLI does."""
    from hotline.calendar_holidays import statutory_holidays
    from hotline.calendar_load import load_schedule as load

    days = dict(statutory_holidays(YEAR))
    days.update({datetime.date(YEAR, 10, d): "国庆节" for d in range(4, 8)})
    path = folder / f"{YEAR}.csv"
    path.write_text(
        "date,kind,name\n" + "".join(f"{day},holiday,{name}\n" for day, name in sorted(days.items())),
        encoding="utf-8",
    )
    with Session(engine) as session:
        load(session, path, "bench")
        session.commit()


def vacuum(engine: Engine) -> None:
    """Clear the dead row versions a rolled-back run leaves, so every run starts alike."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE ticket_clocks")


def time_baseline(engine: Engine) -> tuple[float, int]:
    with engine.connect() as connection, connection.begin() as transaction:
        started = time.perf_counter()
        rows = connection.exec_driver_sql(
            "UPDATE ticket_clocks SET due_day = due_day + 1 WHERE provisional AND stopped_at IS NULL"
        ).rowcount
        seconds = time.perf_counter() - started
        transaction.rollback()
    return seconds, rows


def time_recompute(engine: Engine, *, check: bool) -> tuple[float, int]:
    from hotline.calendar import WorkCalendar
    from hotline.tickets.clocks import recompute_provisional

    with Session(engine) as session:
        started = time.perf_counter()
        changed = recompute_provisional(session, WorkCalendar.from_session(session))
        seconds = time.perf_counter() - started
        if check:
            verify(session)
        session.rollback()
    return seconds, changed


def verify(session: Session) -> None:
    """Every clock now carries the calendar's due date, and none is provisional."""
    from hotline.calendar import WorkCalendar

    calendar = WorkCalendar.from_session(session)
    left = session.execute(text("SELECT count(*) FROM ticket_clocks WHERE provisional")).scalar_one()
    wrong = 0
    for start_day, total, due_day in session.execute(
        text(
            "SELECT start_day, days + extra_days, due_day FROM ticket_clocks "
            "GROUP BY start_day, days + extra_days, due_day"
        )
    ):
        wrong += calendar.due(start_day, total).due != due_day
    if left or wrong:
        sys.exit(f"recompute is wrong: {left} clocks still provisional, {wrong} (start, days) pairs off")


def main() -> None:
    from bench.databases import throwaway_database

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 tickets, 3 runs each")
    parser.add_argument("--tickets", type=int, help="how many open tickets (default 1,000,000)")
    parser.add_argument(
        "--url",
        default=os.environ.get("XUEJI_BENCH_DATABASE_URL", DEFAULT_PG),
        help="a PostgreSQL server where a throwaway database may be created",
    )
    args = parser.parse_args()
    n = args.tickets or (100_000 if args.quick else 1_000_000)
    runs = 3 if args.quick else 5
    with (
        tempfile.TemporaryDirectory(prefix="xueji-bench-clocks-") as folder,
        throwaway_database(args.url, "xueji_bench_clocks") as url,
    ):
        engine = db.make_engine(url)
        db.upgrade(engine)
        started = time.perf_counter()
        fill(engine, n)
        load_schedule(engine, Path(folder))
        took = time.perf_counter() - started
        print(f"filled {n:,} open tickets with provisional {YEAR} clocks in {took:.1f} s")
        baseline, recompute = [], []
        for run in range(runs):
            vacuum(engine)
            seconds, rows = time_baseline(engine)
            assert rows == n, f"baseline updated {rows} rows, expected {n}"
            baseline.append(seconds)
            vacuum(engine)
            seconds, changed = time_recompute(engine, check=run == 0)
            assert changed == n, f"recompute changed {changed} clocks, expected {n}"
            recompute.append(seconds)
            print(
                f"run {run + 1}: bare UPDATE {n / baseline[-1]:,.0f} rows/s ({baseline[-1]:.2f} s), "
                f"recompute {n / recompute[-1]:,.0f} tickets/s ({recompute[-1]:.2f} s)"
            )
        engine.dispose()
    base, ours = statistics.median(baseline), statistics.median(recompute)
    print()
    print("tickets    bare UPDATE rows/s  recompute tickets/s  ratio")
    print(f"{n:>9,}  {n / base:>18,.0f}  {n / ours:>19,.0f}  {base / ours:5.2f}")
    print(f"clocks ratio={base / ours:.2f}")


if __name__ == "__main__":
    # Python puts this script's folder first on sys.path, where bench/lookup.py
    # would shadow the lookup package; the repository's root gives bench.databases.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(here.parent))
    main()
