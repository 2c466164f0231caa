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

from sqlalchemy import select
from sqlalchemy.orm import Session

from lookup.inputs import ByBirth, ById, ByNumber, normalize_name
from lookup.models import NATIONAL_CODE, NumberChange, School, Student, Unit
from lookup.numbers import mask_id_number, school_code_province

_MAX_CHAIN = 16  # longer than any real history; the import refuses cycles

# One query per lookup: the student, the school, and whether any history leads
# to the number (most students have none, and then no second query is made).
_HAS_HISTORY = select(NumberChange.id).where(NumberChange.new_number == Student.number).exists()
_STUDENT = (select(Student.number, Student.kind, Student.name, Student.status,
                   School.code, School.name, _HAS_HISTORY.label("has_history"))
            .join(School, School.code == Student.school_code))


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


def _earlier(session: Session, number: str) -> tuple[Earlier, ...]:
    # Walk the history backwards from the current number: one indexed query
    # per step.
    found, frontier = [], [number]
    for _ in range(_MAX_CHAIN):
        rows = session.execute(
            select(NumberChange.old_number, NumberChange.reason, NumberChange.changed_on)
            .where(NumberChange.new_number.in_(frontier))).all()
        if not rows:
            break
        found += [Earlier(shown_number(old), reason, on) for old, reason, on in rows]
        frontier = [old for old, _, _ in rows]
    return tuple(sorted(found, key=lambda e: e.changed_on, reverse=True))


def _answer(session: Session, row, *, show_whole: bool, replaced: str | None = None) -> Answer:
    number, kind, _name, status, school_code, school_name, has_history = row
    earlier = _earlier(session, number) if has_history else ()
    return Answer(number if show_whole else shown_number(number), kind, school_code, school_name,
                  status, earlier, replaced)


def find_by_id(session: Session, hasher: Callable[[str], str], query: ById) -> Answer | None:
    """The student with this ID number and name. The person typed the ID number,
    so the G number (which contains it) is shown whole."""
    # On the connection, not the ORM session: the rows are plain tuples, and
    # the ORM's execution path costs as much as the query on a hot path.
    row = session.connection().execute(
        _STUDENT.where(Student.id_hash == hasher(query.id_number.number))).first()
    if row is None or normalize_name(row.name) != query.name:
        return None
    return _answer(session, row, show_whole=True)


def find_by_birth(session: Session, query: ByBirth) -> Answer | None:
    """A student without an ID number (J or L), by name, birth date and school.

    G students are never found this way: their number contains the ID
    number, which name, birth date and school must not be enough to learn.
    """
    rows = session.execute(_STUDENT.where(
        Student.school_code == query.school_code, Student.birth_date == query.birth_date,
        Student.kind != "G")).all()
    matches = [row for row in rows if normalize_name(row.name) == query.name]
    # Two students of one school with the same name and birthday cannot be
    # told apart here; the school's registrar can.
    if len(matches) != 1:
        return None
    return _answer(session, matches[0], show_whole=True)


def check_number(session: Session, query: ByNumber) -> Answer | None:
    """Whether a number is current, or what it became; None when it is unknown."""
    asked = query.number.number
    current = asked
    for _ in range(_MAX_CHAIN):
        newer = session.scalar(select(NumberChange.new_number).where(NumberChange.old_number == current))
        if newer is None:
            break
        current = newer
    row = session.execute(_STUDENT.where(Student.number == current)).first()
    if row is None or normalize_name(row.name) != query.name:
        return None
    if current == asked:
        return _answer(session, row, show_whole=True)
    return _answer(session, row, show_whole=False, replaced=asked)


def _unit_for_place(session: Session, code: str) -> Unit | None:
    # The nearest active unit up the division codes: county, prefecture, province.
    for candidate in (code, code[:4] + "00", code[:2] + "0000"):
        unit = session.get(Unit, candidate)
        if unit is not None and unit.active:
            return unit
    return None


def _with_channels(session: Session, unit: Unit | None) -> Unit | None:
    # A unit that has published no channel sends the family to the nearest
    # ancestor that has one; if none has, to the unit itself (its directory
    # page says what is published).
    current, seen = unit, 0
    while current is not None and not (current.complaint_phone or current.complaint_email) and seen < 8:
        current = session.get(Unit, current.parent_code) if current.parent_code else None
        seen += 1
    return current or unit


def contact_for(session: Session, query: ById | ByBirth | ByNumber) -> Contact:
    """Whom to contact after a lookup that found nothing.

    Worked out from what was typed alone (the birthplace in an ID number, the
    school a code names, the region in a J or L number), never from whether a
    student exists, so it tells an attacker nothing the input did not.
    """
    school = None
    if isinstance(query, ById):
        unit = _unit_for_place(session, query.id_number.address_code)
    elif isinstance(query, ByNumber):
        unit = _unit_for_place(session, query.number.region_code)
    else:
        school = session.get(School, query.school_code)
        if school is not None:
            unit = session.get(Unit, school.authority_code)
        else:
            unit = _unit_for_place(session, school_code_province(query.school_code) + "0000")
    unit = _with_channels(session, unit) or session.get(Unit, NATIONAL_CODE)
    assert unit is not None, "the national unit is seeded with the tree"
    return Contact(unit.code, unit.name, unit.complaint_phone, unit.complaint_email,
                   school.name if school is not None else None)
