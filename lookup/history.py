"""Importing number history (学籍号变更): J→G, and G→G after an ID-number change."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from lookup.csvfile import CsvFile, RowError
from lookup.importers import ImportResult, Progress, date_field, required
from lookup.models import NumberChange
from lookup.numbers import NumberError, parse_student_number
from lookup.staging import Staging

HISTORY_COLUMNS = ("old_number", "new_number", "reason", "changed_on")


def _history_rows(csv: CsvFile, today: datetime.date) -> Iterator[tuple]:
    file = csv.name
    for line, row in csv.rows():
        numbers = {}
        for field in ("old_number", "new_number"):
            try:
                numbers[field] = parse_student_number(row[field], field=field, today=today)
            except NumberError as exc:
                raise RowError(file, line, field, exc.message) from None
        old, new = numbers["old_number"], numbers["new_number"]
        if old.number == new.number:
            raise RowError(file, line, "new_number", "与原学籍号相同")
        if old.kind == "G" and new.kind != "G":
            # 2016 notice attachment 1: a G number is authoritative and only
            # ever changes into another G number.
            raise RowError(file, line, "new_number", "G 字头学籍号只能变更为 G 字头学籍号")
        reason = required(file, line, row, "reason", 64)
        changed_on = date_field(file, line, row, "changed_on")
        if changed_on > today:
            raise RowError(file, line, "changed_on", "变更日期不能晚于今天")
        yield line, old.number, new.number, reason, changed_on.isoformat()


def import_history(session: Session, path: Path, *, progress: Progress | None = None,
                   today: datetime.date | None = None) -> ImportResult:
    """Import ``old_number,new_number,reason,changed_on`` rows of number history."""
    csv = CsvFile(path, HISTORY_COLUMNS, progress)
    staging = Staging(session.connection(), "staging_history", {
        "old_number": "VARCHAR(19)", "new_number": "VARCHAR(19)", "reason": "VARCHAR(64)",
        "changed_on": "DATE"}, csv.name)
    rows = staging.load(_history_rows(csv, today or datetime.date.today()))
    staging.reject_duplicates("old_number", "old_number", "原学籍号")
    staging.reject("old_number",
                   "SELECT s.line FROM {t} s JOIN students t ON t.number = s.old_number "
                   "ORDER BY s.line LIMIT 1",
                   "原学籍号仍是在籍学生的学籍号")
    staging.reject("new_number",
                   "SELECT s.line, s.new_number FROM {t} s "
                   "WHERE NOT EXISTS (SELECT 1 FROM students t WHERE t.number = s.new_number) "
                   "AND NOT EXISTS (SELECT 1 FROM {t} o WHERE o.old_number = s.new_number) "
                   "AND NOT EXISTS (SELECT 1 FROM number_history h WHERE h.old_number = s.new_number) "
                   "ORDER BY s.line LIMIT 1",
                   "新学籍号 {0} 不存在")
    written = staging.merge("number_history", "old_number")
    staging.drop()
    session.expire_all()
    _check_history_chains(session, csv.name)
    return ImportResult(csv.name, rows, written)


def _check_history_chains(session: Session, file: str) -> None:
    """Every chain of changes must end at a current number: a cycle would loop a lookup."""
    following = dict(session.execute(select(NumberChange.old_number, NumberChange.new_number)).all())
    for start in following:
        seen, current = {start}, following[start]
        while current in following:
            if current in seen:
                raise RowError(file, None, "new_number", f"学籍号变更记录形成循环（涉及 {start}）")
            seen.add(current)
            current = following[current]
