"""The routing decision (责任主体) and its trace, from plain data.

:func:`decide` applies item 1 of the 2014 notice to schools whose direct
authorities are known, and writes down why, in Chinese, one line per step:
which schools, which authorities, which rule, which unit. Where a receiving
unit is given it adds what item 2 asks of it (handle it, forward it down
level by level, or explain that a higher level handles it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hotline.routing_rule import (
    LEVEL_TEXT,
    Relation,
    RoutingError,
    Tree,
    UnitRef,
    chain,
    forwarding_path,
    lowest_common_authority,
    province_of,
    relation,
    unit,
)

Rule = Literal["one_school", "common_authority", "triage"]
NATIONAL_CODE = "000000"  # lookup.models.NATIONAL_CODE; this module stays free of the database
ITEM_1 = "（教基一厅函〔2014〕50号 第一条）"
ITEM_2 = "（教基一厅函〔2014〕50号 第二条）"
REPORT = "（教基一厅〔2016〕2号）"

# How the trace names the parts of a level: the notice's 县域, 地市, 省份.
_PART = {"province": "省份", "prefecture": "地市", "county": "县区"}
_SCOPE = {"county": "同一县区", "prefecture": "同一地市", "province": "同一省（区、市）"}


@dataclass(frozen=True)
class SchoolRef:
    """A school (学校) as routing sees it: its 学校标识码, name and direct authority."""

    code: str
    name: str
    authority_code: str


@dataclass(frozen=True)
class Decision:
    """Which unit is responsible (处理责任单位) for a complaint, and why.

    ``cross_province``: the schools lie in more than one province-level unit,
    so the ministry handles it and a 报告单 (report form) to the ministry is
    due (2016 notice: 跨省业务…以报告单形式及时报告教育部).
    ``relation`` says where the responsible unit stands from ``receiving``.
    """

    unit: UnitRef
    rule: Rule
    schools: tuple[SchoolRef, ...]
    authorities: tuple[UnitRef, ...]
    cross_province: bool
    trace: tuple[str, ...]
    receiving: UnitRef | None = None
    relation: Relation | None = None

    def as_json(self) -> dict[str, Any]:
        """What ``xueji route --json`` prints."""
        return {"unit": {"code": self.unit.code, "name": self.unit.name, "level": self.unit.level},
                "rule": self.rule, "cross_province": self.cross_province, "trace": list(self.trace)}


def decide(tree: Tree, schools: Sequence[SchoolRef], receiving_code: str | None = None) -> Decision:
    """Apply the 2014 notice's item 1 to ``schools`` (each at most once).

    Every authority and the receiving unit must be in ``tree`` with their
    ancestors. No school: the receiving unit triages it (the ministry's
    national queue when there is no receiving unit).
    """
    schools = tuple({s.code: s for s in schools}.values())
    _check_authorities(tree, schools)
    receiving = None
    if receiving_code is not None:
        receiving = tree.get(receiving_code)
        if receiving is None or not receiving.active:
            raise RoutingError(f"受理单位 {receiving_code} " + ("不存在" if receiving is None else "已停用"))
    if not schools:
        return _triage(tree, receiving)
    authorities = tuple({s.authority_code: unit(tree, s.authority_code) for s in schools}.values())
    responsible = lowest_common_authority(tree, [a.code for a in authorities])
    provinces = {p.code: p for a in authorities if (p := province_of(tree, a.code)) is not None}
    lines = [f"学校 {s.code} {s.name} → 直接主管：{unit(tree, s.authority_code).name}"
             f"（{s.authority_code}）" for s in schools]
    if len(schools) == 1:
        rule: Rule = "one_school"
        lines.append("仅涉及一所学校，由该校的直接教育行政主管部门处理" + ITEM_1)
    else:
        rule = "common_authority"
        lines.append(_common_reason(tree, responsible, authorities, len(schools)))
    lines.append(f"处理责任单位：{responsible.label()}")
    cross_province = len(provinces) > 1
    if cross_province:
        lines.append(f"涉及不同省份（{'、'.join(p.name for p in provinces.values())}），属跨省业务，"
                     "须以报告单形式及时报告教育部" + REPORT)
    seen_from: Relation | None = None
    if receiving is not None:
        seen_from = relation(tree, receiving.code, responsible.code)
        lines.append(_receiving_line(tree, receiving, responsible, seen_from))
    return Decision(responsible, rule, schools, authorities, cross_province, tuple(lines),
                    receiving, seen_from)


def _check_authorities(tree: Tree, schools: Sequence[SchoolRef]) -> None:
    # An inactive unit's division was abolished: it handles nothing new, and
    # guessing its successor could send a complaint to the wrong unit, so the
    # school's record must be corrected first (all faulty schools named at once).
    faults = []
    for school in schools:
        authority = tree.get(school.authority_code)
        if authority is None:
            faults.append(f"学校 {school.code} {school.name} 的直接主管单位 {school.authority_code} 不存在")
        elif not authority.active:
            faults.append(f"学校 {school.code} {school.name} 的直接主管单位 {authority.name}"
                          f"（{authority.code}）已停用")
    if faults:
        raise RoutingError("；".join(faults) + "。请先更正学校的直接主管单位")


def _triage(tree: Tree, receiving: UnitRef | None) -> Decision:
    lines = ["未能识别投诉涉及的学校，无法按第一条确定处理责任单位" + ITEM_1]
    if receiving is None:
        receiving = unit(tree, NATIONAL_CODE)
        lines.append(f"未指定受理单位，转入教育部全国分办队列：{receiving.label()}")
    else:
        lines.append(f"由受理单位分办：{receiving.label()}")
    return Decision(receiving, "triage", (), (), False, tuple(lines), receiving, "same")


def _common_reason(tree: Tree, common: UnitRef, authorities: Sequence[UnitRef], count: int) -> str:
    """Why the common authority: the notice's own words where they fit."""
    noun = "两校" if count == 2 else f"{count} 所学校"
    handler = ("国务院教育行政部门" if common.level == "national"
               else LEVEL_TEXT[common.level] + "教育行政部门")
    if len(authorities) == 1:
        return f"{noun}的直接主管部门相同，由{handler}处理" + ITEM_1
    if any(a.code == common.code for a in authorities):
        # 市直属 / 省直属: one school answers to the common unit itself.
        return (f"{noun}中有{common.name}直属的学校，与其余学校共同的主管部门是{common.name}，"
                f"由{handler}处理" + ITEM_1)
    if common.level == "national":
        return f"{noun}分属不同省份，由{handler}处理" + ITEM_1
    # The units right below the common one, one per branch the schools lie in.
    levels = {_below(tree, common, a).level for a in authorities}
    parts = [_PART[level] for level in _PART if level in levels] or ["单位"]
    return (f"{noun}分属{_SCOPE.get(common.level, common.name)}的不同{'、'.join(parts)}，"
            f"由{handler}处理" + ITEM_1)


def _below(tree: Tree, common: UnitRef, authority: UnitRef) -> UnitRef:
    path = chain(tree, authority.code)
    return path[[u.code for u in path].index(common.code) - 1]


def _receiving_line(tree: Tree, receiving: UnitRef, responsible: UnitRef, seen_from: Relation) -> str:
    if seen_from == "same":
        return f"受理单位{receiving.name}即处理责任单位，由本级办理" + ITEM_2
    if seen_from == "lower":
        hops = " → ".join(u.name for u in [receiving, *forwarding_path(tree, receiving.code,
                                                                       responsible.code)])
        return f"应由下级处理，逐级转办：{hops}；如是来电，可直接向来电人提供下级处理热线" + ITEM_2
    if seen_from == "higher":
        return f"应由上级{responsible.name}处理：及时向来电人说明情况，必要时上报" + ITEM_2
    common = lowest_common_authority(tree, [receiving.code, responsible.code])
    return (f"处理责任单位不在受理单位{receiving.name}的下级，由双方共同的上级{common.name}转办"
            + ITEM_2)

