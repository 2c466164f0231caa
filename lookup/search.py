"""Finding a student for the public lookup, and whom to contact when none is found.

Every query goes through an index (``id_hash``, ``number``, school and birth
date), so a lookup costs the same on a registry of 100 thousand or 10
million students. Names are compared after the same normalising on both
sides, in Python, so a wrong name and a missing child take the same path.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from lookup.dbapi import Statements
from lookup.inputs import ByBirth, ById, ByNumber, normalize_name
from lookup.models import NATIONAL_CODE
from lookup.numbers import mask_id_number, school_code_province

_MAX_CHAIN = 16  # longer than any real history; the import refuses cycles

# One query per lookup: the student, the school, and whether any history leads
# to the number (most students have none, and then no second query is made).
_STUDENT = """SELECT s.number, s.kind, s.name, s.status, c.code, c.name,
       EXISTS (SELECT 1 FROM number_history h WHERE h.new_number = s.number)
  FROM students s JOIN schools c ON c.code = s.school_code
 WHERE """
_UNITS = "SELECT code, name, active, parent_code, complaint_phone, complaint_email FROM units WHERE code"


@dataclass(frozen=True)
class Earlier:
    """A number the student had before, as it may be shown."""

    number: str
    reason: str
    changed_on: datetime.date


@dataclass(frozen=True)
class Answer:
    number: str  # the current number, as it may be shown to the person who asked
    kind: str
    school_code: str
    school_name: str
    status: str
    earlier: tuple[Earlier, ...] = ()
    # A number check whose number was replaced: the number asked about.
    replaced_number: str | None = None


@dataclass(frozen=True)
class Contact:
    """Whom a family turns to when the lookup finds nothing."""

    unit_code: str
    unit_name: str
    phone: str | None
    email: str | None
    school_name: str | None = None  # when the query named a school we know


def shown_number(number: str) -> str:
    """A national number as shown to someone who may not know the ID number inside it.

    A G number is "G" + the ID number, so it is masked like one; J and L
    numbers contain no identity data and are shown whole.

    >>> shown_number("G11010519491231002X")
    'G110***********002X'
    >>> shown_number("J110105201009010074")
    'J110105201009010074'
    """
    return "G" + mask_id_number(number[1:]) if number.startswith("G") else number


def _earlier(db: Statements, number: str) -> tuple[Earlier, ...]:
    # Walk the history backwards from the current number: one indexed query
    # per step.
    found, frontier = [], [number]
    for _ in range(_MAX_CHAIN):
        rows = db.rows("SELECT old_number, reason, changed_on FROM number_history "
                       f"WHERE new_number IN ({', '.join('?' * len(frontier))})", *frontier)
        if not rows:
            break
        found += [Earlier(shown_number(old), reason, db.date_out(on)) for old, reason, on in rows]
        frontier = [old for old, _, _ in rows]
    return tuple(sorted(found, key=lambda e: e.changed_on, reverse=True))


def _answer(db: Statements, row: tuple, *, show_whole: bool, replaced: str | None = None) -> Answer:
    number, kind, _name, status, school_code, school_name, has_history = row
    earlier = _earlier(db, number) if has_history else ()
    return Answer(number if show_whole else shown_number(number), kind, school_code, school_name,
                  status, earlier, replaced)


def find_by_id(db: Statements, hasher: Callable[[str], str], query: ById) -> Answer | None:
    """The student with this ID number and name. The person typed the ID number,
    so the G number (which contains it) is shown whole."""
    row = db.first(_STUDENT + "s.id_hash = ?", hasher(query.id_number.number))
    if row is None or normalize_name(row[2]) != query.name:
        return None
    return _answer(db, row, show_whole=True)


def find_by_birth(db: Statements, query: ByBirth) -> Answer | None:
    """A student without an ID number (J or L), by name, birth date and school.

    G students are never found this way: their number contains the ID
    number, which name, birth date and school must not be enough to learn.
    """
    rows = db.rows(_STUDENT + "s.school_code = ? AND s.birth_date = ? AND s.kind <> 'G'",
                   query.school_code, db.date_in(query.birth_date))
    matches = [row for row in rows if normalize_name(row[2]) == query.name]
    # Two students of one school with the same name and birthday cannot be
    # told apart here; the school's registrar can.
    if len(matches) != 1:
        return None
    return _answer(db, matches[0], show_whole=True)


def check_number(db: Statements, query: ByNumber) -> Answer | None:
    """Whether a number is current, or what it became; None when it is unknown."""
    asked = query.number.number
    current = asked
    for _ in range(_MAX_CHAIN):
        newer = db.first("SELECT new_number FROM number_history WHERE old_number = ?", current)
        if newer is None:
            break
        current = newer[0]
    row = db.first(_STUDENT + "s.number = ?", current)
    if row is None or normalize_name(row[2]) != query.name:
        return None
    if current == asked:
        return _answer(db, row, show_whole=True)
    return _answer(db, row, show_whole=False, replaced=asked)


@dataclass(frozen=True)
class _Unit:
    code: str
    name: str
    active: bool
    parent_code: str | None
    phone: str | None
    email: str | None


def _region(code: str) -> list[str]:
    """The unit codes a place code may lead to: its county, prefecture and province,
    and the ministry, whose units are fetched at once."""
    return list(dict.fromkeys((code, code[:4] + "00", code[:2] + "0000", NATIONAL_CODE)))


class _Units:
    """Units by code, fetched a region at a time: one query for what most contacts need."""

    def __init__(self, db: Statements, codes: list[str]) -> None:
        self._db = db
        rows = db.rows(f"{_UNITS} IN ({', '.join('?' * len(codes))})", *codes)
        self._known: dict[str, _Unit | None] = dict.fromkeys(codes)
        self._known.update((row[0], _Unit(*row)) for row in rows)

    def get(self, code: str | None) -> _Unit | None:
        if not code:
            return None
        if code not in self._known:
            row = self._db.first(f"{_UNITS} = ?", code)
            self._known[code] = _Unit(*row) if row is not None else None
        return self._known[code]


def _unit_for_place(units: _Units, code: str) -> _Unit | None:
    # The nearest active unit up the division codes: county, prefecture, province.
    for candidate in (code, code[:4] + "00", code[:2] + "0000"):
        unit = units.get(candidate)
        if unit is not None and unit.active:
            return unit
    return None


def _with_channels(units: _Units, unit: _Unit | None) -> _Unit | None:
    # A unit that has published no channel sends the family to the nearest
    # ancestor that has one; if none has, to the unit itself (its directory
    # page says what is published).
    current, seen = unit, 0
    while current is not None and not (current.phone or current.email) and seen < 8:
        current = units.get(current.parent_code)
        seen += 1
    return current or unit


def contact_for(db: Statements, query: ById | ByBirth | ByNumber) -> Contact:
    """Whom to contact after a lookup that found nothing.

    Worked out from what was typed alone (the birthplace in an ID number, the
    school a code names, the region in a J or L number), never from whether a
    student exists, so it tells an attacker nothing the input did not.
    """
    school = None
    if isinstance(query, ById):
        place = query.id_number.address_code
    elif isinstance(query, ByNumber):
        place = query.number.region_code
    else:
        school = db.first("SELECT name, authority_code FROM schools WHERE code = ?", query.school_code)
        place = school[1] if school is not None else school_code_province(query.school_code) + "0000"
    units = _Units(db, _region(place))
    unit = units.get(place) if school is not None else _unit_for_place(units, place)
    unit = _with_channels(units, unit) or units.get(NATIONAL_CODE)
    assert unit is not None, "the national unit is seeded with the tree"
    return Contact(unit.code, unit.name, unit.phone, unit.email, school[0] if school is not None else None)
