"""The synthetic registry: valid numbers, every routing trap, determinism, streaming."""

from __future__ import annotations

import csv
import datetime as dt
import tracemalloc
from pathlib import Path
from typing import NamedTuple

import pytest
from stdnum.cn import ric
from stdnum.iso7064 import mod_11_2

from lookup.synth import (
    BINGTUAN_UNITS,
    HISTORY_HEADER,
    ID_CHANGED,
    J_TO_G,
    SCHOOL_HEADER,
    STUDENT_HEADER,
    UNIT_HEADER,
    DemoFiles,
    write_demo_registry,
)


class UnitRow(NamedTuple):
    code: str
    name: str
    level: str
    parent_code: str | None


# Pseudo-prefectures are already gone: districts and province-administered
# cities hang under the province; 441900 and its like have no county below.
UNITS = [UnitRow(*row) for row in [
    ("000000", "教育部", "national", None),
    ("110000", "北京市", "province", "000000"),
    ("110105", "朝阳区", "county", "110000"),
    ("110108", "海淀区", "county", "110000"),
    ("310000", "上海市", "province", "000000"),
    ("310115", "浦东新区", "county", "310000"),
    ("410000", "河南省", "province", "000000"),
    ("410100", "郑州市", "prefecture", "410000"),
    ("410105", "金水区", "county", "410100"),
    ("419001", "济源市", "county", "410000"),
    ("420000", "湖北省", "province", "000000"),
    ("420100", "武汉市", "prefecture", "420000"),
    ("420102", "江岸区", "county", "420100"),
    ("420111", "洪山区", "county", "420100"),
    ("429004", "仙桃市", "county", "420000"),
    ("440000", "广东省", "province", "000000"),
    ("440100", "广州市", "prefecture", "440000"),
    ("440106", "天河区", "county", "440100"),
    ("441900", "东莞市", "prefecture", "440000"),
    ("442000", "中山市", "prefecture", "440000"),
    ("460000", "海南省", "province", "000000"),
    ("460100", "海口市", "prefecture", "460000"),
    ("460106", "龙华区", "county", "460100"),
    ("460400", "儋州市", "prefecture", "460000"),
    ("469005", "文昌市", "county", "460000"),
    ("620000", "甘肃省", "province", "000000"),
    ("620100", "兰州市", "prefecture", "620000"),
    ("620102", "城关区", "county", "620100"),
    ("620200", "嘉峪关市", "prefecture", "620000"),
    ("650000", "新疆维吾尔自治区", "province", "000000"),
    ("650100", "乌鲁木齐市", "prefecture", "650000"),
    ("650102", "天山区", "county", "650100"),
    ("659001", "石河子市", "county", "650000"),
    ("659002", "阿拉尔市", "county", "650000"),
]]
BY_CODE = {u.code: u for u in UNITS}
N_STUDENTS = 20_000
FIRST_BIRTH, LAST_BIRTH = dt.date(2008, 1, 1), dt.date(2020, 12, 31)


def read(path: Path, header: tuple[str, ...]) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == header
        return list(reader)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    return write_demo_registry(tmp_path_factory.mktemp("demo"), UNITS,
                               n_students=N_STUDENTS, n_schools=400)


@pytest.fixture(scope="module")
def schools(demo: DemoFiles) -> dict[str, dict[str, str]]:
    return {row["code"]: row for row in read(demo.schools_csv, SCHOOL_HEADER)}


@pytest.fixture(scope="module")
def students(demo: DemoFiles) -> list[dict[str, str]]:
    return read(demo.students_csv, STUDENT_HEADER)


def trap_kind(school: dict[str, str]) -> str:
    """Which routing case a school is, judged from its record alone."""
    division, authority = BY_CODE[school["division_code"]], school["authority_code"]
    if authority.startswith("66"):
        return "bingtuan"
    if authority == division.code[:2] + "0000":
        return "province_direct"
    if authority == "":
        if division.level == "prefecture":
            return "prefecture_without_counties"
        return "county" if BY_CODE[division.parent_code or ""].level == "prefecture" else "bad"
    if authority == division.code and division.parent_code == division.code[:2] + "0000":
        return "municipal_district" if division.code[:2] in {"11", "31"} else "province_city"
    return "city_direct" if authority == division.parent_code else "unexpected"


def test_units_are_the_input_plus_the_bingtuan(demo: DemoFiles) -> None:
    rows = {row["code"]: row for row in read(demo.units_csv, UNIT_HEADER)}
    expected = {u.code: u for u in [*UNITS, *BINGTUAN_UNITS]}
    assert rows.keys() == expected.keys() and demo.n_units == len(rows)
    for code, unit in expected.items():
        row = rows[code]
        assert (row["name"], row["level"], row["parent_code"]) == (
            unit.name, unit.level, unit.parent_code or "")
        assert row["complaint_phone"][:1] == "0"
        assert row["complaint_email"] == f"xueji-{code}@example.edu.cn"
    assert rows["661400"]["name"] == "新疆生产建设兵团第十四师教育局"
    assert [u.code for u in BINGTUAN_UNITS][1:] == [f"66{i:02d}00" for i in range(1, 15)]


def test_school_codes_are_unique_and_name_category_and_province(
        demo: DemoFiles, schools: dict[str, dict[str, str]]) -> None:
    assert len(schools) == demo.n_schools == 400
    for code, school in schools.items():
        bingtuan = school["authority_code"].startswith("66")
        province = "66" if bingtuan else school["division_code"][:2]
        assert len(code) == 10 and code.isdigit()
        assert code[:2] in {"21", "31", "34", "36"} and code[2:4] == province
        assert school["division_code"] in BY_CODE and school["name"]


@pytest.mark.parametrize("kind", ["county", "city_direct", "province_direct",
                                  "municipal_district", "province_city",
                                  "prefecture_without_counties", "bingtuan"])
def test_every_trap_kind_has_three_schools(schools: dict[str, dict[str, str]],
                                           kind: str) -> None:
    assert sum(trap_kind(s) == kind for s in schools.values()) >= 3


def test_no_school_has_an_unexpected_authority(schools: dict[str, dict[str, str]]) -> None:
    kinds = {trap_kind(s) for s in schools.values()}
    assert not kinds & {"unexpected", "bad"}
    bingtuan = [s for s in schools.values() if trap_kind(s) == "bingtuan"]
    assert all(s["division_code"].startswith("65") for s in bingtuan)


def test_without_xinjiang_there_are_no_bingtuan_schools(tmp_path: Path) -> None:
    units = [u for u in UNITS if not u.code.startswith(("65", "11", "31"))]
    files = write_demo_registry(tmp_path, units, n_students=100, n_schools=60)
    kinds = {trap_kind(s) for s in read(files.schools_csv, SCHOOL_HEADER)}
    assert "bingtuan" not in kinds and "municipal_district" not in kinds
    assert "province_city" in kinds


@pytest.mark.parametrize(("units", "n_schools", "message"), [
    (UNITS[1:], 400, "national unit"),
    (UNITS, 10, "too small"),
    (UNITS[:2], 10, "no county"),
])
def test_impossible_requests_are_refused(tmp_path: Path, units: list[UnitRow], n_schools: int,
                                         message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_demo_registry(tmp_path, units, n_students=10, n_schools=n_schools)


def test_g_numbers_carry_a_valid_resident_id(students: list[dict[str, str]],
                                             schools: dict[str, dict[str, str]]) -> None:
    for row in (r for r in students if r["kind"] == "G"):
        ident, school = row["id_number"], schools[row["school_code"]]
        birth = dt.date.fromisoformat(row["birth_date"])
        assert row["number"] == "G" + ident and len(ident) == 18
        assert ric.calc_check_digit(ident) == ident[-1]
        assert ident[6:14] == birth.strftime("%Y%m%d") and FIRST_BIRTH <= birth <= LAST_BIRTH
        assert row["gender"] == ("M" if int(ident[16]) % 2 else "F")
        bingtuan = school["authority_code"].startswith("66")
        assert ident[:3] == "659" if bingtuan else ident[:6] == school["division_code"]


@pytest.mark.parametrize("kind", ["J", "L"])
def test_j_and_l_numbers_encode_school_division_and_birth_date(
        students: list[dict[str, str]], schools: dict[str, dict[str, str]], kind: str) -> None:
    rows = [r for r in students if r["kind"] == kind]
    for row in rows:
        number = row["number"]
        # Only a J number's check character may be X; an L number is all digits.
        assert len(number) == 19 and number[0] == kind and number[1:18].isdigit()
        assert number[18].isdigit() or (kind == "J" and number[18] == "X")
        assert number[1:7] == schools[row["school_code"]]["division_code"]
        assert number[7:15] == row["birth_date"].replace("-", "") and row["id_number"] == ""
    valid = sum(mod_11_2.is_valid(r["number"][1:]) for r in rows)
    # J numbers all carry the MOD 11-2 check; L numbers have none, so about 1 in 11 pass by chance.
    assert valid == len(rows) if kind == "J" else valid < len(rows) / 4


def test_kind_mix_statuses_and_genders(students: list[dict[str, str]]) -> None:
    share = {k: sum(r["kind"] == k for r in students) / len(students) for k in "GJL"}
    assert abs(share["G"] - 0.90) < 0.02 and abs(share["J"] - 0.07) < 0.01
    assert {r["status"] for r in students} == {"在读", "休学", "转出", "毕业"}
    assert sum(r["status"] == "在读" for r in students) > 0.85 * len(students)
    assert {r["gender"] for r in students} == {"M", "F"}


def test_numbers_and_id_numbers_are_unique(students: list[dict[str, str]]) -> None:
    assert len({r["number"] for r in students}) == len(students) == N_STUDENTS
    ids = [r["id_number"] for r in students if r["id_number"]]
    assert len(set(ids)) == len(ids)


def test_names_include_compound_surnames_and_gbk_only_characters(
        students: list[dict[str, str]]) -> None:
    names = [r["name"] for r in students]
    assert all(2 <= len(n) <= 4 and n.encode("gbk") for n in names)
    assert any(n.startswith(("欧阳", "司马", "上官", "诸葛")) for n in names)
    gbk_only = [n for n in names if not _encodes(n, "gb2312")]
    assert 0 < len(gbk_only) < 0.05 * len(names)


def _encodes(text: str, codec: str) -> bool:
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def test_history_old_numbers_never_current_and_lead_to_a_student(
        demo: DemoFiles, students: list[dict[str, str]]) -> None:
    current = {r["number"]: r for r in students}
    history = read(demo.history_csv, HISTORY_HEADER)
    changes = {row["old_number"]: row for row in history}
    assert len(changes) == len(history) == demo.n_history
    assert 0.005 * N_STUDENTS < len(history) < 0.02 * N_STUDENTS
    assert not changes.keys() & current.keys()
    chains = 0
    for row in history:
        old, new = row["old_number"], row["new_number"]
        assert len(old) == 19 and row["reason"] in {J_TO_G, ID_CHANGED}
        if row["reason"] == J_TO_G:
            assert old[0] == "J" and mod_11_2.is_valid(old[1:]) and new[0] == "G"
        else:
            assert old[0] == new[0] == "G" and ric.calc_check_digit(old[1:]) == old[-1]
        end = new
        while end in changes:  # a two-step chain: J -> old G -> current G
            chains += 1
            assert changes[end]["changed_on"] > row["changed_on"]
            end = changes[end]["new_number"]
        student = current[end]
        assert student["birth_date"] < row["changed_on"] < "2026-09-01"
        assert student["kind"] == "G"
    assert chains >= 2


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    def contents(folder: str, seed: int) -> list[bytes]:
        files = write_demo_registry(tmp_path / folder, UNITS, n_students=3000, n_schools=60,
                                    seed=seed)
        return [p.read_bytes() for p in (files.units_csv, files.schools_csv,
                                         files.students_csv, files.history_csv)]

    assert contents("a", 7) == contents("b", 7)
    assert contents("c", 8)[2] != contents("a", 7)[2]


def test_progress_reports_students_written(tmp_path: Path) -> None:
    seen: list[int] = []
    write_demo_registry(tmp_path, UNITS, n_students=2500, n_schools=60, progress=seen.append)
    assert seen == [1000, 2000, 2500]


def test_students_are_streamed_not_held_in_memory(tmp_path: Path) -> None:
    def peak(n: int) -> int:
        tracemalloc.start()
        try:
            write_demo_registry(tmp_path / str(n), UNITS, n_students=n, n_schools=60)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(4000), peak(40_000)
    # Ten times the students, yet the peak is the chunk buffer, not the rows.
    assert large < small * 1.5
