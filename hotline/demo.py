"""``xueji demo``: a synthetic registry, loaded through the same imports as real data."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import func, select

from hotline import db
from hotline.cli import migrate_and_seed, progress_bar, run_operation


def seed_demo(*, students: int, schools: int, seed: int = 2016) -> None:
    """Generate the demo CSVs (deterministic for a seed) and import them.

    A second run with the same parameters finds the manifest and the rows in
    place and skips the work; different parameters regenerate and re-import
    (the imports upsert, so nothing is duplicated).
    """
    from lookup.divisions import UnitRow
    from lookup.history import import_history
    from lookup.importers import import_schools, import_students
    from lookup.models import Student, Unit
    from lookup.registry import import_units
    from lookup.synth import write_demo_registry

    migrate_and_seed()
    session = db.session()
    folder = Path(current_app.instance_path) / "demo"
    manifest = folder / "manifest.json"
    wanted = {"students": students, "schools": schools, "seed": seed}
    have = session.scalar(select(func.count()).select_from(Student))
    if manifest.exists() and json.loads(manifest.read_text()) == wanted and have >= students:
        click.echo(f"演示数据已存在（{have} 名学生），跳过生成。")
        return

    # The division-backed tree; synth adds the 兵团 units itself.
    backed = Unit.division_code.is_not(None) | (Unit.level == "national")
    units = [UnitRow(u.code, u.name, u.level, u.parent_code, u.division_code)
             for u in session.scalars(select(Unit).where(Unit.active, backed))]
    click.echo(f"生成演示学籍数据：{schools} 所学校，{students} 名学生 …")
    files = write_demo_registry(folder, units, n_students=students, n_schools=schools, seed=seed)
    key = current_app.config["ID_HASH_KEY"]
    steps = [
        (files.units_csv, lambda p, f: import_units(db.session(), f, progress=p)),
        (files.schools_csv, lambda p, f: import_schools(db.session(), f, progress=p)),
        (files.students_csv, lambda p, f: import_students(db.session(), f, key, progress=p)),
        (files.history_csv, lambda p, f: import_history(db.session(), f, progress=p)),
    ]
    for path, operation in steps:
        with progress_bar(path, path.name) as progress:
            result = run_operation(lambda op=operation, p=progress, f=path: op(p, f))
        click.echo(result.summary())
    manifest.write_text(json.dumps(wanted))
