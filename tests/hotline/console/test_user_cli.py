"""`xueji user`: create, disable, enable, unlock, password, list; refusals are one line and change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hotline import db
from hotline.console import passwords
from hotline.console.accounts import find_user
from hotline.console.models import AccountAudit, User
from tests.hotline.console.conftest import CITY, COUNTY, PASSWORD, log_in


def users(app) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(User))


def test_create_makes_an_active_account_with_an_audit_row(app, runner):
    result = runner.invoke(args=["user", "create", "ZhangSan", "--unit", COUNTY, "--role", "agent",
                                 "--name", "张三", "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    assert result.output == "已创建账号 zhangsan（长安区教育局 130102，热线坐席）。\n"
    with app.app_context():
        user = find_user(db.session(), "zhangsan")
        assert (user.unit_code, user.role, user.name, user.active) == (COUNTY, "agent", "张三", True)
        assert passwords.verify(user.password_hash, PASSWORD)
        audit = db.session().scalars(select(AccountAudit)).one()
        assert (audit.action, audit.actor_id, audit.client) == ("create", None, "cli")


def test_create_prompts_twice_for_a_hidden_password(app, runner):
    result = runner.invoke(args=["user", "create", "zhangsan", "--unit", COUNTY, "--role", "agent"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    with app.app_context():
        assert passwords.verify(find_user(db.session(), "zhangsan").password_hash, PASSWORD)


@pytest.mark.parametrize(("args", "message"), [
    (["--unit", "999999", "--role", "agent", "--password", PASSWORD], "未知的单位代码：999999"),
    (["--unit", COUNTY, "--role", "root", "--password", PASSWORD], "未知的角色：root"),
    (["--unit", COUNTY, "--role", "agent", "--password", "short"], "密码至少需要 10 个字符"),
    (["--unit", COUNTY, "--role", "agent", "--password", "Zhangsan#2026"], "密码不能包含用户名"),
])
def test_create_refuses_bad_input_in_one_line_and_changes_nothing(app, runner, args, message):
    result = runner.invoke(args=["user", "create", "zhangsan", *args])
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert users(app) == 0


def test_create_refuses_a_taken_user_name_whatever_its_case(app, runner, make_user):
    make_user("zhangsan", COUNTY, "agent")
    result = runner.invoke(args=["user", "create", "ZHANGSAN", "--unit", CITY, "--role", "admin",
                                 "--password", PASSWORD])
    assert result.exit_code == 1 and "用户名 zhangsan 已被使用" in result.output
    assert users(app) == 1


@pytest.mark.parametrize("username", ["ab", "张三", "_zhang", "zhang san", "x" * 33])
def test_create_refuses_a_user_name_of_the_wrong_shape(app, runner, username):
    result = runner.invoke(args=["user", "create", username, "--unit", COUNTY, "--role", "agent",
                                 "--password", PASSWORD])
    assert result.exit_code == 1 and "用户名须为 3 至 32 个字符" in result.output
    assert users(app) == 0


def test_create_refuses_two_different_passwords_at_the_prompt(app, runner):
    result = runner.invoke(args=["user", "create", "zhangsan", "--unit", COUNTY, "--role", "agent"],
                           input=f"{PASSWORD}\n{PASSWORD}x\n")
    assert result.exit_code == 1 and "两次输入的密码不一致" in result.output
    assert users(app) == 0


def test_create_asks_for_no_password_when_the_rest_is_wrong(app, runner):
    result = runner.invoke(args=["user", "create", "zhangsan", "--unit", "999999", "--role", "agent"])
    assert result.exit_code == 1 and "未知的单位代码" in result.output and "密码" not in result.output


def test_disable_ends_the_accounts_sessions(app, runner, client, make_user):
    make_user("zhangsan", COUNTY, "agent")
    log_in(client, "zhangsan")
    result = runner.invoke(args=["user", "disable", "zhangsan"])
    assert result.exit_code == 0 and "已停用账号 zhangsan" in result.output
    assert client.get("/console/").status_code == 302
    again = runner.invoke(args=["user", "disable", "zhangsan"])
    assert again.exit_code == 0 and "已是停用状态" in again.output


def test_disable_refuses_an_unknown_user_name(runner):
    result = runner.invoke(args=["user", "disable", "nobody"])
    assert result.exit_code == 1 and "没有这个用户名：nobody" in result.output


def test_enable_unlock_and_password_bring_an_account_back(app, runner, client, make_user):
    make_user("zhangsan", COUNTY, "agent")
    runner.invoke(args=["user", "disable", "zhangsan"])
    assert runner.invoke(args=["user", "enable", "zhangsan"]).exit_code == 0
    with app.app_context():
        find_user(db.session(), "zhangsan").failed_count = 5
        db.session().commit()
    assert "已解除账号 zhangsan 的锁定" in runner.invoke(args=["user", "unlock", "zhangsan"]).output
    new = "Another#Secret77"
    assert runner.invoke(args=["user", "password", "zhangsan"], input=f"{new}\n{new}\n").exit_code == 0
    assert log_in(client, "zhangsan", new)


def test_list_shows_a_unit_and_the_units_below_it(runner, make_user):
    make_user("county", COUNTY, "agent", name="张三")
    make_user("city", CITY, "supervisor")
    make_user("beijing", "110105", "handler")
    lines = runner.invoke(args=["user", "list", "--unit", CITY]).output.splitlines()
    assert [line.split("\t")[0] for line in lines[:-1]] == ["city", "county"]
    assert lines[1].split("\t")[1:6] == ["张三", COUNTY, "长安区教育局", "agent", "正常"]
    assert lines[-1] == "共 2 个账号。"
    everyone = runner.invoke(args=["user", "list"]).output
    assert "beijing" in everyone


@pytest.mark.parametrize("unit", ["999999", "13\x000102", "x" * 100])
def test_list_refuses_an_unknown_unit(runner, unit):
    result = runner.invoke(args=["user", "list", "--unit", unit])
    assert result.exit_code == 1 and "未知的单位代码：" in result.output
