"""The authority tree in the database: seeding, the units import, the divisions reconcile."""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib.resources import as_file, files
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from lookup.csvfile import CsvFile, RowError
from lookup.divisions import (
    OUTSIDE_SYSTEM,
    DivisionRow,
    derive_units,
    level_of,
    read_stdnum,
    structural_parent,
)
from lookup.importers import ImportResult, Progress
from lookup.models import NATIONAL_CODE, UNIT_LEVELS, Division, Unit

UNIT_COLUMNS = ("code", "name", "level", "parent_code", "complaint_phone", "complaint_email")
DIVISION_COLUMNS = ("code", "name")
_UNIT_CODE = re.compile(r"^\d{6}$")
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_PHONE = re.compile(r"^[0-9+()\-\s转、,/]{5,64}$")
NATIONAL_PHONE, NATIONAL_EMAIL = "010-66119801", "66119801@moe.edu.cn"
_RANK = {level: rank for rank, level in enumerate(UNIT_LEVELS)}


def seed_divisions(session: Session, rows: Iterable[DivisionRow] | None = None) -> int:
    """Insert the divisions we do not have yet; never overwrite a reconciled one."""
    known = set(session.scalars(select(Division.code)))
    added = 0
    for row in rows if rows is not None else read_stdnum():
        if row.code in known:
            continue
        session.add(Division(code=row.code, name=row.name, level=row.level,
                             parent_code=row.parent_code, valid_from=row.valid_from,
                             valid_to=row.valid_to, source="stdnum"))
        added += 1
    session.flush()
    return added


def _division_rows(session: Session) -> list[DivisionRow]:
    return [DivisionRow(d.code, d.name, d.level, d.parent_code, d.valid_from, d.valid_to)
            for d in session.scalars(select(Division))]


def sync_units(session: Session) -> tuple[int, int]:
    """Make the division-backed units match the current divisions.

    New divisions get a unit; units whose division was abolished are
    deactivated (tickets and schools still refer to them); parents follow the
    tree. Names and published channels set by an import are kept.
    """
    wanted = {u.code: u for u in derive_units(_division_rows(session))}
    existing = {u.code: u for u in session.scalars(select(Unit))}
    added = changed = 0
    for code, row in sorted(wanted.items(), key=lambda item: (_RANK[item[1].level], item[0])):
        unit = existing.get(code)
        if unit is None:
            session.add(Unit(code=code, name=row.name, level=row.level,
                             parent_code=row.parent_code, division_code=row.division_code))
            added += 1
        elif (unit.parent_code, unit.level, unit.active) != (row.parent_code, row.level, True):
            unit.parent_code, unit.level, unit.active = row.parent_code, row.level, True
            changed += 1
    for code, unit in existing.items():
        if unit.division_code is not None and code not in wanted and unit.active:
            unit.active = False
            changed += 1
    session.flush()
    check_tree(session)
    return added, changed


def seed(session: Session) -> dict[str, int]:
    """What ``xueji init`` does after migrating: divisions, units, the 兵团 units. Idempotent."""
    divisions = seed_divisions(session)
    added, changed = sync_units(session)
    with as_file(files("lookup.data").joinpath("units_extra.csv")) as extra:
        result = import_units(session, Path(extra), only_new=True)
    # 2016 notice part 3 item 1: the ministry's channels are its technical
    # service centre's hotline and mailbox, published in the notice itself.
    ministry = session.get(Unit, NATIONAL_CODE)
    if ministry is not None and not (ministry.complaint_phone or ministry.complaint_email):
        ministry.complaint_phone, ministry.complaint_email = NATIONAL_PHONE, NATIONAL_EMAIL
        session.flush()
    return {"divisions": divisions, "units": added + result.written, "units_changed": changed}


def check_tree(session: Session, file: str = "units") -> None:
    """The units form one tree under 000000, each parent of a higher level than its child."""
    units = {u.code: u for u in session.scalars(select(Unit))}
    for code, unit in units.items():
        seen = [code]
        parent = unit.parent_code
        while parent is not None:
            if parent in seen:
                cycle = " → ".join([*seen[seen.index(parent):], parent])
                raise RowError(file, None, "parent_code", f"上下级关系形成循环：{cycle}")
            seen.append(parent)
            parent = units[parent].parent_code
        if unit.parent_code is not None:
            parent_unit = units[unit.parent_code]
            if _RANK[parent_unit.level] >= _RANK[unit.level]:
                raise RowError(file, None, "parent_code",
                               f"{code} 的上级 {parent_unit.code} 层级不高于它")
        elif unit.level != "national":
            raise RowError(file, None, "parent_code", f"{code} 缺少上级单位")


def import_units(session: Session, path: Path, *, progress: Progress | None = None,
                 only_new: bool = False) -> ImportResult:
    """Upsert ``code,name,level,parent_code,complaint_phone,complaint_email`` rows.

    ``only_new`` leaves existing units alone (the seed's extra units must not
    overwrite what an administrator imported later).
    """
    csv = CsvFile(path, UNIT_COLUMNS, progress)
    existing = {u.code: u for u in session.scalars(select(Unit))}
    divisions = set(session.scalars(select(Division.code)))
    # A few thousand rows at most: read them all, so that a parent listed
    # after its child is known when the child is checked.
    listed: dict[str, tuple[int, dict[str, str]]] = {}
    for line, row in csv.rows():
        code = row["code"]
        if not _UNIT_CODE.match(code):
            raise RowError(csv.name, line, "code", "应为 6 位数字")
        if code in listed:
            raise RowError(csv.name, line, "code", f"与第 {listed[code][0]} 行重复")
        listed[code] = line, row
    written = 0
    for code, (line, row) in listed.items():
        if not row["name"] or len(row["name"]) > 128:
            raise RowError(csv.name, line, "name", "不能为空，且不超过 128 个字符")
        level = row["level"]
        if level not in UNIT_LEVELS:
            raise RowError(csv.name, line, "level", "应为 " + "、".join(UNIT_LEVELS) + " 之一")
        parent = row["parent_code"] or None
        if (level == "national") != (parent is None):
            raise RowError(csv.name, line, "parent_code",
                           "只有国家级单位没有上级" if parent is None else "国家级单位不应有上级")
        if parent is not None and parent not in existing and parent not in listed:
            raise RowError(csv.name, line, "parent_code", f"上级单位 {parent} 不存在")
        phone, email = row["complaint_phone"] or None, row["complaint_email"] or None
        if phone and not _PHONE.match(phone):
            raise RowError(csv.name, line, "complaint_phone", f"电话 {phone!r} 格式不正确")
        if email and not _EMAIL.match(email):
            raise RowError(csv.name, line, "complaint_email", f"邮箱 {email!r} 格式不正确")
        values = {"name": row["name"], "level": level, "parent_code": parent,
                  "complaint_phone": phone, "complaint_email": email,
                  "division_code": code if code in divisions else None}
        unit = existing.get(code)
        if unit is None:
            session.add(Unit(code=code, **values))
            written += 1
        elif not only_new and any(getattr(unit, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(unit, key, value)
            written += 1
    # Parents may come later in the file than their children: check the
    # whole tree once everything is in place, inside the same transaction.
    session.flush()
    check_tree(session, csv.name)
    return ImportResult(csv.name, len(listed), written)


def reconcile_divisions(session: Session, path: Path, year: int) -> dict[str, int]:
    """Reconcile with the Ministry of Civil Affairs' list of current divisions for ``year``.

    The file (``code,name``) is the complete list: a code we know as current
    but the list lacks was abolished that year; a new code was created; a
    changed name is a rename. Units follow through :func:`sync_units`.
    """
    csv = CsvFile(path, DIVISION_COLUMNS)
    listed: dict[str, str] = {}
    for line, row in csv.rows():
        code, name = row["code"], row["name"]
        if not _UNIT_CODE.match(code) or code == "000000":
            raise RowError(csv.name, line, "code", "应为 6 位行政区划代码")
        if code in listed:
            raise RowError(csv.name, line, "code", "代码重复")
        if not name:
            raise RowError(csv.name, line, "name", "不能为空")
        listed[code] = name
    # Taiwan, Hong Kong and Macao are listed or not; either way they have no unit here.
    current = {d.code: d for d in session.scalars(select(Division))
               if d.valid_to is None and d.level != "pseudo" and d.code[:2] not in OUTSIDE_SYSTEM}
    provinces = {c for c in current if c.endswith("0000")}
    missing_provinces = provinces - {c for c in listed if c.endswith("0000")}
    if missing_provinces:
        # A partial list would abolish whole provinces: refuse instead.
        raise RowError(csv.name, None, "code",
                       "名单不完整，缺少省级区划 " + ",".join(sorted(missing_provinces)))
    divisions = {d.code: d for d in session.scalars(select(Division))}
    counts = {"added": 0, "renamed": 0, "abolished": 0, "restored": 0}
    for code, name in listed.items():
        division = divisions.get(code)
        if division is None:
            division = Division(code=code, name=name, level=level_of(code, name),
                                parent_code=structural_parent(code, {**divisions, **listed}),
                                valid_from=year, source=f"mca-{year}")
            session.add(division)
            divisions[code] = division
            counts["added"] += 1
            continue
        if division.valid_to is not None:
            division.valid_to = None
            counts["restored"] += 1
        if division.name != name and division.level != "pseudo":
            division.name, division.source = name, f"mca-{year}"
            counts["renamed"] += 1
    for code, division in current.items():
        if code not in listed:
            division.valid_to = year - 1
            counts["abolished"] += 1
    session.flush()
    added, changed = sync_units(session)
    counts["units_added"], counts["units_changed"] = added, changed
    return counts
