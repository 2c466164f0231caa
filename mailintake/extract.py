"""What a message names, for routing: school codes and names, student and ID numbers, places.

Pure: the caller passes the divisions as (code, name) pairs (or a built
:class:`~mailintake.places.PlaceIndex`) and the keyed hasher of
:mod:`lookup.privacy`, so nothing here touches the database, and no ID
number ever leaves this module in clear: a resident ID number, and the ID
number inside a G number, come out only as their keyed hash and masked form
(DESIGN.md, "Public lookup": minors' identity data are sensitive).

Numbers are checked with :mod:`lookup.numbers`, the rules the lookup and the
imports apply: an ID number with a wrong check character or an impossible
birth date is no candidate, an L number gets no checksum.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lookup.numbers import (
    NumberError,
    id_check_char,
    mask_id_number,
    parse_id_number,
    parse_student_number,
)
from mailintake import school_names
from mailintake.places import PlaceIndex, PlaceMention
from mailintake.school_names import SchoolMention

Hasher = Callable[[str], str]

# Dashes and invisible characters people paste into numbers (as
# lookup.numbers drops them), and the "×" Chinese input methods offer for X.
_SEPARATORS = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b"), "-")
_SEPARATORS.update(dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff")))
_SEPARATORS[ord("\u00d7")] = "X"
# An optional kind letter, then 9 to 19 digits with at most three spaces or
# hyphens between any two, then an optional X: every shape of number we
# look for. Digits glued to more digits are no number of ours.
_NUMBER = re.compile(
    r"(?:(?<![A-Za-z0-9])([GJLgjl])[ \t-]{0,3}|(?<![0-9]))"
    r"([0-9](?:[ \t-]{0,3}[0-9]){8,18}(?:[ \t-]{0,3}[Xx](?![A-Za-z]))?)(?![0-9])"
)
_GROUPS = re.compile(r"[ \t-]+")
_SCHOOL_CODE = re.compile(r"[1-9][0-9]{9}")
# GB/T 2260 province codes of the mainland and 66 for 新疆生产建设兵团, whose
# schools the registry holds; used when the caller gives no divisions.
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "66",
})


@dataclass(frozen=True)
class IdMention:
    """A resident ID number, or the one inside a G number, as it may be kept."""

    kind: str  # "id" (a resident ID number) or "G" (a G student number)
    id_hash: str  # the keyed hash of the 18-character ID number
    masked: str  # e.g. "110***********002X", or "G110***********002X"


@dataclass(frozen=True)
class Candidates:
    """Everything routable a message names, in the order it names them."""

    school_codes: tuple[str, ...] = ()
    student_numbers: tuple[str, ...] = ()  # J and L numbers: no identity data inside
    ids: tuple[IdMention, ...] = ()
    places: tuple[PlaceMention, ...] = ()
    school_names: tuple[SchoolMention, ...] = ()  # see mailintake.school_names

    @property
    def empty(self) -> bool:
        return not (self.school_codes or self.student_numbers or self.ids or self.places or self.school_names)

    @property
    def place_codes(self) -> tuple[str, ...]:
        return place_codes(self.places)


def place_codes(places: Iterable[PlaceMention]) -> tuple[str, ...]:
    """Every division the places may be, those a name gives alone first.

    >>> place_codes([PlaceMention("朝阳区", ("110105", "220104")), PlaceMention("河北", ("130000",))])
    ('130000', '110105', '220104')
    """
    ordered = sorted(places, key=lambda p: len(p.codes) > 1)
    return tuple(dict.fromkeys(code for place in ordered for code in place.codes))


def normalise(text: str) -> str:
    """Full-width characters folded, pasted dashes made plain hyphens, × made X.

    >>> normalise("１１０１０５－１９４９×")
    '110105-1949X'
    """
    return unicodedata.normalize("NFKC", text).translate(_SEPARATORS)


def _upgraded(number: str) -> str:
    # A first-generation 15-digit number as the registry holds it (GB 11643:
    # insert the century, append the check character), as lookup.inputs does.
    if len(number) == 18:
        return number
    first17 = number[:6] + "19" + number[6:]
    return first17 + id_check_char(first17)


class _Found:
    def __init__(self, provinces: frozenset[str], hasher: Hasher, today: datetime.date | None) -> None:
        self.provinces, self.hasher, self.today = provinces, hasher, today
        self.schools: dict[str, None] = {}
        self.students: dict[str, None] = {}
        self.ids: dict[str, IdMention] = {}

    def take(self, letter: str, digits: str) -> bool:
        """Record ``digits`` (with its kind letter, if any) if it is a valid number."""
        try:
            if letter:
                number = parse_student_number(letter + digits, today=self.today)
                if number.kind == "G":
                    self._id("G", number.id_number)
                else:
                    self.students.setdefault(number.number)
                return True
            if len(digits) in (15, 18):
                self._id("id", _upgraded(parse_id_number(digits, today=self.today).number))
                return True
        except NumberError:
            return False
        if _SCHOOL_CODE.fullmatch(digits) and digits[2:4] in self.provinces:
            self.schools.setdefault(digits)
            return True
        return False

    def _id(self, kind: str, id_number: str) -> None:
        masked = mask_id_number(id_number)
        hashed = self.hasher(id_number)
        self.ids.setdefault(hashed, IdMention(kind, hashed, "G" + masked if kind == "G" else masked))


def candidates(text: str, *, divisions: PlaceIndex | Iterable[tuple[str, str]] = (),
               hasher: Hasher, today: datetime.date | None = None) -> Candidates:
    """The school codes, student numbers, ID numbers, places and school names ``text`` names.

    >>> from lookup.privacy import id_hasher
    >>> found = candidates("孩子身份证 11010519491231002x，学校 2111000001，家在北京市海淀区",
    ...                    divisions=[("110000", "北京市"), ("110108", "海淀区")], hasher=id_hasher(b"k"))
    >>> found.school_codes, [i.masked for i in found.ids], [p.codes for p in found.places]
    (('2111000001',), ['110***********002X'], [('110000',), ('110108',)])
    """
    places = divisions if isinstance(divisions, PlaceIndex) else PlaceIndex(divisions)
    normal = normalise(text)
    # 66 (兵团) is no division but has schools: see PROVINCES.
    found = _Found(places.provinces | {"66"} if places.provinces else PROVINCES, hasher, today)
    for match in _NUMBER.finditer(normal):
        letter = (match.group(1) or "").upper()
        digits = match.group(2).upper()
        groups = _GROUPS.split(digits)
        if found.take(letter, "".join(groups)) or len(groups) == 1:
            continue
        # Separated groups that make no number as a whole may hold several
        # (a school code and an ID number on one line): try every run of groups.
        first = 0
        while first < len(groups):
            last = next((last for last in range(len(groups), first, -1)
                         if found.take(letter if first == 0 else "", "".join(groups[first:last]))), first + 1)
            first = last
    mentioned = places.find(normal)
    return Candidates(tuple(found.schools), tuple(found.students), tuple(found.ids.values()), mentioned,
                      school_names.find(normal, places, place_codes(mentioned)))
