"""The public directory of complaint channels (投诉受理渠道), browsable and searchable by place.

2014 notice item 4: every level publishes its complaint phone and e-mail; the
ministry publishes the provinces' list nationally, each province its
prefectures' and counties'. A unit that has published nothing points to the
nearest unit above it that has.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from hotline import db
from lookup.divisions import OUTSIDE_SYSTEM
from lookup.models import NATIONAL_CODE, UNIT_LEVELS, Division, Unit

LIMIT = 50
MAX_QUERY = 40
_CODE = re.compile(r"^[0-9]{1,12}$")
_TEL = re.compile(r"^\+?[0-9][0-9\-]{4,30}$")


class QueryError(ValueError):
    """A search the visitor must correct; the message is shown as is."""


def normalize_query(raw: str) -> str:
    """The search term as compared: NFKC (full width to half width), trimmed, lower case.

    >>> normalize_query("  ＣＨＡＯ 朝阳\\u3000")
    'chao 朝阳'
    >>> normalize_query("a\\x00b")
    Traceback (most recent call last):
    ...
    lookup.directory.QueryError: 地名中含有无法识别的控制字符，请重新输入。
    """
    term = unicodedata.normalize("NFKC", raw).strip().lower()
    # Categories C*: control, format (zero-width), surrogate, private, unassigned.
    if any(unicodedata.category(char).startswith("C") for char in term):
        raise QueryError("地名中含有无法识别的控制字符，请重新输入。")
    if len(term) > MAX_QUERY:
        raise QueryError(f"地名过长，请不超过 {MAX_QUERY} 个字。")
    return term


def tel_href(phone: str | None) -> str | None:
    """A ``tel:`` link for a single plain number; lists and extensions stay text.

    >>> tel_href("010-66097315"), tel_href("0311-1234 转 8")
    ('tel:01066097315', None)
    """
    if phone is None or not _TEL.match(phone):
        return None
    return "tel:" + phone.replace("-", "")


def published(unit: Unit) -> bool:
    return bool(unit.complaint_phone or unit.complaint_email)


@dataclass(frozen=True)
class Listing:
    """A unit as the directory shows it; ``fallback`` only when it has published nothing."""

    unit: Unit
    fallback: Unit | None = None


@dataclass(frozen=True)
class Branch:
    listing: Listing
    children: list[Listing] = field(default_factory=list)


@dataclass(frozen=True)
class UnitPage:
    listing: Listing
    ancestors: list[Unit]  # the ministry first, the direct parent last
    groups: list[tuple[str, list[Branch]]]  # (level, branches), higher levels first


@dataclass(frozen=True)
class Match:
    path: list[str]  # place names, province first
    note: str | None
    listing: Listing


@dataclass(frozen=True)
class SearchResult:
    matches: list[Match]
    more: bool


def _with_ancestors(session: Session, units: Iterable[Unit]) -> dict[str, Unit]:
    """The units and every unit above them, by code, in one query per level."""
    known = {unit.code: unit for unit in units}
    while missing := {u.parent_code for u in known.values()
                      if u.parent_code is not None and u.parent_code not in known}:
        known.update((u.code, u) for u in session.scalars(select(Unit).where(Unit.code.in_(missing))))
    return known


def _listing(unit: Unit, known: dict[str, Unit]) -> Listing:
    if published(unit):
        return Listing(unit)
    above = known.get(unit.parent_code) if unit.parent_code else None
    while above is not None and not published(above):
        above = known.get(above.parent_code) if above.parent_code else None
    return Listing(unit, above)


def _children(session: Session, codes: Iterable[str]) -> list[Unit]:
    return list(session.scalars(select(Unit).where(Unit.parent_code.in_(list(codes)), Unit.active)
                                .order_by(Unit.code)))


def national_and_provinces(session: Session) -> tuple[Listing, list[Listing]]:
    """What the ministry publishes nationally: its own channels and the provinces' (incl. 兵团)."""
    national = session.get(Unit, NATIONAL_CODE)
    if national is None:
        raise LookupError("the authority tree is not seeded")
    provinces = _children(session, [NATIONAL_CODE])
    known = _with_ancestors(session, [national, *provinces])
    return Listing(national), [_listing(unit, known) for unit in provinces]


def unit_page(session: Session, code: str) -> UnitPage | None:
    """A unit, the way up to the ministry, and its active children (a prefecture's with their counties)."""
    unit = session.get(Unit, code)
    if unit is None:
        return None
    children = _children(session, [code])
    prefectures = [child.code for child in children if child.level == "prefecture"]
    grandchildren = _children(session, prefectures) if prefectures else []
    known = _with_ancestors(session, [unit, *children, *grandchildren])
    ancestors = [known[above] for above in _chain(unit, known)[:-1]]
    groups: list[tuple[str, list[Branch]]] = []
    for level in UNIT_LEVELS:
        branches = [Branch(_listing(child, known),
                           [_listing(g, known) for g in grandchildren if g.parent_code == child.code])
                    for child in children if child.level == level]
        if branches:
            groups.append((level, branches))
    return UnitPage(_listing(unit, known), ancestors, groups)


def _rank(level: InstrumentedAttribute[str]) -> ColumnElement[int]:
    return case({"province": 0, "prefecture": 1}, value=level, else_=2)


def search(session: Session, term: str) -> SearchResult:
    """Places whose name contains ``term``, each with the unit that answers for it.

    Division names are searched as well as unit names, so that a district, or
    a place abolished since (its unit is gone), leads to the nearest current
    unit above it. LIKE wildcards typed by the visitor are escaped.
    """
    divisions = list(session.scalars(
        select(Division)
        .where(func.lower(Division.name).contains(term, autoescape=True),
               Division.level != "pseudo",
               func.substr(Division.code, 1, 2).not_in(sorted(OUTSIDE_SYSTEM)))
        .order_by(Division.valid_to.is_not(None), _rank(Division.level), Division.code)
        .limit(LIMIT + 1)))
    more = len(divisions) > LIMIT
    current_names = {(d.code[:2], d.name) for d in divisions if d.valid_to is None}
    # An abolished place whose name lives on in a current place of the same
    # province (a renumbering, 212221 → 211321 朝阳县) adds nothing but noise.
    divisions = [d for d in divisions
                 if d.valid_to is None or (d.code[:2], d.name) not in current_names]
    named = list(session.scalars(
        select(Unit)
        .where(func.lower(Unit.name).contains(term, autoescape=True), Unit.active,
               Unit.level != "national", Unit.code.not_in([d.code for d in divisions]))
        .order_by(_rank(Unit.level), Unit.code).limit(LIMIT + 1)))
    # Whatever answers for a division: its own unit, else the nearest one above it.
    candidates = {c for code in [*(d.code for d in divisions),
                                 *(u.division_code for u in named if u.division_code)]
                  for c in _upwards(code)}
    units = {u.code: u for u in session.scalars(
        select(Unit).where(Unit.code.in_(candidates), Unit.active))}
    places = {d.code: d for d in session.scalars(select(Division).where(Division.code.in_(candidates)))}
    places.update((d.code, d) for d in divisions)
    known = _with_ancestors(session, [*units.values(), *named])

    def path(code: str) -> list[str]:
        return [places[c].name for c in reversed(_upwards(code))
                if c in places and places[c].level != "pseudo"]

    matches: list[Match] = []
    for division in divisions:
        answering = next((units[c] for c in _upwards(division.code) if c in units), None)
        if answering is None:
            continue
        note = f"已撤销，沿用至 {division.valid_to} 年" if division.valid_to is not None else None
        matches.append(Match(path(division.code), note, _listing(answering, known)))
    for unit in named:
        if unit.division_code in places:
            names = path(unit.division_code)
        else:
            names = [known[c].name for c in _chain(unit, known) if c != NATIONAL_CODE]
        matches.append(Match(names, None, _listing(unit, known)))
    return SearchResult(matches[:LIMIT], more or len(matches) > LIMIT)


def _upwards(code: str) -> list[str]:
    """A division code and the codes above it in GB/T 2260, nearest first.

    >>> _upwards("110105"), _upwards("441900")
    (['110105', '110100', '110000'], ['441900', '440000'])
    """
    return list(dict.fromkeys((code, code[:4] + "00", code[:2] + "0000")))


def _chain(unit: Unit, known: dict[str, Unit]) -> list[str]:
    """The codes from the top of the tree down to ``unit``."""
    codes = [unit.code]
    while (parent := known[codes[0]].parent_code) is not None:
        codes.insert(0, parent)
    return codes


# Handlers: thin, GET only.

def index() -> ResponseReturnValue:
    session = db.session()
    try:
        term, error = normalize_query(request.args.get("q", "")), None
    except QueryError as exc:
        # What was typed is not shown again: it may hold control characters.
        term, error = "", str(exc)
    context = {"q": term, "error": error, "limit": LIMIT, "max_query": MAX_QUERY, "tel": tel_href}
    if term:
        page = render_template("lookup/directory.html", result=search(session, term), **context)
    else:
        national, provinces = national_and_provinces(session)
        page = render_template("lookup/directory.html", national=national, provinces=provinces,
                               **context)
    return (page, 400) if error else page


def unit(code: str) -> ResponseReturnValue:
    if code == NATIONAL_CODE:
        return redirect(url_for("public.directory"))
    page = unit_page(db.session(), code) if _CODE.match(code) else None
    if page is None:
        abort(404)
    return render_template("lookup/directory_unit.html", page=page, tel=tel_href)
