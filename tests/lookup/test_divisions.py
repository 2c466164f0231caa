"""The authority tree derived from GB/T 2260 (DESIGN.md, "Jurisdictions")."""

import pytest

from lookup.divisions import derive_units, read_stdnum


@pytest.fixture(scope="module")
def divisions():
    return {d.code: d for d in read_stdnum()}


@pytest.fixture(scope="module")
def units(divisions):
    return {u.code: u for u in derive_units(divisions.values())}


@pytest.mark.parametrize(("code", "level", "parent"), [
    # Municipal districts: the pseudo-prefecture 110100 市辖区 is no authority.
    ("110105", "county", "110000"),
    ("120101", "county", "120000"),
    ("310115", "county", "310000"),
    ("500101", "county", "500000"),
    ("500229", "county", "500000"),   # a county under 500200 县
    # Province-administered county-level cities.
    ("429004", "county", "420000"),
    ("469005", "county", "460000"),
    ("419001", "county", "410000"),
    ("659001", "county", "650000"),
    # Prefectures with no counties are ordinary prefecture units.
    ("441900", "prefecture", "440000"),
    ("442000", "prefecture", "440000"),
    ("460400", "prefecture", "460000"),
    ("620200", "prefecture", "620000"),
    # The ordinary case.
    ("130102", "county", "130100"),
    ("130100", "prefecture", "130000"),
    ("130000", "province", "000000"),
])
def test_unit_parent_follows_the_authority_tree(units, code, level, parent):
    assert (units[code].level, units[code].parent_code) == (level, parent)


@pytest.mark.parametrize("code", ["110100", "110200", "500200", "429000", "469000", "659000",
                                  "130101", "710000", "810000", "820000"])
def test_pseudo_divisions_and_places_outside_the_system_are_not_units(units, code):
    assert code not in units


def test_abolished_divisions_have_no_unit(divisions, units):
    assert divisions["110103"].valid_to == 2010  # 崇文区, merged into 东城区
    assert "110103" not in units


def test_renamed_division_keeps_its_code_under_the_new_name(divisions):
    assert divisions["130502"].name == "襄都区"
    assert divisions["130502"].valid_from == 1983


def test_every_unit_reaches_the_ministry(units):
    for code in units:
        seen = set()
        while code != "000000":
            assert code not in seen
            seen.add(code)
            code = units[code].parent_code
    assert len([u for u in units.values() if u.level == "province"]) == 31
