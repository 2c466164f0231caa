"""Routing on the seeded authority tree (2014 notice item 1; DESIGN.md "Routing rule").

Each case names schools by their 学校标识码 and expects the unit, the rule
and whether it is cross-province. The schools cover every trap of DESIGN.md's
"Jurisdictions": 市直属 and 省直属 schools, municipalities' districts,
province-administered cities, county-less prefectures and the 兵团.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event

from hotline.routing import (
    RoutingError,
    forwarding_path,
    parent_for_ruling,
    published_channels,
    relation,
    route,
    within,
)
from lookup.importers import import_schools
from lookup.models import Unit
from tests.lookup.factories import SCHOOL_HEADER

# code, name, division, direct authority (empty: the division's own unit)
ROUTING_SCHOOLS = [
    "2141000001,中原区第一小学,410102,",
    "2141000002,中原区第二小学,410102,",
    "2141000003,金水区第一小学,410105,",
    "2141000004,洛阳市老城区第一小学,410302,",
    "3141000005,郑州市第一中学,410105,410100",         # 市直属
    "3141000006,河南省实验中学,410105,410000",         # 省直属
    "3141000007,济源市第一中学,419001,",               # 省直管县级市 (Henan)
    "2111000001,北京市朝阳区实验小学,110105,",
    "2111000002,北京市东城区第一小学,110101,",
    "2144000001,东莞市莞城中心小学,441900,",           # prefecture without counties
    "2144000002,东莞市东城中心小学,441900,",
    "2144000003,中山市石岐中心小学,442000,",
    "2146000001,儋州市第一小学,460400,",
    "2146000002,文昌市第一小学,469005,",               # 省直管县级市 (Hainan)
    "2162000001,嘉峪关市第一小学,620200,",
    "3142000001,仙桃市第一中学,429004,",               # 省直管县级市 (Hubei)
    "3142000002,武汉市江岸区第一中学,420102,",
    "2166000001,兵团第八师石河子第一小学,659001,660800",
    "2166000002,兵团第八师石河子第二小学,659001,660800",
    "2166000003,兵团第一师阿拉尔第一小学,659002,660100",
    "2165000001,石河子市第一小学,659001,",             # Xinjiang's own city, not the 兵团
]


@pytest.fixture
def schools(session, write_csv) -> None:
    import_schools(session, write_csv("routing_schools.csv", [SCHOOL_HEADER, *ROUTING_SCHOOLS]))


# Schools named → the responsible unit, the rule, cross-province (also used by test_routing_cache).
ROUTES = [
    # One school: its direct authority.
    (["2141000001"], "410102", "one_school", False),
    (["2141000001", "2141000001"], "410102", "one_school", False),  # a duplicate counts once
    (["3141000005"], "410100", "one_school", False),                # 市直属 alone
    (["3141000006"], "410000", "one_school", False),                # 省直属 alone
    (["2144000001"], "441900", "one_school", False),                # 东莞: no county below
    (["2162000001"], "620200", "one_school", False),                # 嘉峪关
    (["3142000001"], "429004", "one_school", False),                # 仙桃
    (["2166000001"], "660800", "one_school", False),                # 兵团第八师
    # Same county → county; same prefecture → prefecture; same province → province.
    (["2141000001", "2141000002"], "410102", "common_authority", False),
    (["2141000001", "2141000003"], "410100", "common_authority", False),
    (["2141000001", "2141000004"], "410000", "common_authority", False),
    # Different provinces → the ministry, and a 报告单 is due.
    (["2141000001", "2111000001"], "000000", "common_authority", True),
    # 市直属 with a county school of its prefecture → the prefecture.
    (["3141000005", "2141000001"], "410100", "common_authority", False),
    # 省直属 with any school of its province → the province.
    (["3141000006", "2141000001"], "410000", "common_authority", False),
    (["3141000006", "3141000005"], "410000", "common_authority", False),
    (["3141000006", "3141000007"], "410000", "common_authority", False),
    # Municipality: two districts → Beijing itself, never the pseudo 110100 市辖区.
    (["2111000001", "2111000002"], "110000", "common_authority", False),
    # County-less prefectures: 东莞 schools stay at 东莞; 东莞 with 中山 → Guangdong.
    (["2144000001", "2144000002"], "441900", "common_authority", False),
    (["2144000001", "2144000003"], "440000", "common_authority", False),
    # Province-administered cities hang under the province.
    (["3142000001", "3142000002"], "420000", "common_authority", False),
    (["3141000007", "2141000001"], "410000", "common_authority", False),
    (["2146000001", "2146000002"], "460000", "common_authority", False),
    # 兵团: same 师 → the 师; two 师 → the 兵团; 兵团 with Xinjiang → the ministry.
    (["2166000001", "2166000002"], "660800", "common_authority", False),
    (["2166000001", "2166000003"], "660000", "common_authority", False),
    (["2166000001", "2165000001"], "000000", "common_authority", True),
]


@pytest.mark.parametrize(("codes", "unit", "rule", "cross_province"), ROUTES)
def test_the_responsible_unit_is_the_lowest_common_authority(session, schools, codes, unit, rule,
                                                             cross_province):
    decision = route(session, codes)
    assert (decision.unit.code, decision.rule, decision.cross_province) == (unit, rule, cross_province)
    assert [s.code for s in decision.schools] == list(dict.fromkeys(codes))
    for school in decision.schools:
        assert any(line.startswith(f"学校 {school.code} {school.name} → 直接主管：")
                   for line in decision.trace)
    assert f"处理责任单位：{decision.unit.label()}" in decision.trace


ITEM_1 = "（教基一厅函〔2014〕50号 第一条）"


@pytest.mark.parametrize(("codes", "reason"), [
    (["2141000001"], "仅涉及一所学校，由该校的直接教育行政主管部门处理"),
    (["2141000001", "2141000002"], "两校的直接主管部门相同，由区县级教育行政部门处理"),
    (["2141000001", "2141000003"], "两校分属同一地市的不同县区，由地市级教育行政部门处理"),
    (["2141000001", "2141000004"], "两校分属同一省（区、市）的不同地市，由省级教育行政部门处理"),
    (["2141000001", "2111000001"], "两校分属不同省份，由国务院教育行政部门处理"),
    (["3141000005", "2141000001", "2141000003"],
     "3 所学校中有郑州市教育局直属的学校，与其余学校共同的主管部门是郑州市教育局，"
     "由地市级教育行政部门处理"),
    (["3142000001", "3142000002"], "两校分属同一省（区、市）的不同地市、县区，由省级教育行政部门处理"),
])
def test_the_trace_gives_the_reason_in_the_notices_words(session, schools, codes, reason):
    assert reason + ITEM_1 in route(session, codes).trace


def test_the_trace_names_each_school_and_its_direct_authority(session, schools):
    assert route(session, ["2111000001", "2111000002"]).trace[:2] == (
        "学校 2111000001 北京市朝阳区实验小学 → 直接主管：朝阳区教育局（110105）",
        "学校 2111000002 北京市东城区第一小学 → 直接主管：东城区教育局（110101）",
    )


def test_cross_province_names_the_provinces_and_the_report_form(session, schools):
    trace = route(session, ["2166000001", "2165000001"]).trace
    assert trace[-1] == ("涉及不同省份（新疆生产建设兵团教育局、新疆维吾尔自治区教育厅），属跨省业务，"
                         "须以报告单形式及时报告教育部（教基一厅〔2016〕2号）")


def test_codes_as_people_type_them_are_normalised(session, schools):
    assert route(session, ["２１４１ ０００００１", "2141000001"]).rule == "one_school"


@pytest.mark.parametrize(("receiving", "unit"), [(None, "000000"), ("410102", "410102"),
                                                 ("660000", "660000")])
def test_no_school_is_triaged_by_the_receiving_unit(session, schools, receiving, unit):
    decision = route(session, ["", " "], receiving_unit_code=receiving)
    assert (decision.unit.code, decision.rule, decision.cross_province) == (unit, "triage", False)
    assert decision.trace[0].startswith("未能识别投诉涉及的学校")


def test_unknown_school_codes_are_all_named(session, schools):
    with pytest.raises(RoutingError) as caught:
        route(session, ["2141000001", "9999999999", "abc", "9999999999"])
    assert str(caught.value) == "未知的学校标识码：9999999999、abc"


def test_a_school_whose_authority_is_inactive_is_named(session, schools):
    session.get(Unit, "410102").active = False
    session.flush()
    with pytest.raises(RoutingError, match="学校 2141000001 中原区第一小学 的直接主管单位 中原区教育局"
                                           "（410102）已停用"):
        route(session, ["2141000001", "2141000003"])


@pytest.mark.parametrize("receiving", ["999999", "110100"])  # 110100 市辖区 is no unit
def test_a_receiving_unit_that_does_not_exist_is_refused(session, schools, receiving):
    with pytest.raises(RoutingError, match=f"受理单位 {receiving} 不存在"):
        route(session, ["2141000001"], receiving_unit_code=receiving)


def test_routing_writes_nothing(session, schools, connection):
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    try:
        route(session, ["2141000001", "2111000001"], receiving_unit_code="000000")
        route(session, [], receiving_unit_code="410102")
    finally:
        event.remove(connection, "before_cursor_execute", record)
    assert statements
    assert all(s.lstrip().upper().startswith(("SELECT", "SAVEPOINT", "RELEASE")) for s in statements)


# 2014 notice item 2: forwarding level by level, and what the receiver does.

@pytest.mark.parametrize(("from_code", "to_code", "hops"), [
    ("000000", "130102", ["130000", "130100", "130102"]),   # ministry → province → prefecture → county
    ("130000", "130102", ["130100", "130102"]),
    ("000000", "110105", ["110000", "110105"]),             # no stop at the pseudo 110100
    ("000000", "429004", ["420000", "429004"]),
    ("000000", "441900", ["440000", "441900"]),
    ("000000", "660800", ["660000", "660800"]),
    ("130102", "130102", []),
])
def test_forwarding_goes_down_one_level_at_a_time(session, from_code, to_code, hops):
    assert [u.code for u in forwarding_path(session, from_code, to_code)] == hops


@pytest.mark.parametrize(("from_code", "to_code", "expected"), [
    ("130102", "130102", "same"),
    ("000000", "130102", "lower"),
    ("130102", "130000", "higher"),
    ("130102", "130104", "elsewhere"),
    ("660800", "659001", "elsewhere"),
])
def test_relation_from_the_receiving_unit(session, from_code, to_code, expected):
    assert relation(session, from_code, to_code) == expected


@pytest.mark.parametrize(("code", "ruler"), [
    ("130102", "130100"), ("110105", "110000"), ("429004", "420000"), ("441900", "440000"),
    ("660800", "660000"), ("130000", "000000"),
])
def test_a_level_dispute_is_ruled_by_the_next_level_up(session, code, ruler):
    assert parent_for_ruling(session, code).code == ruler


def test_a_ruling_stays_within_the_ruling_units_area(session):
    assert within(session, "130102", "130100")
    assert within(session, "130100", "130100")
    assert not within(session, "130104", "130102")
    assert not within(session, "130000", "130100")


@pytest.mark.parametrize(("receiving", "line"), [
    ("410102", "受理单位中原区教育局即处理责任单位，由本级办理（教基一厅函〔2014〕50号 第二条）"),
    ("410000", "应由下级处理，逐级转办：河南省教育厅 → 郑州市教育局 → 中原区教育局；"
               "如是来电，可直接向来电人提供下级处理热线（教基一厅函〔2014〕50号 第二条）"),
    ("410105", "处理责任单位不在受理单位金水区教育局的下级，由双方共同的上级郑州市教育局转办"
               "（教基一厅函〔2014〕50号 第二条）"),
])
def test_the_trace_says_what_the_receiving_unit_does(session, schools, receiving, line):
    assert line in route(session, ["2141000001"], receiving_unit_code=receiving).trace


def test_a_higher_unit_is_explained_to_the_caller(session, schools):
    decision = route(session, ["2141000001", "2141000004"], receiving_unit_code="410102")
    assert decision.relation == "higher"
    assert "应由上级河南省教育厅处理：及时向来电人说明情况，必要时上报（教基一厅函〔2014〕50号 第二条）" \
        in decision.trace


def test_a_caller_gets_the_nearest_hotline_published_below_the_receiver(session, schools):
    trace = route(session, ["2141000001"], receiving_unit_code="000000").trace
    assert trace[-1] == "下级单位尚未公布投诉电话和邮箱，须逐级转办"
    session.get(Unit, "410100").complaint_phone = "0371-12345678"
    session.flush()
    trace = route(session, ["2141000001"], receiving_unit_code="000000").trace
    assert trace[-1] == "可向来电人提供的下级处理渠道：郑州市教育局 电话 0371-12345678"


def test_published_channels_are_the_nearest_unit_that_published_any(session):
    assert published_channels(session, "130102").unit.code == "000000"  # only the ministry has
    session.get(Unit, "130100").complaint_email = "xj@sjz.example.cn"
    session.flush()
    channels = published_channels(session, "130102")
    assert (channels.unit.code, channels.phone, channels.email) == ("130100", None, "xj@sjz.example.cn")
    with pytest.raises(RoutingError, match="999999 不存在"):
        published_channels(session, "999999")
