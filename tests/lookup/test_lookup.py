"""The public lookup: page and API answers, the uniform "not found", the number check, the audit."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from lookup.models import LookupAudit
from lookup.operations import NOT_FOUND
from tests.lookup.factories import id_number

API = "/api/v1/lookup"


def fullwidth(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def audits(session) -> list[LookupAudit]:
    session.expire_all()
    return list(session.scalars(select(LookupAudit).order_by(LookupAudit.id)))


# Lookup by name and ID number.

def test_g_lookup_returns_number_kind_school_and_status(client, registry):
    response = client.post(API, json={"name": "张三", "id_number": registry.g_id})
    assert response.status_code == 200
    body = response.json
    assert body["number"] == "G" + registry.g_id and body["kind"] == "G"
    assert body["school"] == {"code": "2113000003", "name": "长安区第三小学"}
    assert body["status"] == "在读" and body["replaced"] == []
    assert "人口信息库" in body["kind_text"]
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("typed", [
    lambda n: n[:6] + " " + n[6:14] + " " + n[14:],
    lambda n: n[:6] + "-" + n[6:],
    lambda n: fullwidth(n),
    lambda n: n.lower(),
])
def test_id_number_is_normalised_before_it_is_checked(client, registry, typed):
    ident = id_number(sequence=12)  # ends in X
    assert ident.endswith("X")
    response = client.post(API, json={"name": " 买买提・艾力 ", "id_number": typed(ident)})
    assert response.status_code == 200, response.json
    assert response.json["number"] == "G" + ident and response.json["status"] == "休学"


def test_legacy_fifteen_digit_id_finds_the_student_of_its_eighteen_digit_number(client, registry):
    legacy = registry.g_id[:6] + registry.g_id[8:17]
    response = client.post(API, json={"name": "张三", "id_number": legacy})
    # 2012 births never had 15-digit numbers, whose century is always 19:
    # the upgraded number is another child's, and nobody is found.
    assert response.status_code == 404
    old = "130102" + "490305" + "001"
    assert client.post(API, json={"name": "张三", "id_number": old}).status_code == 404


def test_wrong_check_character_says_check_the_number_and_nothing_else(client, registry):
    wrong = registry.g_id[:-1] + ("0" if registry.g_id[-1] != "0" else "1")
    response = client.post(API, json={"name": "张三", "id_number": wrong})
    assert response.status_code == 400
    assert response.json["field"] == "id_number" and response.json["code"] == "checksum"
    assert "核对" in response.json["message"]


def test_a_wrong_name_and_a_missing_child_get_the_same_answer(client, registry):
    wrong_name = client.post(API, json={"name": "张四", "id_number": registry.g_id})
    missing = client.post(API, json={"name": "张三", "id_number": id_number(sequence=99)})
    assert wrong_name.status_code == missing.status_code == 404
    # Same birthplace, so the same unit to contact: the bodies are identical.
    assert wrong_name.get_data() == missing.get_data()
    assert wrong_name.json["message"] == NOT_FOUND
    assert wrong_name.json["contact"]["national_hotline"] == "010-66119801"


def test_the_page_answers_a_wrong_name_and_a_missing_child_identically(post_form, registry):
    def answer(name: str, ident: str) -> str:
        page = post_form("/lookup", {"way": "id", "name": name, "id_number": ident})
        assert page.status_code == 200
        return page.get_data(as_text=True)
    wrong_name, missing = answer("张四", registry.g_id), answer("张三", id_number(sequence=99))
    assert wrong_name == missing and "未查询到" in wrong_name
    assert "张三" not in missing and registry.g_id not in wrong_name


def test_not_found_names_the_unit_of_the_birthplace_with_its_published_channels(
        client, registry, session):
    from lookup.models import Unit
    unit = session.get(Unit, "130102")
    unit.complaint_phone, unit.complaint_email = "0311-86000000", "xueji@ca.example.cn"
    session.flush()
    contact = client.post(API, json={"name": "无此人", "id_number": registry.g_id}).json["contact"]
    assert contact["unit"]["code"] == "130102"
    assert (contact["phone"], contact["email"]) == ("0311-86000000", "xueji@ca.example.cn")


# Lookup by name, birth date and school code (students without an ID number).

def test_j_lookup_by_birth_date_and_school(client, registry):
    response = client.post(API, json={"name": "李四", "birth_date": "2013年7月1日",
                                      "school_code": "2113 000003"})
    assert response.status_code == 200
    assert response.json["number"] == registry.j and response.json["kind"] == "J"


def test_l_lookup_explains_what_a_temporary_number_means(client, registry):
    response = client.post(API, json={"name": "王五", "birth_date": "2014-02-28",
                                      "school_code": "2113000003"})
    assert response.json["kind"] == "L" and "查重尚未完成" in response.json["kind_text"]


def test_a_g_student_is_never_found_by_birth_date_and_school(client, registry):
    # Name, birthday and school must not be enough to learn an ID number.
    response = client.post(API, json={"name": "张三", "birth_date": "2012-03-05",
                                      "school_code": "2113000003"})
    assert response.status_code == 404 and response.json["message"] == NOT_FOUND


def test_two_students_who_cannot_be_told_apart_are_not_guessed_between(client, registry):
    response = client.post(API, json={"name": "孙八", "birth_date": "2013-07-01",
                                      "school_code": "2113000003"})
    assert response.status_code == 404


def test_not_found_by_school_names_the_school_and_its_authority(client, registry, session):
    from lookup.models import Unit

    def contact() -> dict:
        return client.post(API, json={"name": "无此人", "birth_date": "2013-07-01",
                                      "school_code": "3413000001"}).json["contact"]
    # Nothing published below: the ministry's service centre, seeded with the tree.
    assert contact()["unit"]["code"] == "000000" and contact()["phone"] == "010-66119801"
    session.get(Unit, "130100").complaint_phone = "0311-12345678"
    session.flush()
    assert contact()["school"] == "石家庄市第一中学"
    assert contact()["unit"]["code"] == "130100"  # 市直属: the prefecture answers for it


# Number history.

def test_lookup_of_a_changed_number_shows_the_earlier_numbers_masked_where_they_hold_an_id(
        client, registry):
    body = client.post(API, json={"name": "钱七", "id_number": registry.moved_id}).json
    assert body["number"] == "G" + registry.moved_id
    old_g = "G" + registry.first_g_id
    assert body["replaced"] == [
        {"number": old_g[:4] + "*" * 11 + old_g[-4:], "reason": "身份证号变更", "changed_on": "2023-03-01"},
        {"number": registry.j_first, "reason": "补录身份证号", "changed_on": "2020-09-01"},
    ]


def test_number_check_of_a_current_number(client, registry):
    body = client.post("/api/v1/check", json={"name": "李四", "number": registry.j.lower()}).json
    assert body["result"] == "current" and body["number"] == registry.j


def test_number_check_follows_the_whole_chain_and_masks_the_g_number(client, registry):
    response = client.post("/api/v1/check", json={"name": "钱七", "number": registry.j_first})
    body = response.json
    assert response.status_code == 200 and body["result"] == "replaced"
    assert body["asked"] == registry.j_first
    new = "G" + registry.moved_id
    assert body["number"] == new[:4] + "*" * 11 + new[-4:]
    assert registry.moved_id not in response.get_data(as_text=True)


def test_number_check_unknown_number_and_wrong_name_look_the_same(client, registry):
    wrong_name = client.post("/api/v1/check", json={"name": "钱八", "number": registry.j_first})
    unknown = client.post("/api/v1/check", json={"name": "钱七", "number": registry.j[:-4] + "0013"})
    assert wrong_name.status_code == 404
    assert unknown.status_code in (400, 404)  # a J number with a bad check character is a 400
    unknown = client.post("/api/v1/check", json={"name": "钱七", "number": "L130102201307010001"})
    assert unknown.status_code == 404 and unknown.json["message"] == wrong_name.json["message"]


def test_number_check_page_shows_the_replacement(post_form, registry):
    page = post_form("/check", {"name": "钱七", "number": registry.j_first}).get_data(as_text=True)
    assert "该学籍号已变更" in page and registry.j_first in page
    assert registry.moved_id not in page


# The page.

def test_the_page_has_two_labelled_forms_and_no_inline_script_or_style(client):
    page = client.get("/").get_data(as_text=True)
    for field in ("id-name", "id-id_number", "birth-name", "birth-birth_date", "birth-school_code"):
        assert f'<label for="{field}">' in page and f'id="{field}"' in page
    assert "<script" not in page and "<style" not in page and "style=" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)  # no external assets


def test_a_field_error_is_shown_next_to_its_field_and_keeps_what_was_typed(post_form, registry):
    response = post_form("/lookup", {"way": "birth", "name": "李四", "birth_date": "2013-02-29",
                                     "school_code": "2113000003"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="birth-birth_date-error"' in page and "出生日期不存在" in page
    assert 'aria-invalid="true"' in page and 'value="2113000003"' in page
    assert "<details class=\"card\" open>" in page


def test_a_form_without_its_csrf_token_is_refused(client, registry, session):
    response = client.post("/lookup", data={"way": "id", "name": "张三", "id_number": registry.g_id})
    assert response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)
    assert audits(session) == []  # refused before any lookup happened


def test_lookups_are_post_only_so_nothing_personal_is_in_a_url(client):
    assert client.get("/lookup?name=张三").status_code == 405
    assert client.get(API).status_code == 405


def test_security_headers(client):
    headers = client.get("/").headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src" not in csp and "default-src 'none'" in csp
    assert headers["Referrer-Policy"] == "same-origin"  # never to another site
    assert headers["X-Content-Type-Options"] == "nosniff"


# The audit.

def test_every_lookup_is_audited_without_name_or_id_number(client, post_form, registry, session):
    client.post(API, json={"name": "张三", "id_number": registry.g_id})
    client.post(API, json={"name": "张四", "id_number": registry.g_id})
    client.post(API, json={"name": "张三", "id_number": registry.g_id[:-1] + "0"})
    post_form("/lookup", {"way": "birth", "name": "李四", "birth_date": "2013-07-01",
                          "school_code": "2113000003"})
    client.post("/api/v1/check", json={"name": "钱七", "number": registry.j_first})
    rows = audits(session)
    assert [(r.channel, r.kind, r.outcome) for r in rows] == [
        ("api", "id", "found"), ("api", "id", "not_found"), ("api", None, "invalid"),
        ("web", "birth", "found"), ("api", "number", "replaced")]
    assert rows[0].identity == rows[1].identity and len(rows[0].identity) == 64
    assert rows[2].identity is None and rows[2].field == "id_number"
    assert all(r.client == "127.0.0.1" for r in rows)
    stored = " ".join(str(value) for r in rows for value in vars(r).values())
    for secret in ("张三", "张四", "李四", "钱七", registry.g_id, registry.g_id[6:14], registry.j_first):
        assert secret not in stored


# The OpenAPI document.

def test_openapi_document_describes_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.1")
    # Flask writes a path parameter <number>, OpenAPI {number}.
    routes = {(re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule), method.lower())
              for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/") for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert routes == documented

    def refs(node):
        if isinstance(node, dict):
            yield from (node["$ref"],) if "$ref" in node else ()
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)
    for ref in refs(document):
        assert ref.removeprefix("#/components/schemas/") in document["components"]["schemas"]


def test_api_answers_match_the_documented_fields(client, registry):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    found = client.post(API, json={"name": "张三", "id_number": registry.g_id}).json
    assert set(schemas["Student"]["required"]) == set(found)
    missing = client.post(API, json={"name": "无此人", "id_number": registry.g_id}).json
    assert set(schemas["NotFound"]["required"]) == set(missing)
    invalid = client.post(API, json={"name": "张三"}).json
    assert set(schemas["Invalid"]["required"]) <= set(invalid)
