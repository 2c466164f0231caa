"""What a message names for routing: only valid numbers, ID numbers only hashed and masked.

DESIGN.md "Student numbers": an ID number counts only with a valid check
character and birth date; an L number has no check character; a 学校标识码 is
2 digits of category, 2 of an existing province and 6 of serial.
"""

from __future__ import annotations

import datetime

import pytest

from lookup.divisions import read_stdnum
from lookup.numbers import id_check_char, make_j_number, make_l_number
from lookup.privacy import id_hasher
from mailintake.extract import Candidates, candidates
from mailintake.places import PlaceIndex, PlaceMention

HASH = id_hasher(b"test-key")
TODAY = datetime.date(2026, 3, 1)
ID = "11010519491231002X"  # check character X (see lookup.numbers)
ID_BAD = "110105194912310021"
J = make_j_number("110105", datetime.date(2016, 9, 1), 7)
L = make_l_number("110105", datetime.date(2016, 9, 1), 42)


@pytest.fixture(scope="module")
def places() -> PlaceIndex:
    return PlaceIndex((row.code, row.name) for row in read_stdnum() if row.valid_to is None)


def found(text: str, places: PlaceIndex | None = None) -> Candidates:
    return candidates(text, divisions=places or [], hasher=HASH, today=TODAY)


@pytest.mark.parametrize("text", [
    f"身份证号{ID}",
    "身份证号 11010519491231002x。",
    "１１０１０５１９４９１２３１００２Ｘ",
    "1101 0519 4912 3100 2X",
    "110105-19491231-002X",
    "110105－19491231－002×",
    "110105\u200b19491231002X",
])
def test_a_valid_id_number_is_found_however_it_is_typed(text):
    result = found(text)
    assert [(i.kind, i.id_hash, i.masked) for i in result.ids] == [("id", HASH(ID), "110***********002X")]


@pytest.mark.parametrize("text", [
    ID_BAD,  # wrong check character
    "110105194902300011",  # 30 February
    "110105209901010011"[:17] + id_check_char("11010520990101001"),  # born in the future
    "21100119491231002X9",  # part of a longer number
    "1234567890123456789012",
])
def test_invalid_id_numbers_are_no_candidates(text):
    assert found(text).ids == ()


def test_a_legacy_15_digit_number_is_upgraded_before_hashing():
    first17 = "110105" + "19" + "491231002"
    upgraded = first17 + id_check_char(first17)
    result = found("老身份证 110105491231002")
    masked = upgraded[:3] + "*" * 11 + upgraded[-4:]
    assert [(i.id_hash, i.masked) for i in result.ids] == [(HASH(upgraded), masked)]


def test_no_id_number_ever_comes_out_in_clear():
    text = f"孩子身份证{ID}，学籍号G{ID}，弟弟 110105500101001"
    result = found(text)
    assert len(result.ids) == 2  # the G number holds the same ID number as the first
    assert ID not in repr(result) and ID.lower() not in repr(result)
    assert "500101001" not in repr(result) and "19500101001" not in repr(result)


def test_a_g_number_comes_out_as_its_id_numbers_hash_and_masked():
    result = found(f"学籍号：g {ID[:6]} {ID[6:14]} {ID[14:]}")
    assert [(i.kind, i.id_hash, i.masked) for i in result.ids] == [("G", HASH(ID), "G110***********002X")]
    assert result.student_numbers == ()


def test_j_and_l_numbers_are_kept_whole_and_l_gets_no_checksum():
    result = found(f"学籍号 {J.lower()}，临时号 {L}")
    assert result.student_numbers == (J, L)
    assert result.ids == ()


def test_a_j_number_with_a_wrong_check_character_is_no_candidate():
    wrong = J[:-1] + ("0" if J[-1] != "0" else "1")
    assert found(wrong).student_numbers == ()


@pytest.mark.parametrize("text, expected", [
    ("学校标识码 2111000001", ("2111000001",)),
    ("学校标识码：２１１１ ０００ ００１", ("2111000001",)),
    ("学校 2166000001（兵团）", ("2166000001",)),
    ("学校 2199000001", ()),  # no province 99
    ("学校 0111000001", ()),  # no school category 01
    ("电话 010-66119801", ()),
    ("手机 13812345678", ()),
])
def test_school_codes_need_an_existing_province(text, expected):
    assert found(text).school_codes == expected


def test_a_school_code_and_an_id_number_on_one_line_are_both_found():
    result = found(f"学校2111000001 学生{ID}")
    assert result.school_codes == ("2111000001",)
    assert len(result.ids) == 1


def test_numbers_are_listed_once_in_order():
    result = found("2113000003 2111000001 2113000003")
    assert result.school_codes == ("2113000003", "2111000001")


def test_school_code_provinces_come_from_the_divisions_given():
    divisions = [("110000", "北京市"), ("110108", "海淀区")]
    assert candidates("2113000003 2111000001", divisions=divisions, hasher=HASH).school_codes == \
        ("2111000001",)


@pytest.mark.parametrize("text, codes", [
    ("我家在北京市海淀区", [("110000",), ("110108",)]),
    ("孩子在海淀上学", [("110108",)]),
    ("内蒙古呼和浩特", [("150000",), ("150100",)]),
    ("湖北长阳土家族自治县", [("420000",), ("420528",)]),
    ("长阳的学校", [("420528",)]),
    ("新疆乌鲁木齐", [("650000",), ("650100",)]),
    ("浦东新区", [("310115",)]),
])
def test_place_names_longest_first_with_unambiguous_short_forms(places, text, codes):
    assert [p.codes for p in found(text, places).places] == codes


def test_an_ambiguous_name_keeps_every_division_unless_another_place_narrows_it(places):
    alone = found("朝阳区", places).places
    assert len(alone) == 1 and {"110105", "220104"} <= set(alone[0].codes)
    narrowed = found("北京朝阳区", places).places
    assert [p.codes for p in narrowed] == [("110000",), ("110105",)]


@pytest.mark.parametrize("text", ["平安喜乐", "和平年代", "城区学校", "通州"])
def test_ambiguous_or_everyday_short_forms_are_not_places(places, text):
    assert found(text, places).places == ()


def test_nothing_routable_is_empty():
    assert found("老师好，请问怎么查询？").empty
    assert not found("学校 2111000001").empty


def test_school_names_are_candidates_with_the_places_of_the_mail(places):
    result = found("孩子在第一中学读书，我们是湖北仙桃的", places)
    [name] = result.school_names
    assert name.written == "第一中学" and "仙桃市第一中学" in name.forms
    assert result.place_codes == ("420000", "429004")
    assert not found("仙桃一中", places).empty


def test_place_codes_list_places_named_alone_first():
    both, one = PlaceMention("朝阳区", ("110105", "220104")), PlaceMention("河北", ("130000",))
    result = Candidates(places=(both, one))
    assert result.place_codes == ("130000", "110105", "220104")


def test_a_name_means_the_current_division_not_an_abolished_one_of_that_name():
    # GB/T 2260 reuses names: 仙桃市 was 422401 until 1996, 石家庄地区 was abolished in 1993.
    index = PlaceIndex([("422401", "仙桃市", 1996), ("429004", "仙桃市", None), ("130100", "石家庄市", None),
                        ("132300", "石家庄地区", 1993), ("420000", "湖北省", None)])
    assert [p.codes for p in index.find("湖北仙桃市，石家庄")] == [("420000",), ("429004",), ("130100",)]
    both = PlaceIndex([("422401", "仙桃市"), ("429004", "仙桃市")])  # no dates: both kept
    assert [p.codes for p in both.find("仙桃市")] == [("422401", "429004")]
