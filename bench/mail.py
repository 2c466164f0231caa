"""Mail intake: messages/s through ``xueji mail ingest`` against a bare parse, and SMTP intake with 8 clients.

A corpus of synthetic messages (bench/mail_corpus.py: 10,000; 2,000 with
``--quick``) — UTF-8, GB18030, GBK, mislabelled GB2312 and Big5, from a few
hundred bytes to about 60 kB, complaints (some with attachments), replies,
auto-replies, bounces, duplicates and loops — goes through the function
``xueji mail ingest`` runs for its files (``mailintake.worker.ingest_many``,
in batches of ``INGEST_BATCH``: copy the batch into the raw-mail store, an
fsync per file and one of ``new/``; then for each message parse, classify,
route, create or thread, queue the acknowledgement, commit, move) on SQLite
and on a throwaway PostgreSQL database, each migrated and seeded, with 300
schools and 1,000 J-number students on the real authority tree.

Baseline, in the same run: bare ``email.message_from_bytes`` over the same
bytes (the median of three passes). Headline: ingest messages/s ÷ bare
messages/s (goal ≥ 0.25), the lowest backend's. Every message's outcome is
checked against the one the corpus expects; a mismatch is a PROBLEM and the
run exits 1. Also printed: where the time goes (``parse()`` alone and the
raw copies alone over the same bytes; the rest is the database work), the
SQL statements per message, and the worker's CPU time per message (which
other load on the machine moves much less than the rates). Then SMTP
intake: 8 clients on persistent connections send
messages of the corpus to the aiosmtpd receiver, which answers 250 only
after the fsync; messages/s over the wall time.

Usage: ``.venv/bin/python bench/mail.py [--quick] [--messages N] [--backend sqlite|postgresql]
[--url postgresql://…]``; ``--quick`` prints ``mail ratio=X.XX`` last (with more
decimals when the ratio is below 0.01, never a bare 0.00).
The kill test's larger variant:
``XUEJI_TEST_KILL_MESSAGES=5000 .venv/bin/pytest tests/mailintake/test_kill.py``.
"""

from __future__ import annotations

import argparse
import datetime
import email
import os
import random
import smtplib
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import event, select

from hotline import db

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def make_app(url: str, folder: Path):
    from hotline.app import create_app
    from hotline.config import load_settings

    return create_app(load_settings({}, env="testing", database_url=url, secret_key="bench-secret",
                                    id_hash_key="bench-id-hash-key-" + "0" * 32, instance_path=str(folder),
                                    mail_ack_per_hour=1_000_000))


def fill(app) -> tuple[list[str], list[str]]:
    """Migrate, seed, and add 300 schools and 1,000 J students on county authorities."""
    from lookup.models import School, Student, Unit
    from lookup.numbers import make_j_number
    from lookup.registry import seed

    db.upgrade(db.engine())
    session = db.session()
    seed(session)
    rng = random.Random(6)
    counties = session.scalars(select(Unit).where(Unit.level == "county", Unit.active,
                                                  Unit.division_code.is_not(None)).order_by(Unit.code)).all()
    schools, students = [], []
    for serial, unit in enumerate(rng.sample(counties, 300), start=1):
        code = f"21{unit.code[:2]}{serial:06d}"
        session.add(School(code=code, name=f"第{serial}小学", division_code=unit.division_code,
                           authority_code=unit.code))
        schools.append((code, unit.code))
    session.flush()
    for k in range(1000):
        code, region = schools[k % len(schools)]
        number = make_j_number(region, datetime.date(2014, 5, 1), k // len(schools) + 1)
        session.add(Student(number=number, kind="J", name="学生", birth_date=datetime.date(2014, 5, 1),
                            gender="F", school_code=code, status="在读"))
        students.append(number)
    session.commit()
    return [code for code, _ in schools], students


def bare(raws: list[bytes]) -> float:
    started = time.perf_counter()
    for raw in raws:
        email.message_from_bytes(raw)
    return len(raws) / (time.perf_counter() - started)


def ours(raws: list[bytes]) -> float:
    from mailintake.parsing import parse

    started = time.perf_counter()
    for raw in raws:
        parse(raw)
    return len(raws) / (time.perf_counter() - started)


def store_alone(raws: list[bytes], folder: Path) -> float:
    """The raw copies alone, in the batches ``xueji mail ingest`` stores them in."""
    from mailintake.spool import Spool
    from mailintake.worker import INGEST_BATCH

    spool = Spool(folder)
    started = time.perf_counter()
    for start in range(0, len(raws), INGEST_BATCH):
        spool.store_many(raws[start:start + INGEST_BATCH])
    return len(raws) / (time.perf_counter() - started)


def ratio_text(ratio: float) -> str:
    """Two decimals, or as many more as it takes for the first digit that is not 0 (never a bare 0.00).

    >>> ratio_text(0.254), ratio_text(0.0093), ratio_text(0.00041), ratio_text(0.0)
    ('0.25', '0.009', '0.0004', '0.000000')
    """
    digits = 2
    while ratio < 10 ** -digits and digits < 6:
        digits += 1
    return f"{ratio:.{digits}f}"


def bench_backend(name: str, url: str, n: int, folder: Path) -> dict[str, object]:
    from bench.mail_corpus import corpus
    from mailintake.config import MailConfig
    from mailintake.spool import Spool
    from mailintake.worker import INGEST_BATCH, ingest_many

    app = make_app(url, folder / name)
    with app.app_context():
        schools, students = fill(app)
        mails = corpus(n, schools=schools, students=students)
        raws = [m.raw for m in mails]
        config = MailConfig.from_app(app)
        spool = Spool(config.store)
        session = db.session()
        baseline = statistics.median(bare(raws) for _ in range(3))
        outcomes: Counter[str] = Counter()
        wrong = 0
        statements = [0]
        engine = app.extensions["xueji.engine"]
        event.listen(engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1))
        started, cpu = time.perf_counter(), time.process_time()
        # As `xueji mail ingest` takes its files: in batches, each stored at once, then delivered one by one.
        for start in range(0, n, INGEST_BATCH):
            batch = mails[start:start + INGEST_BATCH]
            for mail, outcome in zip(batch, ingest_many(session, spool, [m.raw for m in batch], config),
                                     strict=True):
                outcomes[outcome.outcome] += 1
                wrong += outcome.outcome != mail.expected
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        rate = n / seconds
    engine.dispose()
    size = sum(map(len, raws)) / n / 1024
    # Where the time goes: the raw copies (an fsync each, one of new/ per batch) and our parse,
    # each alone over the same bytes; the rest is the database work.
    parts = {"parse": ours(raws), "store": store_alone(raws, folder / f"{name}-store")}
    db_only = 1 / (1 / rate - 1 / parts["parse"] - 1 / parts["store"])
    return {"backend": name, "bare": baseline, "ingest": rate, "ratio": rate / baseline, "wrong": wrong,
            "outcomes": outcomes, "size": size, "db": db_only, "statements": statements[0] / n,
            "cpu": cpu / n * 1e6, **parts}


def smtp_intake(raws: list[bytes], clients: int, per_client: int, folder: Path) -> tuple[float, int]:
    from mailintake.smtp import make_controller
    from mailintake.spool import Spool

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    spool = Spool(folder / "smtp-spool")
    controller = make_controller(spool, ["66119801@moe.edu.cn"], "127.0.0.1", port,
                                 max_bytes=25 * 1024 * 1024)
    controller.start()
    errors: list[BaseException] = []

    def client(index: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as connection:
                for k in range(per_client):
                    raw = raws[(index * per_client + k) % len(raws)]
                    connection.sendmail(f"p{index}@qq.com", ["66119801@moe.edu.cn"], raw)
        except BaseException as error:  # reported after the run
            errors.append(error)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    controller.stop()
    stored = len(spool.waiting())
    if errors:
        sys.exit(f"PROBLEM: SMTP clients failed: {errors[0]!r}")
    return clients * per_client / seconds, stored


def postgresql_answers(url: str) -> bool:
    try:
        engine = db.make_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means: skip PostgreSQL
        return False


def main() -> None:
    from bench.databases import throwaway_database

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 messages, SMTP 8 × 100")
    parser.add_argument("--messages", type=int, help="default 10,000 (2,000 with --quick)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), help="only this backend")
    parser.add_argument("--url", default=os.environ.get("XUEJI_BENCH_DATABASE_URL", DEFAULT_PG),
                        help="a PostgreSQL server where a throwaway database may be created")
    args = parser.parse_args()
    n = args.messages or (2_000 if args.quick else 10_000)
    per_client = 100 if args.quick else 500
    results = []
    with tempfile.TemporaryDirectory(prefix="xueji-bench-mail-") as tmp:
        folder = Path(tmp)
        if args.backend in (None, "sqlite"):
            results.append(bench_backend("sqlite", f"sqlite:///{folder / 'mail.sqlite3'}", n, folder))
        if args.backend in (None, "postgresql"):
            if postgresql_answers(args.url):
                with throwaway_database(args.url, "xueji_bench_mail") as url:
                    results.append(bench_backend("postgresql", url, n, folder))
            else:
                print(f"PostgreSQL at {args.url} does not answer: skipped")
        from bench.mail_corpus import corpus

        raws = [m.raw for m in corpus(max(n, 1000), schools=["2111000001"], students=[])]
        smtp_rate, stored = smtp_intake(raws, 8, per_client, folder)
    first = results[0]
    print(f"\n{n:,} messages, {first['size']:.1f} kB on average; outcomes {dict(first['outcomes'])}")
    print("backend      bare parse msg/s   ingest msg/s   ratio    parse() alone  raw copy alone  the rest"
          "  statements/msg  worker CPU µs/msg")
    for r in results:
        print(f"{r['backend']:<11}  {r['bare']:>16,.0f}  {r['ingest']:>13,.0f}  {r['ratio']:6.3f}"
              f"  {r['parse']:>13,.0f}  {r['store']:>14,.0f}  {r['db']:>8,.0f}  {r['statements']:>14.1f}"
              f"  {r['cpu']:>17,.0f}")
    print(f"SMTP intake, 8 clients: {smtp_rate:,.0f} messages/s (stored and fsynced: {stored:,})")
    problems = [r for r in results if r["wrong"]]
    for r in problems:
        print(f"PROBLEM: {r['backend']}: {r['wrong']} messages did not get their expected outcome")
    if stored != 8 * per_client:
        print(f"PROBLEM: {stored} of {8 * per_client} SMTP messages stored")
    lowest = min(r["ratio"] for r in results)
    print(f"mail ratio={ratio_text(lowest)}")
    if problems or stored != 8 * per_client:
        sys.exit(1)


if __name__ == "__main__":
    # Python puts this script's folder first on sys.path, where bench/lookup.py
    # would shadow the lookup package; the repository's root gives bench.mail_corpus
    # and bench.databases.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(here.parent))
    main()
