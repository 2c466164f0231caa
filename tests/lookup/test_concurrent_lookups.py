"""Lookups from several processes' worth of connections at once never fail on SQLite.

gunicorn runs several workers on one SQLite file in the embedded setup. A
lookup reads, then writes its audit row: done in one transaction, SQLite
refuses the write at once ("database is locked") whenever another worker
committed in between; bench/lookup.py found 18% of lookups answered 500.
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline import db
from hotline.app import create_app
from hotline.config import load_settings
from lookup.models import LookupAudit
from lookup.registry import seed
from tests.conftest import ID_KEY
from tests.lookup.factories import g_row, id_number, import_registry

WORKERS, LOOKUPS = 3, 60


def test_concurrent_lookups_on_one_sqlite_file_all_answer_and_all_are_audited(tmp_path, write_csv):
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    with Session(engine) as session:
        seed(session)
        import_registry(session, write_csv, students=[g_row(n, name="张三") for n in range(1, 21)],
                        id_hash_key=ID_KEY.encode())
        session.commit()
    engine.dispose()

    # One app per worker, each with its own engine and connections, as with gunicorn.
    apps = [create_app(load_settings({}, env="testing", database_url=url, secret_key="s",
                                     id_hash_key=ID_KEY, instance_path=str(tmp_path / f"i{n}"),
                                     lookup_client_limits="100000 per minute",
                                     lookup_identity_limits="100000 per minute"))
            for n in range(WORKERS)]
    statuses: list[int] = []
    start = threading.Barrier(WORKERS)

    def work(app) -> None:
        client = app.test_client()
        start.wait()
        for n in range(LOOKUPS):
            name = "张三" if n % 3 else "李四"  # found and not found
            response = client.post("/api/v1/lookup",
                                   json={"name": name, "id_number": id_number(sequence=n % 20 + 1)})
            statuses.append(response.status_code)

    threads = [threading.Thread(target=work, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for app in apps:
        app.extensions["xueji.engine"].dispose()

    assert sorted(set(statuses)) == [200, 404] and len(statuses) == WORKERS * LOOKUPS
    engine = db.make_engine(url)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(LookupAudit)) == WORKERS * LOOKUPS
    engine.dispose()
