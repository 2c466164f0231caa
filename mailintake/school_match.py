"""School names found in mail, looked up in the registry (issue 6 item 3).

:func:`mailintake.school_names.find` gives, for each name a message writes,
the exact names it may stand for; this module reads the schools that carry
them (``schools.name`` is indexed: one probe per name) and decides, name by
name, without guessing:

- one school carries it: that school;
- several (第一中学 is the name of hundreds): those whose division lies
  under a place the mail names (仙桃 … 第一中学 → 仙桃市第一中学), then those
  that account for most of what was written (北京市第四中学 over a school
  called just 第四中学); if more than one is left, the name is ambiguous and
  its candidates are shown to the agent who triages the mail;
- a name inside a longer name that the registry knows (长安区第一中学 in
  长安区第一中学附属小学) is that longer name; an ambiguous name whose
  candidates include a school another name found is that school.

A school found by name is routed like one found by its code, through
``hotline.routing.route`` (2014 notice item 1).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from lookup.models import School
from mailintake.places import is_ancestor
from mailintake.school_names import SchoolMention

MAX_ROWS = 1_000  # schools read for one message's names
SHOWN = 10  # candidates listed per ambiguous name
_CHUNK = 500  # names per query, well under every backend's limit of bound parameters


@dataclass(frozen=True)
class Found:
    """A school a name may be: its registry row and how much of the written name it accounts for."""

    code: str
    name: str
    division_code: str
    weight: int

    def label(self) -> str:
        return f"{self.name}（{self.code}）"


@dataclass(frozen=True)
class NameMatch:
    """One name of the mail and the schools it leaves: one (found), several (ambiguous) or none."""

    mention: SchoolMention
    schools: tuple[Found, ...]


@dataclass(frozen=True)
class NameRoute:
    """What the names of a message give routing."""

    school_codes: tuple[str, ...]  # the schools the names identify, in the order named
    ambiguous: bool  # a name stands for several schools, and nothing else decides
    trace: tuple[str, ...]


def under(division_code: str, place_codes: Iterable[str]) -> bool:
    """Whether the division is one of the places or lies below one of them.

    >>> under("429004", ["420000"]), under("110105", ["110105"]), under("130102", ["130100"])
    (True, True, True)
    >>> under("130104", ["130102", "110000"])
    False
    """
    return any(code == division_code or is_ancestor(code, division_code) for code in place_codes)


def choose(found: Sequence[Found], place_codes: Sequence[str]) -> tuple[Found, ...]:
    """The schools a name leaves: under a place the mail names, then the longest written match.

    >>> a = Found("3142000001", "仙桃市第一中学", "429004", 4)
    >>> b = Found("3142000009", "第一中学", "420102", 4)
    >>> [s.code for s in choose([a, b], ["429004"])]
    ['3142000001']
    >>> [s.code for s in choose([a, b], [])]
    ['3142000001', '3142000009']
    >>> [s.code for s in choose([a, b], ["130000"])]  # no candidate under the place: it decides nothing
    ['3142000001', '3142000009']
    """
    within = [s for s in found if under(s.division_code, place_codes)]
    found = within or list(found)
    if not found:
        return ()
    best = max(s.weight for s in found)
    return tuple(s for s in found if s.weight == best)


def _read(session: Session, names: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Registered name → [(code, division)], for the names given, at most MAX_ROWS schools."""
    by_name: dict[str, list[tuple[str, str]]] = {}
    rows = 0
    for first in range(0, len(names), _CHUNK):
        query = (select(School.code, School.name, School.division_code)
                 .where(School.name.in_(names[first:first + _CHUNK])).order_by(School.code)
                 .limit(MAX_ROWS - rows))
        for code, name, division in session.execute(query):
            by_name.setdefault(name, []).append((code, division))
            rows += 1
        if rows >= MAX_ROWS:
            break
    return by_name


def _covered(found: NameMatch) -> tuple[int, int]:
    """The part of the text a matched name accounts for: back from its end, as much as its best form.

    长安区第一中学附属小学 covers 长安区第一中学 inside it; in 仙桃市第一中学和石家庄市第一中学
    the name part of the second runs back over the first, but 石家庄市第一中学 covers only itself.
    """
    return found.mention.end - max(s.weight for s in found.schools), found.mention.end


def match(session: Session, mentions: Sequence[SchoolMention], place_codes: Sequence[str]) -> list[NameMatch]:
    """Each name's schools, after the rules of the module's docstring."""
    names = list(dict.fromkeys(form for m in mentions for form in m.forms))
    by_name = _read(session, names) if names else {}
    matches = []
    for mention in mentions:
        best: dict[str, Found] = {}
        for form, weight in mention.forms.items():
            for code, division in by_name.get(form, ()):
                if code not in best or best[code].weight < weight:
                    best[code] = Found(code, form, division, weight)
        matches.append(NameMatch(mention, choose(list(best.values()), place_codes)))
    spans = [(m, _covered(m)) for m in matches if m.schools]
    matches = [m for m in matches
               if not any(other is not m and start <= m.mention.start and m.mention.end <= end
                          for other, (start, end) in spans)]
    resolved = {m.schools[0].code for m in matches if len(m.schools) == 1}
    decided = []
    for m in matches:
        known = tuple(s for s in m.schools if s.code in resolved) if len(m.schools) > 1 else ()
        if len(known) > 1:
            continue  # it names only schools other names found: nothing to add
        decided.append(NameMatch(m.mention, known) if known else m)
    return decided


def _written(found: NameMatch) -> str:
    """What the mail wrote of the name, as far as the schools' names account for it.

    (A subject line runs into the text: 学籍问题 / 仙桃市第一中学 is shown as 仙桃市第一中学.)
    """
    return found.mention.written[-max(s.weight for s in found.schools):]


def resolve_names(session: Session, mentions: Sequence[SchoolMention],
                  place_codes: Sequence[str]) -> NameRoute:
    """The schools the names identify, and the trace lines for the agent (candidates included)."""
    matches = match(session, mentions, place_codes)
    found = [m for m in matches if len(m.schools) == 1]
    ambiguous = [m for m in matches if len(m.schools) > 1]
    # A spoken short form the registry does not know is most likely no name at all.
    unknown = [m for m in matches if not m.schools and not m.mention.short]
    trace = []
    if found:
        trace.append("依据邮件中的学校名称识别的学校：" + "；".join(
            f"“{_written(m)}”→{m.schools[0].label()}" for m in found))
    for m in ambiguous:
        more = f"等 {len(m.schools)} 所" if len(m.schools) > SHOWN else ""
        trace.append(f"邮件中的学校名称“{_written(m)}”对应多所学校，未用于分办：" + "、".join(
            s.label() for s in m.schools[:SHOWN]) + more)
    if unknown:
        trace.append("邮件中的学校名称在学籍库中找不到，未用于分办：" + "、".join(
            f"“{m.mention.written}”" for m in unknown))
    codes = tuple(dict.fromkeys(m.schools[0].code for m in found))
    return NameRoute(codes, bool(ambiguous) and not codes, tuple(trace))
