"""Importing the registry's exports: schools and students (history: lookup/history.py).

Each import is one transaction (the caller commits only when this returns):
the first bad row raises :class:`RowError` naming file, line, field and
reason, and the database is left as it was. Rows are validated here in Python
(check characters, dates, consistency between a number and its ID number)
and then checked against each other and the database in SQL, through
:mod:`lookup.staging`, so memory does not grow with the file.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from lookup.csvfile import CsvFile, RowError
from lookup.models import Division, Unit
from lookup.numbers import (
    NumberError,
    mask_id_number,
    normalize,
    parse_id_number,
    parse_school_code,
    parse_student_number,
    school_code_province,
)
from lookup.privacy import id_hasher
from lookup.staging import Staging

STUDENT_COLUMNS = ("number", "kind", "name", "id_number", "birth_date", "gender",
                   "school_code", "status")
SCHOOL_COLUMNS = ("code", "name", "division_code", "authority_code")
# 学籍状态 as the national system exports them.
STATUSES = frozenset({"在读", "休学", "转出", "毕业", "结业", "肄业", "辍学", "死亡", "注销"})
GENDERS = {"M": "M", "F": "F", "男": "M", "女": "F"}
_DATE = re.compile(r"^(\d{4})(?:[-/.年](\d{1,2})[-/.月](\d{1,2})日?|(\d{2})(\d{2}))$")

Progress = Callable[[int], None]


@dataclass(frozen=True)
class ImportResult:
    file: str
    rows: int
    written: int
    warnings: tuple[str, ...] = ()

    @property
    def unchanged(self) -> int:
        return self.rows - self.written

    def summary(self) -> str:
        lines = [f"{self.file}: {self.rows} 行，新增或更新 {self.written} 行，未变 {self.unchanged} 行"]
        lines += [f"{self.file}: 提示：{warning}" for warning in self.warnings]
        return "\n".join(lines)


class PlaceCheck:
    """Counts ID numbers whose birthplace code did not exist in their birth year.

    DESIGN.md: such a code is a warning, not a rejection — late household
    registrations and renamed counties are real — but the operator should hear
    of it.
    """

    def __init__(self, session: Session):
        self.years = {code: (start or 0, end or 9999) for code, start, end in session.execute(
            select(Division.code, Division.valid_from, Division.valid_to))}
        self.count = 0
        self.first_line: int | None = None

    def check(self, line: int, address_code: str, year: int) -> None:
        start, end = self.years.get(address_code, (1, 0))
        if not start <= year <= end:
            self.count += 1
            self.first_line = self.first_line or line

    def warnings(self) -> tuple[str, ...]:
        if not self.count:
            return ()
        return (f"{self.count} 行身份证号的出生地代码在出生年份不存在（首见第 {self.first_line} 行），"
                "已导入，请核实",)


def parse_date(value: str) -> datetime.date:
    """A date as spreadsheets write it: 2012-03-05, 2012/3/5, 20120305, 2012年3月5日.

    >>> parse_date("2012/3/5"), parse_date("20120305")
    (datetime.date(2012, 3, 5), datetime.date(2012, 3, 5))
    """
    match = _DATE.match(value)
    if match is None:
        raise ValueError(value)
    year, month, day = match[1], match[2] or match[4], match[3] or match[5]
    return datetime.date(int(year), int(month), int(day))


def required(file: str, line: int, row: dict[str, str], field: str, limit: int) -> str:
    value = row[field]
    if not value:
        raise RowError(file, line, field, "不能为空")
    if len(value) > limit:
        raise RowError(file, line, field, f"超过 {limit} 个字符")
    return value


def date_field(file: str, line: int, row: dict[str, str], field: str) -> datetime.date:
    try:
        return parse_date(row[field])
    except ValueError:
        raise RowError(file, line, field, f"日期 {row[field]!r} 无效，应为 YYYY-MM-DD") from None


def _student_rows(csv: CsvFile, hash_id: Callable[[str], str], today: datetime.date,
                  places: PlaceCheck) -> Iterator[tuple]:
    file = csv.name
    for line, row in csv.rows():
        try:
            student = parse_student_number(row["number"], today=today)
        except NumberError as exc:
            raise RowError(file, line, "number", exc.message) from None
        kind = row["kind"].upper()
        if kind != student.kind:
            raise RowError(file, line, "kind", f"应为 {student.kind}（与学籍号首字母一致）")
        name = required(file, line, row, "name", 64)
        birth_date = date_field(file, line, row, "birth_date")
        gender = GENDERS.get(row["gender"].upper())
        if gender is None:
            raise RowError(file, line, "gender", "应为 M 或 F（男/女）")
        id_hash = id_masked = None
        if row["id_number"]:
            if kind == "J":
                raise RowError(file, line, "id_number",
                               "J 字头学籍号用于无身份证号的学生，不应填写身份证号")
            id_number = normalize(row["id_number"])
            if kind == "G" and id_number == student.id_number:
                # Already checked as the body of the G number: don't do it twice.
                address, born = student.region_code, student.birth_date
            else:
                try:
                    identity = parse_id_number(id_number, today=today)
                except NumberError as exc:
                    raise RowError(file, line, "id_number", exc.message) from None
                if identity.legacy:
                    raise RowError(file, line, "id_number", "应为 18 位身份证号")
                if kind == "G":
                    raise RowError(file, line, "number", "G 字头学籍号应为 G 加该生身份证号")
                address, born = identity.address_code, identity.birth_date
            if ("M" if int(id_number[16]) % 2 else "F") != gender:
                raise RowError(file, line, "gender", "与身份证号所示性别不一致")
            places.check(line, address, born.year)
            id_hash = hash_id(id_number)
            id_masked = mask_id_number(id_number)
        elif kind == "G":
            raise RowError(file, line, "id_number", "G 字头学籍号的学生必须填写身份证号")
        if birth_date != student.birth_date:
            raise RowError(file, line, "birth_date", "与学籍号中的出生日期不一致")
        try:
            school_code = parse_school_code(row["school_code"])
        except NumberError as exc:
            raise RowError(file, line, "school_code", exc.message) from None
        status = row["status"]
        if status not in STATUSES:
            raise RowError(file, line, "status", "应为 " + "、".join(sorted(STATUSES)) + " 之一")
        yield (line, student.number, kind, name, birth_date.isoformat(), gender,
               school_code, status, id_hash, id_masked)


def import_students(session: Session, path: Path, key: bytes, *,
                    progress: Progress | None = None,
                    today: datetime.date | None = None) -> ImportResult:
    """Import ``number,kind,name,id_number,birth_date,gender,school_code,status`` rows."""
    csv = CsvFile(path, STUDENT_COLUMNS, progress)
    staging = Staging(session.connection(), "staging_students", {
        "number": "VARCHAR(19)", "kind": "VARCHAR(1)", "name": "VARCHAR(64)",
        "birth_date": "DATE", "gender": "VARCHAR(1)", "school_code": "VARCHAR(10)",
        "status": "VARCHAR(16)", "id_hash": "VARCHAR(64)", "id_masked": "VARCHAR(18)"}, csv.name)
    places = PlaceCheck(session)
    rows = staging.load(_student_rows(csv, id_hasher(key), today or datetime.date.today(), places))
    staging.reject_duplicates("number", "number", "学籍号")
    staging.reject_duplicates("id_hash", "id_number", "身份证号")
    staging.reject("school_code",
                   "SELECT s.line, s.school_code FROM {t} s LEFT JOIN schools c "
                   "ON c.code = s.school_code WHERE c.code IS NULL ORDER BY s.line LIMIT 1",
                   "学校标识码 {0} 不存在")
    staging.reject("id_number",
                   "SELECT s.line FROM {t} s JOIN students t ON t.id_hash = s.id_hash "
                   "WHERE t.number <> s.number ORDER BY s.line LIMIT 1",
                   "该身份证号已属于另一学籍号的学生")
    staging.reject("number",
                   "SELECT s.line, h.new_number FROM {t} s JOIN number_history h "
                   "ON h.old_number = s.number ORDER BY s.line LIMIT 1",
                   "该学籍号已变更为 {0}，不能再作为在籍学籍号")
    written = staging.merge("students", "number")
    staging.drop()
    return ImportResult(csv.name, rows, written, places.warnings())


def _authority_chains(session: Session) -> tuple[dict[str, Unit], dict[str, list[str]]]:
    units = {u.code: u for u in session.scalars(select(Unit))}
    chains: dict[str, list[str]] = {}
    for code in units:
        chain, current = [], code
        while current is not None and current not in chain:
            chain.append(current)
            current = units[current].parent_code
        chains[code] = chain
    return units, chains


def _school_rows(csv: CsvFile, divisions: dict[str, Division], units: dict[str, Unit],
                 chains: dict[str, list[str]]) -> Iterator[tuple]:
    file = csv.name
    for line, row in csv.rows():
        try:
            code = parse_school_code(row["code"], field="code")
        except NumberError as exc:
            raise RowError(file, line, "code", exc.message) from None
        name = required(file, line, row, "name", 128)
        division = divisions.get(row["division_code"])
        if division is None:
            raise RowError(file, line, "division_code", f"行政区划 {row['division_code']!r} 不存在")
        if division.level == "pseudo":
            raise RowError(file, line, "division_code",
                           f"{division.code} {division.name} 是统计用区划，请填写学校实际所在的区县")
        if division.valid_to is not None:
            raise RowError(file, line, "division_code",
                           f"行政区划 {division.code} {division.name} 已于 {division.valid_to} 年撤销")
        own = units.get(division.code)
        authority_code = row["authority_code"] or division.code
        authority = units.get(authority_code)
        if authority is None or not authority.active:
            field = "authority_code" if row["authority_code"] else "division_code"
            raise RowError(file, line, field, f"教育行政部门 {authority_code} 不存在或已停用")
        # A school answers to its own county or a unit above it (市直属, 省直属);
        # units no division describes (兵团) stand outside the division tree.
        if authority.division_code is not None and (
                own is None or authority_code not in chains[own.code]):
            raise RowError(file, line, "authority_code",
                           f"{authority.name} 不是 {division.name} 的上级教育行政部门")
        provinces = {division.code[:2], chains[authority_code][-2][:2]
                     if len(chains[authority_code]) > 1 else authority_code[:2]}
        if school_code_province(code) not in provinces:
            raise RowError(file, line, "code",
                           f"学校标识码第 3–4 位应为所在省份代码 {division.code[:2]}")
        yield line, code, name, division.code, authority_code


def import_schools(session: Session, path: Path, *,
                   progress: Progress | None = None) -> ImportResult:
    """Import ``code,name,division_code,authority_code`` rows (empty authority: the division's unit)."""
    csv = CsvFile(path, SCHOOL_COLUMNS, progress)
    staging = Staging(session.connection(), "staging_schools", {
        "code": "VARCHAR(10)", "name": "VARCHAR(128)", "division_code": "VARCHAR(6)",
        "authority_code": "VARCHAR(12)"}, csv.name)
    # Read before loading starts: no other query may run on the connection
    # while PostgreSQL's COPY is in progress.
    divisions = {d.code: d for d in session.scalars(select(Division))}
    units, chains = _authority_chains(session)
    rows = staging.load(_school_rows(csv, divisions, units, chains))
    staging.reject_duplicates("code", "code", "学校标识码")
    written = staging.merge("schools", "code")
    staging.drop()
    return ImportResult(csv.name, rows, written)
