"""Students import throughput against the database's own bulk path, and its peak memory.

For each backend the same synthetic students are loaded twice into identical
databases (migrated, seeded, schools imported): once as ready-made rows through
the bulk path (SQLite ``executemany``, PostgreSQL ``COPY``), once through
``import_students`` from the CSV file. The ratio of their rows/s is the
headline; ``import_students`` runs in a child process whose peak RSS is
reported for N/10 and N students, to show that memory does not grow with the
file. Usage: ``.venv/bin/python bench/import.py [--quick] [--backend sqlite]``.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

from sqlalchemy import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hotline import db

KEY = b"bench-id-hash-key-" + b"0" * 32
COLUMNS = ("number", "kind", "name", "birth_date", "gender", "school_code", "status",
           "id_hash", "id_masked")
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
Row = tuple[str | None, ...]


def prepare_rows(path: Path) -> list[Row]:
    """The final column values of every student, as the import would store them."""
    from lookup.numbers import mask_id_number
    from lookup.privacy import hash_id_number

    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        return [(number, kind, name, birth, gender, school, status,
                 hash_id_number(KEY, ident) if ident else None,
                 mask_id_number(ident) if ident else None)
                for number, kind, name, ident, birth, gender, school, status in reader]


def bulk_insert(engine: Engine, rows: list[Row]) -> float:
    """Seconds to insert ``rows`` into ``students`` through the bulk path and commit."""
    gc.collect()
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")  # connected before the clock starts
        connection.rollback()
        start = time.perf_counter()
        with connection.begin():
            cursor = connection.connection.driver_connection.cursor()
            if engine.dialect.name == "postgresql":
                with cursor.copy(f"COPY students ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(f"INSERT INTO students ({', '.join(COLUMNS)}) "
                                   f"VALUES ({', '.join('?' * len(COLUMNS))})", rows)
        return time.perf_counter() - start


def child_main() -> None:
    """Hidden mode: import one file into one database; report time and own peak RSS."""
    from lookup.importers import import_students

    job = json.loads(sys.stdin.read())
    engine = db.make_engine(job["url"])
    with engine.connect():
        pass  # connected before the clock starts
    start = time.perf_counter()
    with Session(engine) as session:
        result = import_students(session, Path(job["csv"]), KEY)
        session.commit()
    seconds = time.perf_counter() - start
    engine.dispose()
    print(json.dumps({"seconds": seconds, "rows": result.rows, "maxrss_kib": peak_rss_kib()}))


def peak_rss_kib() -> int:
    """This process's peak RSS. Linux's ru_maxrss survives exec, so a child started
    by a big parent would report the parent's peak; VmHWM belongs to the new image."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_child(url: str, path: Path, rows: int) -> dict[str, float]:
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child"],
                          input=json.dumps({"url": url, "csv": str(path)}),
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"import child failed:\n{done.stderr}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if report["rows"] != rows:
        raise RuntimeError(f"import child read {report['rows']} rows of {path}, expected {rows}")
    return report


def set_up(url: str, schools_csv: Path) -> None:
    """Migrate, seed the authority tree and import the schools."""
    from lookup.importers import import_schools
    from lookup.registry import seed

    engine = db.make_engine(url)
    try:
        db.upgrade(engine)
        with Session(engine) as session:
            seed(session)
            import_schools(session, schools_csv)
            session.commit()
    finally:
        engine.dispose()  # on SQLite the last close checkpoints the WAL into the file


@contextmanager
def sqlite_databases(folder: Path, schools_csv: Path) -> Iterator[Callable[[str], str]]:
    """Yield a factory of identical fresh databases: copies of one set-up file."""
    template = folder / "template.sqlite3"
    set_up(f"sqlite:///{template}", schools_csv)

    def clone(name: str) -> str:
        path = folder / f"{name}.sqlite3"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    yield clone


@contextmanager
def postgresql_databases(admin_url: str, schools_csv: Path) -> Iterator[Callable[[str], str]]:
    """As :func:`sqlite_databases`, with ``CREATE DATABASE … TEMPLATE``; all dropped at the end."""
    admin = db.make_engine(admin_url, isolation_level="AUTOCOMMIT",
                           connect_args={"connect_timeout": 5})
    prefix = f"xueji_bench_{os.getpid()}_{secrets.token_hex(3)}"
    created: list[str] = []

    def create(name: str, template: str | None = None) -> str:
        with admin.connect() as connection:
            connection.exec_driver_sql(
                f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        created.append(name)
        return make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    try:
        set_up(create(f"{prefix}_template"), schools_csv)
        yield lambda name: create(f"{prefix}_{name}", f"{prefix}_template")
    finally:
        with admin.connect() as connection:
            for name in reversed(created):
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def postgresql_answers(url: str) -> str | None:
    """None when a server answers at ``url``, else why not."""
    engine = db.make_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect():
            return None
    except OperationalError as exc:
        return str(exc.orig).strip().splitlines()[0]
    finally:
        engine.dispose()


def count_students(url: str) -> int:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql("SELECT count(*) FROM students").scalar_one()
    finally:
        engine.dispose()


def bench_backend(name: str, databases: Callable[[str], str], students_csv: Path,
                  small_csv: Path, n: int) -> dict[str, float]:
    rows = prepare_rows(students_csv)
    baseline_url = databases("baseline")
    engine = db.make_engine(baseline_url)
    try:
        baseline = bulk_insert(engine, rows)
    finally:
        engine.dispose()
    del rows
    print(f"{name}: baseline bulk insert of {n} rows: {baseline:.2f} s", flush=True)
    ours_url = databases("ours")
    ours = run_child(ours_url, students_csv, n)
    print(f"{name}: import_students of {n} rows: {ours['seconds']:.2f} s", flush=True)
    if (have := [count_students(url) for url in (baseline_url, ours_url)]) != [n, n]:
        raise RuntimeError(f"{name}: expected {n} students in both databases, found {have}")
    small = run_child(databases("small"), small_csv, n // 10)
    return {"rows": n, "baseline_s": baseline, "baseline_rps": n / baseline,
            "ours_s": ours["seconds"], "ours_rps": n / ours["seconds"],
            "ratio": baseline / ours["seconds"],
            "rss_small": small["maxrss_kib"] / 1024, "rss_full": ours["maxrss_kib"] / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, help="default 1,000,000 (100,000 with --quick)")
    parser.add_argument("--quick", action="store_true", help="100,000 students, under a minute")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get("XUEJI_BENCH_DATABASE_URL", DEFAULT_PG),
                        help="an existing database on the server to benchmark "
                             "[XUEJI_BENCH_DATABASE_URL]; the bench creates and drops its own")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main()
        return
    from lookup.divisions import derive_units, read_stdnum
    from lookup.synth import write_demo_registry

    n = args.students if args.students is not None else 100_000 if args.quick else 1_000_000
    if n < 10:
        parser.error("--students must be at least 10")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="xueji-bench-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        files = write_demo_registry(folder / "csv", derive_units(read_stdnum()), n_students=n)
        small_csv = folder / "students_small.csv"  # header and first N/10 rows, one per line
        with files.students_csv.open("rb") as full:
            small_csv.write_bytes(b"".join(islice(full, n // 10 + 1)))
        print(f"generated {n} students, {files.n_schools} schools in "
              f"{time.perf_counter() - start:.1f} s", flush=True)
        for backend in backends:
            if backend == "sqlite":
                databases = sqlite_databases(folder, files.schools_csv)
            elif (why := postgresql_answers(args.pg_url)) is not None:
                shown = make_url(args.pg_url).render_as_string(hide_password=True)
                print(f"postgresql: skipped, no server answers at {shown} ({why})", flush=True)
                continue
            else:
                databases = postgresql_databases(args.pg_url, files.schools_csv)
            with databases as factory:
                results[backend] = bench_backend(backend, factory, files.students_csv, small_csv, n)
    if not results:
        sys.exit("no backend could be benchmarked")
    print(f"\n{'backend':<11}{'rows':>9}{'bulk s':>9}{'bulk rows/s':>13}{'ours s':>9}"
          f"{'ours rows/s':>13}{'ratio':>7}{'RSS N/10':>10}{'RSS N':>8}  (MiB)")
    for backend, r in results.items():
        print(f"{backend:<11}{r['rows']:>9,}{r['baseline_s']:>9.2f}{r['baseline_rps']:>13,.0f}"
              f"{r['ours_s']:>9.2f}{r['ours_rps']:>13,.0f}{r['ratio']:>7.2f}"
              f"{r['rss_small']:>10.1f}{r['rss_full']:>8.1f}")
    print(f"import ratio={min(r['ratio'] for r in results.values()):.2f}")


if __name__ == "__main__":
    main()
