"""Finding a school's 学校标识码 from the console, by the start of its code or part of its name."""

from __future__ import annotations

import pytest

from tests.hotline.console.calls_support import CHANGAN, CHANGAN_2, LUBEI, QIAOXI, install
from tests.hotline.console.conftest import COUNTY, log_in


@pytest.fixture
def handler(client, make_user, session, write_csv):
    install(session, write_csv)
    make_user("handler", COUNTY, "handler")
    return log_in(client, "handler")


@pytest.mark.parametrize(("query", "found", "not_found"), [
    ("130102", [CHANGAN, CHANGAN_2], [QIAOXI, LUBEI]),
    # Full-width digits, as a Chinese input method types them.
    ("１３０１０２", [CHANGAN, CHANGAN_2], [QIAOXI]),
    ("实验小学", [CHANGAN_2, QIAOXI], [CHANGAN, LUBEI]),
    ("路北区第一小学", [LUBEI], [CHANGAN]),
])
def test_schools_are_found_by_code_prefix_or_name(handler, query, found, not_found):
    response = handler.get("/console/schools/search", query_string={"q": query})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert all(code in page for code in found) and not any(code in page for code in not_found)


def test_a_search_that_finds_nothing_says_so(handler):
    page = handler.get("/console/schools/search?q=不存在的学校").get_data(as_text=True)
    assert 'id="school-none"' in page


@pytest.mark.parametrize(("query", "message"), [("长", "请至少输入 2 个字"), ("长" * 65, "不能超过 64 个字")])
def test_a_search_too_short_or_too_long_is_refused(handler, query, message):
    response = handler.get("/console/schools/search", query_string={"q": query})
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_a_search_with_wildcards_matches_them_literally(handler):
    page = handler.get("/console/schools/search?q=%25%25").get_data(as_text=True)
    assert 'id="school-none"' in page and CHANGAN not in page


def test_markup_in_a_search_is_escaped(handler):
    page = handler.get("/console/schools/search", query_string={"q": "<b>x</b>"}).get_data(as_text=True)
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
