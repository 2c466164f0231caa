"""The routing rule on plain data, without a database (2014 notice items 1 and 2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.routing_decision import SchoolRef, decide
from hotline.routing_rule import (
    RoutingError,
    UnitRef,
    forwarding_path,
    lowest_common_authority,
    parent_for_ruling,
    relation,
)

LEVELS = ("national", "province", "prefecture", "county")

# A hand-made corner of the tree, shaped as lookup/divisions.py builds it.
TREE = {u.code: u for u in [
    UnitRef("000000", "教育部", "national", None),
    UnitRef("410000", "河南省教育厅", "province", "000000"),
    UnitRef("410100", "郑州市教育局", "prefecture", "410000"),
    UnitRef("410102", "中原区教育局", "county", "410100"),
    UnitRef("410105", "金水区教育局", "county", "410100"),
    UnitRef("419001", "济源市教育局", "county", "410000"),
    UnitRef("110000", "北京市教育委员会", "province", "000000"),
    UnitRef("110105", "朝阳区教育局", "county", "110000"),
    UnitRef("420000", "湖北省教育厅", "province", "000000"),
    UnitRef("420999", "已撤销区教育局", "county", "420000", active=False),
]}


@st.composite
def trees(draw) -> dict[str, UnitRef]:
    """A random authority tree: each unit's parent is one drawn before it."""
    size = draw(st.integers(min_value=1, max_value=40))
    units = {"u0": UnitRef("u0", "根", "national", None)}
    for i in range(1, size):
        parent = f"u{draw(st.integers(min_value=0, max_value=i - 1))}"
        units[f"u{i}"] = UnitRef(f"u{i}", f"单位{i}", LEVELS[min(3, i % 4)], parent)
    return units


def ancestors(tree: dict[str, UnitRef], code: str) -> list[str]:
    path = [code]
    while tree[path[-1]].parent_code is not None:
        path.append(tree[path[-1]].parent_code)
    return path


@given(st.data())
def test_lowest_common_authority_is_a_common_ancestor_and_none_deeper_is(data):
    tree = data.draw(trees())
    codes = data.draw(st.lists(st.sampled_from(sorted(tree)), min_size=1, max_size=6))
    common = lowest_common_authority(tree, codes).code
    shared = set.intersection(*(set(ancestors(tree, c)) for c in codes))
    assert common in shared
    depth = {c: len(ancestors(tree, c)) for c in shared}
    assert depth[common] == max(depth.values())


@given(st.data())
def test_forwarding_goes_down_one_level_per_hop(data):
    tree = data.draw(trees())
    to_code = data.draw(st.sampled_from(sorted(tree)))
    from_code = data.draw(st.sampled_from(ancestors(tree, to_code)))
    path = forwarding_path(tree, from_code, to_code)
    assert [u.parent_code for u in path] == [from_code, *(u.code for u in path)][:len(path)]
    assert (path[-1].code if path else from_code) == to_code
    assert relation(tree, from_code, to_code) == ("lower" if path else "same")


@pytest.mark.parametrize(("codes", "expected"), [
    (["410102"], "410102"),
    (["410102", "410102"], "410102"),
    (["410102", "410105"], "410100"),
    (["410102", "410100"], "410100"),            # 市直属 with a county school
    (["410102", "410000"], "410000"),            # 省直属 with a county school
    (["410102", "419001"], "410000"),            # a province-administered city
    (["410102", "110105"], "000000"),
])
def test_common_authority_follows_the_tree(codes, expected):
    assert lowest_common_authority(TREE, codes).code == expected


@pytest.mark.parametrize(("from_code", "to_code", "expected"), [
    ("410100", "410100", "same"),
    ("000000", "410102", "lower"),
    ("410102", "410000", "higher"),
    ("410102", "410105", "elsewhere"),
    ("110105", "419001", "elsewhere"),
])
def test_relation_of_the_responsible_unit_to_the_receiver(from_code, to_code, expected):
    assert relation(TREE, from_code, to_code) == expected


def test_forwarding_never_goes_up_or_across():
    with pytest.raises(RoutingError, match="不是中原区教育局（410102）的下级单位"):
        forwarding_path(TREE, "410102", "410105")


def test_a_level_dispute_is_ruled_by_the_next_level_up():
    assert parent_for_ruling(TREE, "410102").code == "410100"
    assert parent_for_ruling(TREE, "419001").code == "410000"
    with pytest.raises(RoutingError, match="最高层级"):
        parent_for_ruling(TREE, "000000")


def test_a_unit_missing_from_the_tree_is_named():
    with pytest.raises(RoutingError, match="教育行政部门 999999 不存在"):
        lowest_common_authority(TREE, ["410102", "999999"])


def test_a_cycle_is_an_error_not_a_hang():
    tree = {"a": UnitRef("a", "甲", "county", "b"), "b": UnitRef("b", "乙", "county", "a")}
    with pytest.raises(RoutingError, match="循环"):
        lowest_common_authority(tree, ["a"])


def test_decide_names_every_school_whose_authority_is_missing_or_inactive():
    schools = [SchoolRef("2141000001", "甲校", "410102"), SchoolRef("2142000001", "乙校", "420999"),
               SchoolRef("2142000002", "丙校", "429999")]
    with pytest.raises(RoutingError) as caught:
        decide(TREE, schools)
    message = str(caught.value)
    assert "2141000001" not in message
    assert "学校 2142000001 乙校 的直接主管单位 已撤销区教育局（420999）已停用" in message
    assert "学校 2142000002 丙校 的直接主管单位 429999 不存在" in message


@pytest.mark.parametrize("receiving", ["999999", "420999"])
def test_decide_refuses_a_receiving_unit_that_does_not_exist_or_is_inactive(receiving):
    with pytest.raises(RoutingError, match=f"受理单位 {receiving} "):
        decide(TREE, [], receiving)


def test_cross_province_is_decided_by_the_tree_not_by_codes():
    schools = [SchoolRef("2141000001", "甲校", "410102"), SchoolRef("2111000001", "乙校", "110105")]
    decision = decide(TREE, schools)
    assert (decision.unit.code, decision.rule, decision.cross_province) == ("000000",
                                                                          "common_authority", True)
    assert "（河南省教育厅、北京市教育委员会）" in decision.trace[-1]
    assert decision.trace[-1].endswith("须以报告单形式及时报告教育部（教基一厅〔2016〕2号）")
