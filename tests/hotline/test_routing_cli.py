"""``xueji route`` as an agent uses it."""

from __future__ import annotations

import json

import pytest

from lookup.importers import import_schools
from tests.hotline.test_routing import ROUTING_SCHOOLS
from tests.lookup.factories import SCHOOL_HEADER


@pytest.fixture
def schools(session, write_csv) -> None:
    import_schools(session, write_csv("routing_schools.csv", [SCHOOL_HEADER, *ROUTING_SCHOOLS]))


def route_json(runner, *args: str) -> dict:
    result = runner.invoke(args=["route", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_gives_the_unit_the_rule_and_the_trace(runner, schools):
    answer = route_json(runner, "2111000001", "2111000002")
    assert set(answer) == {"unit", "rule", "cross_province", "trace"}
    assert answer["unit"] == {"code": "110000", "name": "北京市教育委员会", "level": "province"}
    assert (answer["rule"], answer["cross_province"]) == ("common_authority", False)
    assert answer["trace"][0] == "学校 2111000001 北京市朝阳区实验小学 → 直接主管：朝阳区教育局（110105）"


def test_json_is_chinese_not_escaped(runner, schools):
    result = runner.invoke(args=["route", "2141000001", "--json"])
    assert "中原区教育局" in result.stdout and "\\u" not in result.stdout


def test_cross_province_is_flagged(runner, schools):
    answer = route_json(runner, "2141000001", "2166000001")
    assert (answer["unit"]["code"], answer["cross_province"]) == ("000000", True)


@pytest.mark.parametrize(("args", "unit"), [([], "000000"), (["--receiving", "410102"], "410102")])
def test_no_school_is_triaged_at_the_receiving_unit_or_the_ministry(runner, args, unit):
    answer = route_json(runner, *args)
    assert (answer["unit"]["code"], answer["rule"]) == (unit, "triage")


def test_the_report_reads_in_chinese(runner, schools):
    result = runner.invoke(args=["route", "2141000001", "2141000003", "--receiving", "000000"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:2] == ["处理责任单位：郑州市教育局（410100，地市级）", "适用规则：多所学校：共同的主管部门"]
    assert "  两校分属同一地市的不同县区，由地市级教育行政部门处理（教基一厅函〔2014〕50号 第一条）" in lines
    hops = "  应由下级处理，逐级转办：教育部 → 河南省教育厅 → 郑州市教育局"
    assert any(line.startswith(hops) for line in lines)


@pytest.mark.parametrize(("args", "message"), [
    (["2141000001", "9999999999", "12345"], "未知的学校标识码：9999999999、12345"),
    (["2141000001", "--receiving", "999999"], "受理单位 999999 不存在"),
])
def test_bad_input_is_one_line_on_stderr_and_exit_1(runner, schools, args, message):
    result = runner.invoke(args=["route", *args])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"Error: {message}"]
    assert "Traceback" not in result.output


def test_route_is_a_command_of_xueji(runner):
    assert "  route " in runner.invoke(args=["--help"]).stdout
