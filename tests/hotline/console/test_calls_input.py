"""Bad input on the call form: every error next to its field in Chinese, HTML escaped, CSRF
enforced, the roles that may log calls; and nothing saved on any error."""

from __future__ import annotations

import pytest

from tests.hotline.console.calls_support import (
    CHANGAN,
    call,
    error_of,
    install,
    preview_then_save,
    send,
    ticket_count,
)
from tests.hotline.console.conftest import COUNTY, log_in


@pytest.fixture
def agent(client, make_user, session, write_csv):
    install(session, write_csv)
    make_user("agent", COUNTY, "agent", name="坐席甲")
    return log_in(client, "agent")


# (case, fields changed, the field whose error shows, its message)
BAD = [
    ("no subject", {"subject": ""}, "subject", "请填写事由"),
    ("no description", {"description": ""}, "description", "请填写问题描述"),
    ("no contact at all", {"phone": "", "email": ""}, "phone", "请至少留下一种联系方式：电话或电子邮箱"),
    ("a phone with letters", {"phone": "139abc"}, "phone", "电话号码格式不正确"),
    ("an e-mail without a domain", {"email": "parent@"}, "email", "电子邮箱格式不正确"),
    ("an over-long subject", {"subject": "事" * 201}, "subject", "事由不能超过 200 个字"),
    ("an over-long description", {"description": "述" * 4001}, "description", "问题描述不能超过 4000 个字"),
    ("an over-long caller name", {"caller_name": "名" * 65}, "caller_name", "来电人姓名不能超过 64 个字"),
    ("an over-long schools field", {"schools": "1" * 601}, "schools", "涉及的学校不能超过 600 个字"),
    ("too many schools", {"schools": ",".join(f"13010{n:05d}" for n in range(21))}, "schools",
     "一次最多填写 20 所学校"),
    ("a school code one digit short", {"schools": "130102000"}, "schools", "学校标识码应为10位数字"),
    ("a school name that matches nothing", {"schools": "不存在的学校"}, "schools",
     "没有名称含“不存在的学校”的学校"),
    ("a tampered category", {"category": "bribe"}, "category", "请选择问题类别"),
    ("a tampered relation", {"relation": "邻居"}, "relation", "请选择来电人与学生的关系"),
    ("an ID number without a name", {"students-0-id_number": "110105194912310029"}, "students-0-name",
     "请输入姓名"),
    ("an ID number with a wrong check character", {"students-0-name": "张三",
                                                  "students-0-id_number": "110105194912310021"},
     "students-0-id_number", "校验"),
    ("an over-long student name", {"students-1-name": "名" * 65}, "students-1-name",
     "学生姓名不能超过 64 个字"),
]


@pytest.mark.parametrize(("case", "change", "field", "message"), BAD, ids=[b[0] for b in BAD])
def test_every_error_shows_next_to_its_field_and_nothing_is_saved(agent, app, case, change, field, message):
    response = send(agent, call(**change))
    assert response.status_code == 400
    shown = error_of(response, field)
    assert shown is not None and message in shown, (case, shown)
    assert 'id="preview"' not in response.get_data(as_text=True), "no preview of bad input"
    # Saving the same input is refused the same way.
    assert send(agent, call(**change), action="save").status_code == 400
    assert ticket_count(app) == 0


def test_all_errors_are_shown_at_once(agent):
    response = send(agent, call(subject="", phone="", schools="9999000001"))
    assert error_of(response, "subject") and error_of(response, "phone") and error_of(response, "schools")


@pytest.mark.parametrize("field", ["caller_name", "subject", "description", "students-0-name"])
def test_html_in_any_field_is_escaped_on_the_preview(agent, field):
    markup = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    page = send(agent, call(**{field: markup})).get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page
    if field != "students-0-name":  # a name with markup is refused (with the value escaped)
        assert "&lt;script&gt;alert(" in page


def test_a_post_without_its_csrf_token_is_refused_and_saves_nothing(agent, app):
    for action in ("preview", "save"):
        response = agent.post("/console/calls/new", data={**call(), "action": action})
        assert response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)
    forged = agent.post("/console/calls/new", data={**call(), "action": "save", "csrf_token": "forged"})
    assert forged.status_code == 400
    assert ticket_count(app) == 0


def test_a_tampered_fingerprint_is_previewed_again(agent, app):
    response = send(agent, {**call(), "previewed": "0" * 64}, action="save")
    assert response.status_code == 200 and 'id="preview"' in response.get_data(as_text=True)
    assert ticket_count(app) == 0


@pytest.mark.parametrize(("role", "allowed"), [("agent", True), ("supervisor", True), ("admin", True),
                                               ("handler", False)])
def test_agents_supervisors_and_administrators_log_calls_and_handlers_do_not(
        client, make_user, session, write_csv, app, role, allowed):
    install(session, write_csv)
    make_user("someone", COUNTY, role)
    log_in(client, "someone")
    page = client.get("/console/calls/new")
    lookup = client.get("/console/students/lookup")
    saved = preview_then_save(client, call()) if allowed else send(client, call(), action="save")
    if allowed:
        assert (page.status_code, lookup.status_code, saved.status_code) == (200, 200, 302)
        assert ticket_count(app) == 1
    else:
        assert (page.status_code, lookup.status_code, saved.status_code) == (403, 403, 403)
        assert ticket_count(app) == 0
    assert client.get(f"/console/schools/search?q={CHANGAN}").status_code == 200, "anyone may search schools"


@pytest.mark.parametrize("path", ["/console/calls/new", "/console/students/lookup",
                                  "/console/schools/search"])
def test_the_call_pages_need_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith("/console/login")
