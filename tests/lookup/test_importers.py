"""Importing schools, students and number history: the happy path and every bad input."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lookup.csvfile import RowError
from lookup.history import import_history
from lookup.importers import import_schools, import_students
from lookup.models import NumberChange, School, Student
from tests.conftest import ID_KEY
from tests.lookup.factories import (
    HISTORY_HEADER,
    SCHOOL_HEADER,
    SCHOOLS,
    STUDENT_HEADER,
    g_row,
    id_number,
    j_number,
    j_row,
    l_row,
)

KEY = ID_KEY.encode()


@pytest.fixture
def schools(session, write_csv):
    import_schools(session, write_csv("schools.csv", [SCHOOL_HEADER, *SCHOOLS]))
    return session


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_school_authority_defaults_to_the_division_unit_and_honours_direct_rule(schools):
    authority = dict(schools.execute(select(School.code, School.authority_code)).all())
    assert authority == {
        "2111000001": "110105",   # district unit, not the 110100 pseudo-prefecture
        "3142000001": "429004",
        "2144000001": "441900",   # 东莞: the prefecture itself
        "3413000001": "130100",   # 市直属
        "3413000002": "130000",   # 省直属
        "2166000001": "660800",   # 兵团第八师
        "2113000003": "130102",
    }


def test_importing_the_same_schools_twice_changes_nothing(schools, write_csv):
    result = import_schools(schools, write_csv("again.csv", [SCHOOL_HEADER, *SCHOOLS]))
    assert (result.rows, result.written) == (len(SCHOOLS), 0)


@pytest.mark.parametrize(("row", "field", "reason"), [
    ("21110000,短码小学,110105,", "code", "10"),
    ("2111000009,区划不存在小学,119999,", "division_code", "不存在"),
    ("2111000009,虚拟区划小学,110100,", "division_code", "统计用区划"),
    ("2111000009,已撤销区划小学,110103,", "division_code", "撤销"),
    ("2111000009,主管部门不存在小学,110105,999999", "authority_code", "不存在"),
    ("2111000009,外省主管小学,110105,130000", "authority_code", "不是"),
    ("2113000009,省份不符小学,110105,", "code", "11"),
    ("2111000009,,110105,", "name", "不能为空"),
])
def test_bad_school_rows_are_rejected_with_line_and_field(session, write_csv, row, field, reason):
    path = write_csv("bad.csv", [SCHOOL_HEADER, SCHOOLS[0], row])
    with pytest.raises(RowError) as caught, session.begin_nested():
        import_schools(session, path)
    assert (caught.value.file, caught.value.line, caught.value.field) == ("bad.csv", 3, field)
    assert reason in caught.value.reason


def test_duplicate_school_code_is_rejected(session, write_csv):
    path = write_csv("dup.csv", [SCHOOL_HEADER, SCHOOLS[0], SCHOOLS[1], SCHOOLS[0]])
    with pytest.raises(RowError, match="第 2 行重复") as caught, session.begin_nested():
        import_schools(session, path)
    assert caught.value.line == 4


def test_students_of_all_kinds_are_stored_without_the_id_number_in_clear(schools, write_csv):
    rows = [g_row(1), g_row(2, name="欧阳堃"), j_row(1), l_row()]
    result = import_students(schools, write_csv("students.csv", [STUDENT_HEADER, *rows]), KEY)
    assert (result.rows, result.written) == (4, 4)
    stored = {s.number[0] + s.name: s for s in schools.scalars(select(Student))}
    stored["G"], stored["J"] = stored["G张三"], stored["J李四"]
    ident = id_number(sequence=1)
    assert stored["G"].id_masked == ident[:3] + "*" * 11 + ident[-4:]
    assert stored["G"].id_hash not in (None, ident) and len(stored["G"].id_hash) == 64
    assert stored["J"].id_hash is None
    assert {s.name for s in stored.values()} >= {"李四", "王五"}
    dumped = " ".join(str(v) for s in schools.scalars(select(Student)) for v in vars(s).values())
    assert ident not in dumped.replace("G" + ident, "")


def test_importing_the_same_students_twice_changes_nothing(schools, write_csv):
    path = write_csv("students.csv", [STUDENT_HEADER, g_row(1), j_row(1), l_row()])
    import_students(schools, path, KEY)
    again = import_students(schools, path, KEY)
    assert (again.rows, again.written, again.unchanged) == (3, 0, 3)
    changed = write_csv("changed.csv", [STUDENT_HEADER, g_row(1, status="休学"), j_row(1), l_row()])
    assert import_students(schools, changed, KEY).written == 1
    assert count(schools, Student) == 3


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_student_files_in_utf8_with_or_without_bom_and_gb18030_are_read(
        schools, write_csv, encoding):
    path = write_csv("s.csv", [STUDENT_HEADER, g_row(1, name="司马喆"), g_row(3, name="刘镕昇")],
                     encoding)
    import_students(schools, path, KEY)
    assert set(schools.scalars(select(Student.name))) == {"司马喆", "刘镕昇"}


def _bad_id(ident: str) -> str:
    wrong = "0" if ident[-1] != "0" else "1"
    return ident[:-1] + wrong


BAD_STUDENT_ROWS = [
    # (row, field, words of the reason)
    (g_row(1).replace(id_number(sequence=1), _bad_id(id_number(sequence=1))), "number", "校验位"),
    (g_row(1, birth="20130229"), "number", "出生日期"),
    (g_row(1, school="2113999999"), "school_code", "不存在"),
    (g_row(1, school="21139"), "school_code", ""),
    (f"G{id_number(sequence=1)},G,张三,{id_number(sequence=3)},2012-03-05,M,2113000003,在读",
     "number", "G 字头学籍号应为 G 加该生身份证号"),
    (f"G{id_number(sequence=1)},G,张三,,2012-03-05,M,2113000003,在读", "id_number", "必须填写"),
    (g_row(1).replace(",M,", ",F,"), "gender", "性别"),
    (g_row(1).replace("2012-03-05", "2012-03-06"), "birth_date", "不一致"),
    (g_row(1).replace("2012-03-05", "2012-02-30"), "birth_date", "无效"),
    (g_row(1).replace(",G,", ",J,"), "kind", "首字母"),
    (g_row(1).replace("在读", "在校"), "status", "之一"),
    (g_row(1, name=""), "name", "不能为空"),
    (f"{j_number(1)},J,李四,{id_number(sequence=5)},2013-07-01,F,2113000003,在读",
     "id_number", "不应填写"),
    (j_row(1).replace(j_number(1), j_number(1)[:-1] + ("0" if j_number(1)[-1] != "0" else "1")),
     "number", "校验位"),
    ("X13010220120305001X1,G,张三,,2012-03-05,M,2113000003,在读", "number", ""),
]


@pytest.mark.parametrize(("row", "field", "reason"), BAD_STUDENT_ROWS)
def test_bad_student_rows_reject_the_whole_file(schools, write_csv, row, field, reason):
    path = write_csv("bad.csv", [STUDENT_HEADER, g_row(7), row, g_row(9)])
    with pytest.raises(RowError) as caught, schools.begin_nested():
        import_students(schools, path, KEY)
    assert (caught.value.file, caught.value.line, caught.value.field) == ("bad.csv", 3, field)
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"bad.csv:3: {field}: ")


def test_duplicate_number_in_a_file_names_both_lines(schools, write_csv):
    path = write_csv("dup.csv", [STUDENT_HEADER, g_row(1), j_row(1), g_row(1)])
    with pytest.raises(RowError, match="与第 2 行重复") as caught, schools.begin_nested():
        import_students(schools, path, KEY)
    assert caught.value.line == 4
    assert count(schools, Student) == 0


def test_id_number_already_held_by_another_student_is_rejected(schools, write_csv):
    import_students(schools, write_csv("a.csv", [STUDENT_HEADER, g_row(1)]), KEY)
    ident = id_number(sequence=1)
    other = f"L130102201203051234,L,张三,{ident},2012-03-05,M,2113000003,在读"
    with pytest.raises(RowError, match="另一学籍号"), schools.begin_nested():
        import_students(schools, write_csv("b.csv", [STUDENT_HEADER, other]), KEY)


@pytest.mark.parametrize(("content", "line", "reason"), [
    (b"number,kind,name\n", 1, "缺少列"),
    (STUDENT_HEADER.encode() + b",extra\n", 1, "未知列"),
    (b"", 1, "表头"),
    (STUDENT_HEADER.encode() + b"\nG1,G\n", 2, "列"),
    (b"\xff\xfe\x00n\x00u", None, "编码"),
])
def test_malformed_files_are_rejected(schools, tmp_path, content, line, reason):
    path = tmp_path / "broken.csv"
    path.write_bytes(content)
    with pytest.raises(RowError) as caught, schools.begin_nested():
        import_students(schools, path, KEY)
    assert caught.value.line == line and reason in caught.value.reason


def test_undecodable_bytes_late_in_a_file_are_reported_at_their_line(schools, tmp_path):
    lines = [STUDENT_HEADER.encode()] + [g_row(i).encode() for i in range(1, 400, 2)]
    lines[150] = lines[150].replace("张三".encode(), b"\xe5\xbc")  # truncated UTF-8
    path = tmp_path / "late.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(RowError, match="无法按") as caught, schools.begin_nested():
        import_students(schools, path, KEY)
    assert caught.value.line == 151
    assert count(schools, Student) == 0


def test_number_history_follows_chains_and_rejects_cycles(schools, write_csv):
    current = g_row(1)
    import_students(schools, write_csv("s.csv", [STUDENT_HEADER, current]), KEY)
    old_g = "G" + id_number(sequence=11)
    new_g = current.split(",")[0]
    history = [f"{old_g},{new_g},身份证号变更,2020-05-01",
               f"{j_number(3)},{old_g},补录身份证号,2018-09-01"]
    result = import_history(schools, write_csv("h.csv", [HISTORY_HEADER, *history]))
    assert result.written == 2
    assert count(schools, NumberChange) == 2
    assert import_history(schools, write_csv("h2.csv", [HISTORY_HEADER, *history])).written == 0


@pytest.mark.parametrize(("row", "field", "reason"), [
    ("{current},G{other},身份证号变更,2020-05-01", "old_number", "仍是在籍"),
    ("G{other},G{missing},身份证号变更,2020-05-01", "new_number", "不存在"),
    ("G{other},{j},身份证号变更,2020-05-01", "new_number", "只能变更为 G"),
    ("G{other},{current},身份证号变更,2099-05-01", "changed_on", "晚于"),
    ("G{other},{current},,2020-05-01", "reason", "不能为空"),
])
def test_bad_history_rows_are_rejected(schools, write_csv, row, field, reason):
    current = g_row(1).split(",")[0]
    import_students(schools, write_csv("s.csv", [STUDENT_HEADER, g_row(1)]), KEY)
    row = row.format(current=current, other=id_number(sequence=13),
                     missing=id_number(sequence=15), j=j_number(4))
    with pytest.raises(RowError) as caught, schools.begin_nested():
        import_history(schools, write_csv("h.csv", [HISTORY_HEADER, row]))
    assert (caught.value.line, caught.value.field) == (2, field)
    assert reason in caught.value.reason
    assert count(schools, NumberChange) == 0


def test_a_cycle_of_number_changes_is_rejected(schools, write_csv):
    import_students(schools, write_csv("s.csv", [STUDENT_HEADER, g_row(1)]), KEY)
    a, b = "G" + id_number(sequence=21), "G" + id_number(sequence=23)
    path = write_csv("h.csv", [HISTORY_HEADER, f"{a},{b},身份证号变更,2020-01-01",
                               f"{b},{a},身份证号变更,2020-02-01"])
    with pytest.raises(RowError, match="循环"), schools.begin_nested():
        import_history(schools, path)


def test_birthplace_unknown_in_the_birth_year_is_a_warning_not_a_rejection(schools, write_csv):
    # 110103 崇文区 was merged away in 2010; a child born there in 2012 is odd, not invalid.
    rows = [g_row(1), g_row(3, address="110103"), g_row(5, address="999999")]
    result = import_students(schools, write_csv("s.csv", [STUDENT_HEADER, *rows]), KEY)
    assert result.written == 3
    assert result.warnings == ("2 行身份证号的出生地代码在出生年份不存在（首见第 3 行），已导入，请核实",)
    assert "提示" in result.summary()
