"""Administrative divisions (GB/T 2260) and the authority tree derived from them.

Pure functions over plain data: reading python-stdnum's maintained list,
classifying codes, and deciding which education authority is a division's
parent. The traps DESIGN.md names are decided here and only here:

- municipalities' districts sit under pseudo-prefectures (110100 市辖区,
  110200 县) that are no authority: their unit's parent is the municipality;
- province-administered county-level cities (4290xx 仙桃…, 4690xx, 4190xx,
  6590xx) sit under a pseudo-prefecture (xx9000) too: their parent is the province;
- prefectures with no counties (441900 东莞) are ordinary prefecture units
  that simply have no county unit below them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib.resources import files

# Rows that group counties for statistics but are no level of government.
PSEUDO_NAMES = frozenset({
    "市辖区", "县", "省直辖县级行政单位", "自治区直辖县级行政单位",
    "省直辖县级行政区划", "自治区直辖县级行政区划",
})
MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
# The student registry covers the mainland provinces; Taiwan, Hong Kong and
# Macao appear in GB/T 2260 (and in residence-permit ID numbers) but have no
# education authority in this system.
OUTSIDE_SYSTEM = frozenset({"71", "81", "82"})

_ENTRY = re.compile(r"^\[(?P<start>\d{4})?-(?P<end>\d{4})?\](?P<name>.+)$")


@dataclass(frozen=True)
class DivisionRow:
    code: str
    name: str
    level: str  # province, prefecture, county or pseudo
    parent_code: str | None
    valid_from: int | None
    valid_to: int | None


@dataclass(frozen=True)
class UnitRow:
    code: str
    name: str
    level: str  # national, province, prefecture, county
    parent_code: str | None
    division_code: str | None


def parse_names(value: str) -> tuple[str, int | None, int | None]:
    """The current name and validity years of a loc.dat ``county=`` value.

    >>> parse_names("[1983-2019]桥东区,[2020-]襄都区")
    ('襄都区', 1983, None)
    >>> parse_names("[-2010]崇文区")
    ('崇文区', None, 2010)
    >>> parse_names("东城区")
    ('东城区', None, None)
    """
    starts: list[int | None] = []
    ends: list[int | None] = []
    name = value
    for part in value.split(","):
        match = _ENTRY.match(part)
        if match is None:
            name, start, end = part, None, None
        else:
            name = match["name"]
            start = int(match["start"]) if match["start"] else None
            end = int(match["end"]) if match["end"] else None
        starts.append(start)
        ends.append(end)
    valid_from = None if None in starts else min(s for s in starts if s is not None)
    valid_to = None if None in ends else max(e for e in ends if e is not None)
    return name, valid_from, valid_to


def level_of(code: str, name: str) -> str:
    """Classify a six-digit code by its shape and, for pseudo rows, its name.

    >>> [level_of(c, n) for c, n in [("110000", "北京市"), ("110100", "市辖区"),
    ...  ("420100", "武汉市"), ("429004", "仙桃市"), ("130101", "市辖区")]]
    ['province', 'pseudo', 'prefecture', 'county', 'pseudo']
    """
    if name in PSEUDO_NAMES:
        return "pseudo"
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def structural_parent(code: str, known: set[str] | dict[str, object]) -> str | None:
    """The code's parent in GB/T 2260's own hierarchy, when present in ``known``."""
    if code.endswith("0000"):
        return None
    if not code.endswith("00") and code[:4] + "00" in known:
        return code[:4] + "00"
    province = code[:2] + "0000"
    return province if province in known else None


def read_stdnum() -> Iterator[DivisionRow]:
    """Every division python-stdnum knows, with derived parents."""
    text = files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    raw: dict[str, str] = {}
    province = ""
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, _, value = line.strip().partition(" ")
        if not line.startswith(" "):
            province = key
            continue
        # Every value is of the form county="..."; the province row repeats as xx0000.
        raw[province + key] = value.split("=", 1)[1].strip('"')
    yield from rows_from_names(raw.items())


def rows_from_names(items: Iterable[tuple[str, str]]) -> Iterator[DivisionRow]:
    """Division rows from (code, loc.dat-style name) pairs."""
    items = dict(items)
    for code, value in sorted(items.items()):
        name, valid_from, valid_to = parse_names(value)
        yield DivisionRow(
            code, name, level_of(code, name), structural_parent(code, items), valid_from, valid_to
        )


def authority_name(division: DivisionRow) -> str:
    """A default name for the education authority of a division; imports may correct it."""
    if division.level == "province":
        suffix = "教育委员会" if division.code[:2] in MUNICIPALITIES else "教育厅"
        return division.name + suffix
    return division.name + "教育局"


def derive_units(divisions: Iterable[DivisionRow]) -> list[UnitRow]:
    """The authority tree implied by the current divisions.

    A county's unit hangs under its prefecture's unit when that prefecture is
    a real, current one; otherwise (municipal districts, province-administered
    cities) directly under the province.
    """
    current = {d.code: d for d in divisions
               if d.valid_to is None and d.code[:2] not in OUTSIDE_SYSTEM}
    units = [UnitRow("000000", "教育部", "national", None, None)]
    for division in current.values():
        if division.level == "pseudo":
            continue
        if division.level == "province":
            parent = "000000"
        else:
            parent = division.code[:2] + "0000"
            prefecture = current.get(division.code[:4] + "00")
            if (division.level == "county" and prefecture is not None
                    and prefecture.level == "prefecture"):
                parent = prefecture.code
        units.append(UnitRow(division.code, authority_name(division), division.level,
                             parent, division.code))
    return units
