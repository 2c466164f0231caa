"""Routing (责任主体): the one function every channel calls to find the responsible unit.

:func:`route` reads the schools and the part of the authority tree above
their direct authorities, and hands them to the pure rule
(``hotline/routing_rule.py``: the tree; ``hotline/routing_decision.py``:
the decision and its trace). Nothing is written to the database.

Errors are :class:`RoutingError` (a ``ValueError``) with a Chinese message:
an unknown 学校标识码 (every unknown code named at once); a school whose
direct authority is missing or *inactive* (named; an inactive unit's
division was abolished, and guessing its successor could send a complaint to
the wrong unit, so the school's record must be corrected first, with
``xueji import schools``, and the caller may triage the ticket meanwhile); a
receiving unit that does not exist or is inactive.

A process that routes many tickets in a row (the mail worker) may keep the
whole authority tree in a :class:`TreeCache` and hand it to the session with
:func:`cached_tree`: every function here then reads the units from it, with
the same results as from the database, and a change to the ``units`` table
reaches it within :data:`TREE_SECONDS`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from hotline import routing_rule as rule
from hotline.routing_decision import Decision, Rule, SchoolRef, decide
from hotline.routing_rule import Relation, RoutingError, Tree, UnitRef, lowest_common_authority
from lookup.models import NATIONAL_CODE, School, Unit
from lookup.numbers import NumberError, parse_school_code

__all__ = [
    "TREE_SECONDS", "Channels", "Decision", "Relation", "RoutingError", "Rule", "SchoolRef", "Tree",
    "TreeCache", "UnitRef", "cached_tree", "find_unit", "forwarding_path", "load_tree",
    "lowest_common_authority", "parent_for_ruling", "published_channels", "relation", "route", "subtree",
    "within",
]

# How stale a cached tree may be, in seconds: a change to the units table
# committed at t is used by every worker from t + TREE_SECONDS on at the
# latest. It changes rarely (``xueji import units``, a directory edit in the
# console), but until a worker reads it again a ticket may still be routed
# on the tree as it was, so the bound is kept short: re-reading the national
# tree (3,230 units, one query) takes about 14 ms, against four to eight
# queries for every routed ticket without the cache.
TREE_SECONDS = 10.0
_SESSION_KEY = "xueji.tree_cache"
# Built once: every routed ticket runs it, and making a statement costs
# more than running it.
_SCHOOLS = select(School).where(School.code.in_(bindparam("codes", expanding=True)))


@dataclass(frozen=True)
class Channels:
    """The complaint channels a caller is given (2014 notice item 4: each level publishes them).

    ``unit`` is the unit that published them: the one asked about, or its
    nearest ancestor that has published a phone or an e-mail address.
    """

    unit: UnitRef
    phone: str | None
    email: str | None


def route(session: Session, school_codes: Iterable[str], *,
          receiving_unit_code: str | None = None) -> Decision:
    """The responsible unit for a complaint about these schools (2014 notice item 1).

    No school: the receiving unit triages it (the ministry when there is
    none). With a receiving unit, the trace also says whether to handle it,
    forward it down level by level (with the lower unit's published hotline
    for a caller), or explain that a higher level handles it (item 2).
    """
    codes = list(dict.fromkeys(_normal(c) for c in school_codes if c.strip()))
    found = {s.code: s for s in session.scalars(_SCHOOLS, {"codes": codes})} if codes else {}
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise RoutingError("未知的学校标识码：" + "、".join(unknown))
    schools = [SchoolRef(c, found[c].name, found[c].authority_code) for c in codes]
    wanted = [s.authority_code for s in schools]
    if receiving_unit_code is not None:
        wanted.append(receiving_unit_code)
    if not schools:
        wanted.append(NATIONAL_CODE)
    tree = load_tree(session, wanted)
    decision = decide(tree, schools, receiving_unit_code)
    if decision.relation == "lower" and decision.receiving is not None:
        below = {u.code for u in rule.forwarding_path(tree, decision.receiving.code, decision.unit.code)}
        line = _hotline_line(published_channels(session, decision.unit.code), below)
        decision = dataclasses.replace(decision, trace=(*decision.trace, line))
    return decision


def _normal(code: str) -> str:
    # Codes typed by people or read from mail may carry full-width digits or
    # spaces; anything that is no 学校标识码 at all is reported as given.
    try:
        return parse_school_code(code)
    except NumberError:
        return code.strip()


def _hotline_line(channels: Channels, below: set[str]) -> str:
    # Only a channel published below the receiver helps a caller; the
    # receiver's own (or a higher unit's) number would send them back here.
    if channels.unit.code not in below:
        return "下级单位尚未公布投诉电话和邮箱，须逐级转办"
    published = "，".join(f"{label} {value}" for label, value in
                          (("电话", channels.phone), ("邮箱", channels.email)) if value)
    return f"可向来电人提供的下级处理渠道：{channels.unit.name} {published}"


def load_tree(session: Session, codes: Iterable[str]) -> dict[str, UnitRef]:
    """The units with these codes and all their ancestors (codes not found are left out).

    One query per level: at most five, whatever the number of codes; none
    when the session carries a cached tree (:func:`cached_tree`).
    """
    cache: TreeCache | None = session.info.get(_SESSION_KEY)
    if cache is not None:
        return subtree(cache.units(session), codes)
    tree: dict[str, UnitRef] = {}
    pending = set(codes)
    while pending:
        rows = session.scalars(select(Unit).where(Unit.code.in_(sorted(pending)))).all()
        for u in rows:
            tree[u.code] = UnitRef(u.code, u.name, u.level, u.parent_code, u.active)
        pending = {u.parent_code for u in rows if u.parent_code is not None} - tree.keys()
    return tree


def find_unit(session: Session, code: str) -> UnitRef | None:
    """One unit, from the cached tree when the session carries one."""
    cache: TreeCache | None = session.info.get(_SESSION_KEY)
    if cache is not None:
        return cache.units(session).get(code)
    u = session.get(Unit, code)
    return None if u is None else UnitRef(u.code, u.name, u.level, u.parent_code, u.active)


def subtree(units: Tree, codes: Iterable[str]) -> Tree:
    """What :func:`load_tree` reads, taken from a whole tree: ``codes`` and their ancestors.

    >>> units = {"000000": UnitRef("000000", "教育部", "national", None),
    ...          "130000": UnitRef("130000", "河北省教育厅", "province", "000000"),
    ...          "110000": UnitRef("110000", "北京市教育委员会", "province", "000000")}
    >>> sorted(subtree(units, ["130000", "999999"]))
    ['000000', '130000']
    """
    tree: Tree = {}
    pending = list(codes)
    while pending:
        code = pending.pop()
        if code in tree or code not in units:
            continue
        tree[code] = unit = units[code]
        if unit.parent_code is not None:
            pending.append(unit.parent_code)
    return tree


@dataclass(frozen=True)
class _Snapshot:
    units: Tree
    channels: dict[str, tuple[str | None, str | None]]  # code → published (phone, e-mail)


class TreeCache:
    """The whole authority tree, read in one query and used for at most ``max_age`` seconds.

    One per worker process. Only what routing reads is kept: the units as
    :class:`UnitRef` and their published complaint channels.
    """

    def __init__(self, max_age: float = TREE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self._clock = clock
        self._snapshot: _Snapshot | None = None
        self._read_at = 0.0

    def units(self, session: Session) -> Tree:
        return self._current(session).units

    def channels(self, session: Session, code: str) -> tuple[str | None, str | None]:
        return self._current(session).channels.get(code, (None, None))

    def _current(self, session: Session) -> _Snapshot:
        # The moment is taken before the read, so that a change committed
        # while reading still counts as unseen and the bound holds.
        moment = self._clock()
        if self._snapshot is None or moment - self._read_at >= self.max_age:
            rows = session.execute(select(Unit.code, Unit.name, Unit.level, Unit.parent_code, Unit.active,
                                          Unit.complaint_phone, Unit.complaint_email)).all()
            self._snapshot = _Snapshot(
                {r.code: UnitRef(r.code, r.name, r.level, r.parent_code, r.active) for r in rows},
                {r.code: (r.complaint_phone, r.complaint_email) for r in rows})
            self._read_at = moment
        return self._snapshot


@contextmanager
def cached_tree(session: Session, cache: TreeCache) -> Iterator[Session]:
    """Within the block, the routing functions read the units of ``session`` from ``cache``."""
    previous = session.info.get(_SESSION_KEY)
    session.info[_SESSION_KEY] = cache
    try:
        yield session
    finally:
        if previous is None:
            session.info.pop(_SESSION_KEY, None)
        else:
            session.info[_SESSION_KEY] = previous


def _tree(source: Session | Tree, *codes: str) -> Tree:
    return load_tree(source, codes) if isinstance(source, Session) else source


def forwarding_path(source: Session | Tree, from_code: str, to_code: str) -> list[UnitRef]:
    """The hops from the receiving unit down to the responsible one, one level at a time.

    Start excluded, end included (2014 notice item 2: 逐级转由相应层级处理).
    """
    return rule.forwarding_path(_tree(source, from_code, to_code), from_code, to_code)


def relation(source: Session | Tree, from_code: str, to_code: str) -> Relation:
    """'same', 'lower' (forward down), 'higher' (explain, escalate) or 'elsewhere'
    (another branch: the common ancestor decides), seen from ``from_code``."""
    return rule.relation(_tree(source, from_code, to_code), from_code, to_code)


def within(source: Session | Tree, code: str, ancestor_code: str) -> bool:
    """Whether ``code`` is ``ancestor_code`` or below it (a ruling stays inside the ruler's area)."""
    return rule.relation(_tree(source, ancestor_code, code), ancestor_code, code) in ("same", "lower")


def parent_for_ruling(source: Session | Tree, code: str) -> UnitRef:
    """Who rules on a dispute over ``code``'s level: the next level up (2014 notice item 1)."""
    return rule.parent_for_ruling(_tree(source, code), code)


def published_channels(session: Session, unit_code: str) -> Channels:
    """The unit's published phone and e-mail, or its nearest ancestor's that has published any.

    The same rule as the lookup's "whom to contact" (``lookup/search.py``):
    if no unit up to the ministry has published one, the unit itself, with
    neither.
    """
    cache: TreeCache | None = session.info.get(_SESSION_KEY)
    if cache is not None:
        return _cached_channels(session, cache, unit_code)
    start = session.get(Unit, unit_code)
    if start is None:
        raise RoutingError(f"教育行政部门 {unit_code} 不存在")
    current: Unit | None = start
    for _ in range(16):
        if current is None or current.complaint_phone or current.complaint_email:
            break
        current = session.get(Unit, current.parent_code) if current.parent_code else None
    chosen = current if current is not None and (current.complaint_phone or current.complaint_email) \
        else start
    return Channels(UnitRef(chosen.code, chosen.name, chosen.level, chosen.parent_code, chosen.active),
                    chosen.complaint_phone, chosen.complaint_email)


def _cached_channels(session: Session, cache: TreeCache, unit_code: str) -> Channels:
    """:func:`published_channels` over a cached tree: the same walk up, without a query."""
    units = cache.units(session)
    if unit_code not in units:
        raise RoutingError(f"教育行政部门 {unit_code} 不存在")
    current: UnitRef | None = units[unit_code]
    for _ in range(16):
        if current is None or any(cache.channels(session, current.code)):
            break
        current = units.get(current.parent_code) if current.parent_code else None
    chosen = current if current is not None and any(cache.channels(session, current.code)) \
        else units[unit_code]
    return Channels(chosen, *cache.channels(session, chosen.code))
