"""Finding schools by code or name, and students by name and ID number, from inside the console.

Schools are public facts: any console user may search them. A student is
found with the public lookup's own functions (``lookup.search``), so the
console answers exactly as the public site would, and "not found" is one
answer whatever was wrong; the views audit every lookup
(``audit_view("student_lookup", ...)``). What a ticket keeps of a student is
decided here too (:func:`student_ref`): never the ID number in clear.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import db
from hotline.tickets.intake import StudentRef
from lookup import dbapi
from lookup.inputs import ById
from lookup.limits import hasher
from lookup.models import School, Unit
from lookup.numbers import mask_id_number
from lookup.search import Answer, Contact, contact_for, find_by_id

MIN_QUERY = 2  # characters: one character of a name matches half the schools of a province
SEARCH_LIMIT = 50
CANDIDATES = 20  # schools listed when a name in the call form means several
OWN_SCHOOLS = 200  # suggestions offered on the call form: the schools the agent's unit runs


@dataclass(frozen=True)
class SchoolHit:
    """A school as the agent picks it: its 学校标识码, name and direct authority."""

    code: str
    name: str
    authority_code: str
    authority_name: str


def normal_query(text: str) -> str:
    """What was typed, as it is searched: full-width folded, outer spaces dropped.

    >>> normal_query(" ２１１１０ ")
    '21110'
    """
    return unicodedata.normalize("NFKC", text).strip()


def _hits(session: Session, *where: object, limit: int) -> list[SchoolHit]:
    rows = session.execute(
        select(School.code, School.name, School.authority_code, Unit.name)
        .join(Unit, Unit.code == School.authority_code)
        .where(*where).order_by(School.code).limit(limit))
    return [SchoolHit(*row) for row in rows]


def search_schools(session: Session, text: str, *, limit: int = SEARCH_LIMIT) -> list[SchoolHit]:
    """Schools whose code starts with the digits typed, or whose name contains the text."""
    query = normal_query(text)
    if len(query) < MIN_QUERY:
        return []
    if query.isdigit():
        return _hits(session, School.code.startswith(query, autoescape=True), limit=limit)
    return _hits(session, School.name.contains(query, autoescape=True), limit=limit)


def schools_named(session: Session, name: str) -> list[SchoolHit]:
    """The schools a name in the call form may mean: its exact namesakes if any, else the
    schools whose name contains it (at most CANDIDATES + 1, so "more than shown" is known)."""
    query = normal_query(name)
    exact = _hits(session, School.name == query, limit=CANDIDATES + 1)
    return exact or search_schools(session, query, limit=CANDIDATES + 1)


def schools_run_by(session: Session, unit_code: str) -> list[SchoolHit]:
    """The schools whose direct authority is the unit: the suggestions of its agents' call form."""
    return _hits(session, School.authority_code == unit_code, limit=OWN_SCHOOLS)


def known_codes(session: Session, codes: Sequence[str]) -> set[str]:
    return set(session.scalars(select(School.code).where(School.code.in_(list(codes))))) if codes else set()


@dataclass(frozen=True)
class StudentFinding:
    """One student looked up from the console, and what a ticket would keep of them."""

    name: str
    id_masked: str | None
    answer: Answer | None  # found
    contact: Contact | None  # not found: whom the family may turn to
    ref: StudentRef

    @property
    def outcome(self) -> str:
        """found, not_found, or name_only (no ID number given, nothing looked up)."""
        if self.answer is not None:
            return "found"
        return "not_found" if self.id_masked else "name_only"


def student_ref(query: ById, answer: Answer | None) -> StudentRef:
    """What the ticket keeps of a student: the keyed hash and the masked ID number, and the
    national number only when it holds no identity data.

    A G number is "G" + the ID number: kept, it would be the ID number in clear.
    The keyed hash is the registry's own (``students.id_hash``), so the record,
    and its G number, are found again from the ticket whenever they are needed.
    """
    number = query.id_number.number
    kept = answer.number if answer is not None and answer.kind != "G" else None
    return StudentRef(number=kept, id_hash=hasher()(number), id_masked=mask_id_number(number),
                      name=query.name)


def look_up(queries: Sequence[ById | str]) -> list[StudentFinding]:
    """Look each student up as the public lookup does (a name alone is only recorded).

    All lookups run in one block on the lookup's own connection
    (``lookup.dbapi``), before the caller writes its audit rows.
    """
    if all(isinstance(query, str) for query in queries):
        return [StudentFinding(query, None, None, None, StudentRef(name=query)) for query in queries]
    findings: list[StudentFinding] = []
    with dbapi.statements(db.session()) as statements:
        for query in queries:
            if isinstance(query, str):
                findings.append(StudentFinding(query, None, None, None, StudentRef(name=query)))
                continue
            answer = find_by_id(statements, hasher(), query)
            contact = contact_for(statements, query) if answer is None else None
            findings.append(StudentFinding(query.name, mask_id_number(query.id_number.number), answer,
                                           contact, student_ref(query, answer)))
    return findings
