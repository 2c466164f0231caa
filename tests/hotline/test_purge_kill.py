"""The purge killed: SIGKILLed at random points, it leaves a consistent state, and the next run finishes.

``xueji purge`` runs as a process on a database of its own, over 400 expired
messages with their raw files (and 20 kept ones), in batches of 3, and is
killed five times at random moments while it deletes. After each kill no
raw file outlives its row, at most one batch of rows has lost its files
already, and nothing kept was touched; a last run completes the purge.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline import db
from hotline.tickets.inbox import ReceivedMail
from lookup.models import LookupAudit
from tests.deploy.conftest import migrated_database, service_environ
from tests.hotline.test_cli import XUEJI
from tests.hotline.test_purge import ago, mail


@pytest.fixture
def own_database(backend: str, tmp_path: Path) -> Iterator[str]:
    yield from migrated_database(backend, tmp_path)


def test_a_killed_purge_leaves_a_consistent_state_and_the_next_run_finishes(own_database, tmp_path):
    store = tmp_path / "instance" / "mail"
    engine = db.make_engine(own_database)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    with Session(engine) as session:
        for i in range(400):
            mail(session, store, rng.choice(("auto", "bounce", "loop")), ago(200 + i % 50))
        kept = [mail(session, store, "ticket", ago(300)) for _ in range(20)]
        session.add_all(LookupAudit(at=ago(400 + i % 9), channel="api", kind="id", outcome="found",
                                    client="203.0.113.9") for i in range(300))
        session.commit()
        kept_paths = {row.raw_path for row in kept}
    environ = service_environ(own_database, tmp_path / "instance")

    def files() -> set[str]:
        return {f"cur/{p.name}" for p in (store / "cur").iterdir()}

    interrupted = 0
    for _ in range(5):
        left = len(files())
        process = subprocess.Popen([XUEJI, "purge", "--batch-size", "3"], env=environ,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        target = left - rng.randint(3, 60)
        deadline = time.monotonic() + 60
        while len(files()) > target and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.01))
        process.send_signal(signal.SIGKILL)
        process.wait()
        with engine.connect() as connection:
            rows = set(connection.scalars(select(ReceivedMail.raw_path)))
        on_disk = files()
        # No file outlives its row, and only the batch being purged lost its files early.
        assert on_disk <= rows, f"seed {seed}"
        assert len(rows - on_disk) <= 3, f"seed {seed}"
        assert kept_paths <= on_disk
        interrupted += len(kept_paths) < len(on_disk) < left
    assert interrupted >= 2, f"the kills did not interrupt the purge (seed {seed})"

    finished = subprocess.run([XUEJI, "purge", "--batch-size", "3"], env=environ, capture_output=True,
                              text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    with engine.connect() as connection:
        assert set(connection.scalars(select(ReceivedMail.raw_path))) == kept_paths
        assert connection.scalar(select(func.count()).select_from(LookupAudit)) == 0
    engine.dispose()
    assert files() == kept_paths
