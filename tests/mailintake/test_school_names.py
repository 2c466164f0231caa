"""School names in mail text: found however they are written, never in ordinary sentences, bounded.

Pure (no database): what :func:`mailintake.school_names.find` finds, and the
exact registry names it tries for each; the registry lookup and routing are
in test_routing_mail.py.
"""

from __future__ import annotations

import random

import pytest

from lookup.divisions import derive_units, read_stdnum
from lookup.synth_schools import plan_schools
from mailintake.extract import normalise
from mailintake.places import PlaceIndex
from mailintake.school_match import Found, choose
from mailintake.school_names import MAX_FORMS, MAX_MENTIONS, SchoolMention, find
from tests.mailintake.test_extract import ID


@pytest.fixture(scope="module")
def places() -> PlaceIndex:
    return PlaceIndex((row.code, row.name) for row in read_stdnum() if row.valid_to is None)


def names(text: str, places: PlaceIndex) -> list[SchoolMention]:
    normal = normalise(text)
    codes = [code for place in places.find(normal) for code in place.codes]
    return list(find(normal, places, codes))


def best(mention: SchoolMention) -> list[str]:
    """The exact names that account for most of what was written."""
    top = max(mention.forms.values())
    return [name for name, weight in mention.forms.items() if weight == top]


@pytest.mark.parametrize(("text", "written"), [
    ("孩子在仙桃市第一中学读高二", ["仙桃市第一中学"]),
    ("孩子原来长安区第一小学，现在转到桥西区第一小学了", ["长安区第一小学", "桥西区第一小学"]),
    ("学校：“石家庄市第一中学”（市直属）", ["石家庄市第一中学"]),
    ("《河北省实验中学》招生", ["河北省实验中学"]),
    ("【东莞市莞城中心小学】", ["东莞市莞城中心小学"]),
    ("兵团第八师石河子第一小学的老师说", ["兵团第八师石河子第一小学"]),
    ("北京四中的老师说", ["北京四中"]),
    ("仙桃一中高一", ["仙桃一中"]),
    ("长安区二小三年级", ["长安区二小"]),
    ("清华附中", ["清华附中"]),
    ("就读于育才小学", ["育才小学"]),
    ("长安区第一中学附属小学", ["长安区第一中学", "长安区第一中学附属小学"]),
])
def test_school_names_are_found_as_written(places, text, written):
    assert [m.written for m in names(text, places)] == written


@pytest.mark.parametrize("text", [
    "我的小学同学说的",
    "学校说系统里查不到",
    "孩子是中学生，小学生也一样",
    "孩子学校说不给转",
    "民办学校、私立学校、培训学校都不行",
    "学籍问题\n民办学校不给办",  # a subject line before the text
    "孩子转到当地小学",
    "全国中小学生学籍信息管理系统",
    "中小学学籍",
    "这所学校",
    "新学校说系统里查不到",
    "附近的中学",
    "我们一小时后到",
    "初一中途转学",
    "高一中的成绩不好",
    "县一中",
    "孩子在高中阶段",
    f"身份证号{ID[:-1]}1小学",  # digits of a number are no school's number
])
def test_ordinary_sentences_name_no_school(places, text):
    assert names(text, places) == []


@pytest.mark.parametrize(("text", "registered"), [
    ("仙桃市第一中学", "仙桃市第一中学"),  # exactly as registered
    ("湖北仙桃第一中学", "仙桃市第一中学"),  # a short place in the name
    ("湖北仙桃第一中学", "湖北省仙桃市第一中学"),
    ("仙桃一中", "仙桃市第一中学"),  # the spoken short form
    ("北京四中", "北京市第四中学"),
    ("长安区一小", "长安区第一小学"),
    ("朝阳区实验小学", "北京市朝阳区实验小学"),  # the place above added
    ("孩子在长安区第1小学", "长安区第一小学"),  # Arabic digits
    ("北京市第101中学", "北京市第一〇一中学"),
    ("北京市第166中学", "北京市第一六六中学"),
    ("清华附中", "清华附属中学"),
])
def test_each_name_tries_the_names_it_may_be_registered_under(places, text, registered):
    [mention] = names(text, places)
    assert registered in best(mention)


@pytest.mark.parametrize(("text", "registered"), [
    ("孩子在第一中学读书，我们是湖北仙桃的", "仙桃市第一中学"),
    ("我们在武汉江岸区，孩子的学校是第一中学", "武汉市江岸区第一中学"),
    ("东莞的家长：莞城中心小学不给办", "东莞市莞城中心小学"),
])
def test_a_bare_name_is_tried_after_the_places_named_elsewhere(places, text, registered):
    [mention] = names(text, places)
    assert registered in mention.forms


@pytest.mark.parametrize("text", [
    "孩子在仙桃市第一中学",
    "孩子在仙桃市第一中学",  # full-width
    "孩子在仙桃市　第一中学",  # full-width space
    "孩子在仙桃市第一\n中学读书",  # a line wrapped inside the name
    "孩子在 仙 桃 市 第 一 中 学",
])
def test_width_spaces_and_line_breaks_do_not_change_the_name(places, text):
    [mention] = names(text, places)
    assert mention.written == "仙桃市第一中学" and "仙桃市第一中学" in best(mention)


def test_a_place_inside_the_name_is_narrowed_by_the_place_before_it(places):
    [mention] = names("长春市朝阳区实验小学", places)
    assert "吉林省长春市朝阳区实验小学" in mention.forms
    assert "北京市朝阳区实验小学" not in mention.forms


def test_every_synthetic_school_name_is_found_in_a_sentence(places):
    units = derive_units(read_stdnum())
    schools = plan_schools(random.Random(6), [u for u in units if u.code[:2] != "66"], 1500)
    sentence = "老师您好，孩子在{}读书，学籍有问题。"
    missed = [s.name for s in schools
              if not any(s.name in best(m) for m in names(sentence.format(s.name), places))]
    assert missed == []


def test_no_division_name_holds_a_character_that_ends_a_name_part(places):
    # The breakers (的 在 是 …) cut a name part, and 于 从 和 上 in front of one are dropped
    # unless a place starts there: a place that holds one must still be found whole.
    for row in (row for row in read_stdnum() if row.valid_to is None):
        [mention] = names(f"孩子在{row.name}第一中学读书", places) or [None]
        assert mention is not None and mention.written.endswith(row.name + "第一中学"), row.name


def test_a_big_mail_is_bounded(places):
    many = "".join(f"我家孩子在第{n}中学，" for n in range(1, 5000)) + "湖北仙桃"
    found = names(many * 20, places)
    assert len(found) == MAX_MENTIONS
    assert all(len(m.forms) <= MAX_FORMS for m in found)
    noisy = names("长安区第一小学" * 200_000, places)
    assert len(noisy) <= MAX_MENTIONS and all(len(m.forms) <= MAX_FORMS for m in noisy)


def test_a_long_number_never_becomes_part_of_a_name(places):
    for text in (f"{ID}第一中学", f"学籍号 G{ID}仙桃市第一中学"):
        [mention] = names(text, places)
        assert not any(ID[:6] in form for form in (mention.written, *mention.forms))


def school(code: str, division: str, weight: int) -> Found:
    return Found(code, "第一中学", division, weight)


@pytest.mark.parametrize(("schools", "places_named", "chosen"), [
    ([school("A", "429004", 4)], [], ["A"]),  # one school carries the name
    ([school("A", "429004", 4), school("B", "420102", 4)], [], ["A", "B"]),  # ambiguous
    ([school("A", "429004", 4), school("B", "420102", 4)], ["429004"], ["A"]),  # under a place named
    ([school("A", "429004", 4), school("B", "420102", 4)], ["420100"], ["B"]),  # under a prefecture named
    ([school("A", "429004", 4), school("B", "420102", 4)], ["420000"], ["A", "B"]),  # both under it
    ([school("A", "429004", 4), school("B", "420102", 4)], ["130000"], ["A", "B"]),  # neither: no help
    ([school("A", "110102", 7), school("B", "110105", 4)], ["110000"], ["A"]),  # the longest written match
    ([school("A", "110102", 7), school("B", "110105", 4)], ["110105"], ["B"]),  # places before length
    ([], ["110105"], []),
])
def test_a_name_is_decided_by_the_places_named_then_by_how_much_it_matches(schools, places_named, chosen):
    assert [s.code for s in choose(schools, places_named)] == chosen
