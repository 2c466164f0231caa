"""The routing rule of the 2014 notice (教基一厅函〔2014〕50号), over plain data.

Pure functions on a mapping ``code → UnitRef`` (the authority tree, or the
part of it that holds the units asked about and their ancestors): the lowest
common authority of a set of units, where a unit stands relative to another,
and the level-by-level path down from one to the other. Everything follows
``parent_code``, never the shape of a division code, so municipalities'
districts, province-administered cities, county-less prefectures and the
兵团 come out right without a case of their own (``lookup/divisions.py``
builds the tree that way).

The database adapter and the Chinese trace live in ``hotline/routing.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Relation = Literal["same", "lower", "higher", "elsewhere"]

# Deeper than any real tree (national > province > prefecture > county, plus
# imported units below a county); a longer chain is a cycle.
_MAX_DEPTH = 16

LEVEL_TEXT = {"national": "国家级", "province": "省级", "prefecture": "地市级", "county": "区县级"}


class RoutingError(ValueError):
    """Routing was asked something it cannot answer; the message is Chinese, for users."""


@dataclass(frozen=True)
class UnitRef:
    """An education authority (教育行政部门) as routing sees it."""

    code: str
    name: str
    level: str  # national, province, prefecture, county
    parent_code: str | None
    active: bool = True

    def label(self) -> str:
        """``name（code，level）``, as the trace shows a unit.

        >>> UnitRef("110000", "北京市教育委员会", "province", "000000").label()
        '北京市教育委员会（110000，省级）'
        """
        return f"{self.name}（{self.code}，{LEVEL_TEXT.get(self.level, self.level)}）"


Tree = Mapping[str, UnitRef]


def unit(tree: Tree, code: str) -> UnitRef:
    """The unit with this code, or a :class:`RoutingError` naming it."""
    found = tree.get(code)
    if found is None:
        raise RoutingError(f"教育行政部门 {code} 不存在")
    return found


def chain(tree: Tree, code: str) -> list[UnitRef]:
    """The unit and its ancestors, the unit first and the root (教育部) last.

    >>> tree = {"000000": UnitRef("000000", "教育部", "national", None),
    ...         "110000": UnitRef("110000", "北京市教育委员会", "province", "000000"),
    ...         "110105": UnitRef("110105", "北京市朝阳区教育局", "county", "110000")}
    >>> [u.code for u in chain(tree, "110105")]
    ['110105', '110000', '000000']
    """
    units = [unit(tree, code)]
    while units[-1].parent_code is not None:
        if len(units) > _MAX_DEPTH:
            raise RoutingError(f"教育行政部门 {code} 的上级关系形成循环")
        units.append(unit(tree, units[-1].parent_code))
    return units


def lowest_common_authority(tree: Tree, codes: Iterable[str]) -> UnitRef:
    """The deepest unit that is an ancestor-or-self of every unit in ``codes``.

    2014 notice item 1: the common authority of the schools' authorities
    handles a complaint that involves several schools.

    >>> tree = {"000000": UnitRef("000000", "教育部", "national", None),
    ...         "420000": UnitRef("420000", "湖北省教育厅", "province", "000000"),
    ...         "420100": UnitRef("420100", "武汉市教育局", "prefecture", "420000"),
    ...         "420102": UnitRef("420102", "江岸区教育局", "county", "420100"),
    ...         "429004": UnitRef("429004", "仙桃市教育局", "county", "420000")}
    >>> lowest_common_authority(tree, ["420102", "429004"]).code
    '420000'
    >>> lowest_common_authority(tree, ["420102", "420100"]).code
    '420100'
    """
    chains = [chain(tree, code) for code in dict.fromkeys(codes)]
    if not chains:
        raise RoutingError("没有可供确定共同主管部门的单位")
    shared = set.intersection(*({u.code for u in c} for c in chains))
    # The first unit of any chain that every chain holds is the deepest one.
    return next(u for u in chains[0] if u.code in shared)


def relation(tree: Tree, from_code: str, to_code: str) -> Relation:
    """Where ``to_code`` (the responsible unit) stands seen from ``from_code`` (the receiver).

    ``lower``: forward it down level by level, or give a caller the lower
    unit's hotline; ``higher``: explain to the caller, or escalate;
    ``elsewhere``: another branch, which their common ancestor settles
    (2014 notice item 2).
    """
    if from_code == to_code:
        unit(tree, from_code)
        return "same"
    if from_code in {u.code for u in chain(tree, to_code)}:
        return "lower"
    if to_code in {u.code for u in chain(tree, from_code)}:
        return "higher"
    return "elsewhere"


def forwarding_path(tree: Tree, from_code: str, to_code: str) -> list[UnitRef]:
    """The hops from ``from_code`` down to ``to_code``, one level at a time.

    The start is left out and the end included, so an empty list means the
    receiver handles it itself. 2014 notice item 2: a complaint a lower level
    should handle is forwarded 逐级 (level by level), never straight down.

    >>> tree = {"000000": UnitRef("000000", "教育部", "national", None),
    ...         "130000": UnitRef("130000", "河北省教育厅", "province", "000000"),
    ...         "130100": UnitRef("130100", "石家庄市教育局", "prefecture", "130000"),
    ...         "130102": UnitRef("130102", "长安区教育局", "county", "130100")}
    >>> [u.code for u in forwarding_path(tree, "000000", "130102")]
    ['130000', '130100', '130102']
    """
    down = chain(tree, to_code)
    codes = [u.code for u in down]
    if from_code not in codes:
        start, end = unit(tree, from_code), down[0]
        raise RoutingError(f"{end.name}（{end.code}）不是{start.name}（{start.code}）的下级单位，"
                           "不能向下逐级转办")
    return list(reversed(down[:codes.index(from_code)]))


def parent_for_ruling(tree: Tree, code: str) -> UnitRef:
    """The unit that rules on a dispute over ``code``'s level: the next level up.

    2014 notice item 1: 处理层级有争议的，由上级教育行政部门裁定.
    """
    disputed = unit(tree, code)
    if disputed.parent_code is None:
        raise RoutingError(f"{disputed.name}是最高层级，没有可裁定层级争议的上级单位")
    return unit(tree, disputed.parent_code)


def province_of(tree: Tree, code: str) -> UnitRef | None:
    """The province-level unit (省、自治区、直辖市、兵团) above or at ``code``; None for 教育部."""
    return next((u for u in chain(tree, code) if u.level == "province"), None)
