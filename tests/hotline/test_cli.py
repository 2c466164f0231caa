"""The xueji command as an operator uses it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from lookup.models import NumberChange, School, Student, Unit
from tests.lookup.factories import SCHOOL_HEADER, SCHOOLS, STUDENT_HEADER, g_row, j_row

XUEJI = str(Path(sys.executable).with_name("xueji"))


def xueji(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("XUEJI_")}
    environ.update(XUEJI_INSTANCE_PATH=str(tmp_path / "instance"), **env)
    return subprocess.run([XUEJI, *args], capture_output=True, text=True, env=environ,
                          timeout=120)


def test_help_lists_every_command(tmp_path):
    result = xueji("--help", tmp_path=tmp_path)
    assert result.returncode == 0
    for command in ("init", "serve", "import", "demo", "routes", "shell"):
        assert f"  {command} " in result.stdout
    imports = xueji("import", "--help", tmp_path=tmp_path).stdout
    for kind in ("units", "schools", "students", "history", "divisions"):
        assert f"  {kind} " in imports


def test_a_misconfiguration_is_one_line_without_traceback(tmp_path):
    result = xueji("init", tmp_path=tmp_path, XUEJI_ENV="production")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "配置错误：XUEJI_SECRET_KEY is not set; production needs it (see README)"]


def test_init_is_idempotent(tmp_path):
    first = xueji("init", tmp_path=tmp_path)
    second = xueji("init", tmp_path=tmp_path)
    assert first.returncode == second.returncode == 0, first.stderr
    assert "新增教育行政部门 3230 个" in first.stdout
    assert "新增行政区划 0 个，新增教育行政部门 0 个，调整 0 个" in second.stdout


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def test_import_commands_commit_good_files(runner, session, write_csv):
    result = runner.invoke(args=["import", "schools",
                                 str(write_csv("schools.csv", [SCHOOL_HEADER, *SCHOOLS]))])
    assert result.exit_code == 0, result.output
    assert "schools.csv: 7 行，新增或更新 7 行，未变 0 行" in result.output
    result = runner.invoke(args=["import", "students",
                                 str(write_csv("s.csv", [STUDENT_HEADER, g_row(1), j_row(1)]))])
    assert result.exit_code == 0, result.output
    assert count(session, Student) == 2


def test_a_bad_file_exits_non_zero_naming_line_and_field_and_changes_nothing(
        runner, session, write_csv):
    runner.invoke(args=["import", "schools",
                        str(write_csv("schools.csv", [SCHOOL_HEADER, *SCHOOLS]))])
    bad = write_csv("bad.csv", [STUDENT_HEADER, g_row(1), g_row(3, school="2113999999")])
    result = runner.invoke(args=["import", "students", str(bad)])
    assert result.exit_code == 1
    assert "bad.csv:3: school_code: 学校标识码 2113999999 不存在" in result.output
    assert "数据库未作任何修改" in result.output
    assert count(session, Student) == 0


def test_demo_seeds_a_registry_with_every_trap_and_a_second_run_skips(runner, session):
    result = runner.invoke(args=["demo", "--students", "3000", "--schools", "400", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert count(session, Student) == 3000
    assert count(session, School) == 400
    assert count(session, NumberChange) > 0
    kinds = set(session.scalars(select(Student.kind).distinct()))
    assert kinds == {"G", "J", "L"}
    authorities = set(session.scalars(select(School.authority_code)))
    levels = {u.level for u in session.scalars(select(Unit).where(Unit.code.in_(authorities)))}
    assert levels == {"province", "prefecture", "county"}
    assert authorities & {"441900", "442000", "460400", "620200"}
    assert any(code.startswith("66") for code in authorities)
    again = runner.invoke(args=["demo", "--students", "3000", "--schools", "400", "--no-serve"])
    assert "跳过生成" in again.output
