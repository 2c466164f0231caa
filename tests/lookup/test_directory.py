"""The directory of complaint channels (投诉受理渠道, 2014 notice item 4)."""

from __future__ import annotations

import html
import re

import pytest

from lookup.models import Unit


@pytest.fixture
def publish(session):
    """Set a unit's published channels (or other columns); the app sees the flushed change."""
    def publish(code: str, phone: str | None = None, email: str | None = None, **values) -> Unit:
        unit = session.get(Unit, code)
        unit.complaint_phone, unit.complaint_email = phone, email
        for key, value in values.items():
            setattr(unit, key, value)
        session.flush()
        return unit
    return publish


def rows(page: str) -> list[str]:
    """The text of every table row, tags and the cells' narrow-screen labels stripped."""
    page = re.sub(r'<span class="dir-label">[^<]*</span>', "", page)
    found = re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)
    return [text(row) for row in found]


def text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def get(client, url: str, status: int = 200, **params) -> str:
    response = client.get(url, query_string=params)
    assert response.status_code == status
    return response.get_data(as_text=True)


def search(client, q: str, status: int = 200) -> list[str]:
    return rows(get(client, "/directory", status, q=q))


# The ministry publishes the provinces' list nationally.

def test_index_lists_the_ministry_and_every_province(client, publish):
    publish("000000", "010-66097315", "jubao@moe.edu.cn")
    publish("130000", "0311-66005000", "jyt@hebei.example.cn")
    page = get(client, "/directory")
    provinces = rows(page)[1:]  # after the table head
    assert len(provinces) == 32  # 31 provinces and 新疆生产建设兵团
    assert provinces[0].startswith("北京市教育委员会")
    assert provinces[-1].startswith("新疆生产建设兵团教育局")
    assert "河北省教育厅 0311-66005000 jyt@hebei.example.cn" in provinces
    assert 'href="tel:01066097315"' in page and 'href="mailto:jubao@moe.edu.cn"' in page
    assert 'href="/directory/130000"' in page
    assert "武汉市教育局" not in page  # prefectures are the provinces' to publish


def test_the_ministrys_own_page_is_the_index(client):
    response = client.get("/directory/000000")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/directory")


# Provinces publish their prefectures and counties.

def test_province_page_lists_prefectures_with_their_counties(client, publish):
    publish("130100", "0311-12345678")
    publish("130102", "0311-86012345", "zhaj@example.edu.cn")
    page = get(client, "/directory/130000")
    assert "<h1>河北省教育厅</h1>" in page
    assert '<a href="/directory">教育部</a>' in page  # the breadcrumb
    assert "长安区教育局 0311-86012345 zhaj@example.edu.cn" in rows(page)
    assert "0311-12345678" in page
    # Each county sits under its own prefecture.
    assert page.index("石家庄市教育局") < page.index("长安区教育局") < page.index("唐山市教育局")
    assert page.index("唐山市教育局") < page.index("路南区教育局")


def test_prefecture_page_lists_only_its_counties(client):
    page = get(client, "/directory/130100")
    assert '<a href="/directory/130000">河北省教育厅</a>' in page
    assert "长安区教育局" in page
    assert "路南区教育局" not in page
    assert "唐山市教育局" not in page


@pytest.mark.parametrize(("code", "child", "absent"), [
    ("110000", "朝阳区教育局", "市辖区"),      # municipal districts hang under the municipality
    ("420000", "仙桃市教育局", "省直辖县级"),  # province-administered cities under the province
    ("660000", "新疆生产建设兵团第八师教育局", "第十五师"),
])
def test_children_follow_the_authority_tree(client, code, child, absent):
    page = get(client, f"/directory/{code}")
    assert child in page
    assert absent not in page


def test_a_prefecture_without_counties_says_so(client):
    page = get(client, "/directory/440000")
    dongguan = page[page.index('id="unit-441900"'):]
    assert "无下辖区县" in dongguan[:dongguan.index("</section>")]
    assert "<h1>东莞市教育局</h1>" in get(client, "/directory/441900")


def test_inactive_units_are_not_listed(client, publish):
    publish("130102", "0311-86012345", active=False)
    assert "长安区教育局" not in get(client, "/directory/130100")
    assert "长安区教育局" not in get(client, "/directory/130000")
    # Its own page still answers (tickets refer to it) and sends the visitor upwards.
    page = get(client, "/directory/130102")
    assert "已撤销" in page and '<a href="/directory/130100">石家庄市教育局</a>' in page


# A unit that has published nothing points to the nearest unit above that has.

@pytest.mark.parametrize(("published", "expected"), [
    ({"130000": "0311-66005000"}, ("河北省教育厅", "0311-66005000")),
    ({"130000": "0311-66005000", "130100": "0311-12345678"}, ("石家庄市教育局", "0311-12345678")),
    ({"000000": "010-66097315"}, ("教育部", "010-66097315")),
])
def test_unpublished_unit_points_to_nearest_published_ancestor(client, publish, published, expected):
    for code, phone in published.items():
        publish(code, phone)
    page = get(client, "/directory/130102")
    assert "投诉电话 未公布 投诉邮箱 未公布" in text(page)
    assert f"可联系上级： {expected[0]} · 电话 {expected[1]}" in text(page)
    # The same pointer in the prefecture's table of counties.
    assert f"长安区教育局 未公布 可联系上级： {expected[0]} · 电话 {expected[1]}" in rows(
        get(client, "/directory/130100"))


def test_seeded_tree_points_to_the_ministrys_service_centre(client):
    # The seed publishes the ministry's channels from the 2016 notice.
    page = get(client, "/directory/130102")
    assert "可联系上级： 教育部 · 电话 010-66119801" in text(page)
    assert "66119801@moe.edu.cn" in page


def test_nothing_published_above_points_to_the_service_hotline(client, publish):
    publish("000000", None, None)
    page = get(client, "/directory/130102")
    assert "可联系上级" not in page
    assert "上级单位亦未公布" in page and "010-66119801" in page


def test_a_unit_that_published_shows_no_pointer(client, publish):
    publish("000000", "010-66097315")
    publish("130102", None, "zhaj@example.edu.cn")
    page = get(client, "/directory/130102")
    assert "zhaj@example.edu.cn" in page
    assert "可联系上级" not in page


# Search by place name.

def test_search_by_district_name_finds_every_such_district(client, publish):
    publish("110105", "010-65094000")
    assert search(client, "朝阳区")[1:] == [
        "北京市 › 朝阳区 朝阳区教育局 010-65094000 未公布",
        "吉林省 › 长春市 › 朝阳区 朝阳区教育局 未公布"
        " 可联系上级： 教育部 · 电话 010-66119801 · 邮箱 66119801@moe.edu.cn",
    ]


def test_search_by_prefecture_name_shows_the_full_path(client):
    found = search(client, "朝阳")
    assert found[1].startswith("辽宁省 › 朝阳市 朝阳市教育局")  # the prefecture first
    assert any(row.startswith("辽宁省 › 朝阳市 › 朝阳县") for row in found)
    assert any(row.startswith("吉林省 › 长春市 › 朝阳区") for row in found)


def test_search_leads_from_an_abolished_place_to_the_unit_above_it(client):
    found = search(client, "崇文")
    assert len(found) == 2
    assert found[1].startswith("北京市 › 崇文区 （已撤销，沿用至 2010 年） 北京市教育委员会")


def test_search_drops_an_abolished_place_that_lives_on_under_a_new_code(client):
    # 212221 朝阳县 (until 1984) became 211321 朝阳县: one answer, the current unit.
    found = search(client, "朝阳县")
    assert len(found) == 2 and found[1].startswith("辽宁省 › 朝阳市 › 朝阳县 朝阳县教育局")


def test_search_finds_units_no_division_describes(client):
    found = search(client, "第八师")
    assert found[1].startswith("新疆生产建设兵团教育局 › 新疆生产建设兵团第八师教育局")


@pytest.mark.parametrize("typed", [
    "　石家庄　",   # ideographic spaces around
    " ⽯家庄",      # U+2F6F KANGXI RADICAL STONE, as text copied from a PDF gives it
    "石家庄\t",
])
def test_search_is_width_insensitive_and_trimmed(client, typed):
    found = search(client, typed)
    assert found[1].startswith("河北省 › 石家庄市 石家庄市教育局")


def test_search_is_case_insensitive(client, publish):
    publish("661400", name="新疆生产建设兵团第十四师（Kunyu）教育局")
    found = search(client, "ＫＵＮＹＵ")
    assert len(found) == 2 and "第十四师（Kunyu）教育局" in found[1]


@pytest.mark.parametrize("typed", ["%", "_", "朝_区", "%朝阳区", "\\", "朝阳\\%"])
def test_search_escapes_like_wildcards(client, typed):
    page = get(client, "/directory", q=typed)
    assert "没有找到包含" in page
    assert rows(page) == []


def test_search_matches_wildcard_characters_literally(client, publish):
    publish("661400", name="测试100%_教育局")
    assert "测试100%_教育局" in search(client, "100%_")[1]
    assert rows(get(client, "/directory", q="10_%")) == []


def test_search_limits_the_results_and_says_so(client):
    page = get(client, "/directory", q="区")
    assert len(rows(page)) == 1 + 50
    assert "仅显示前 50 条" in page


def test_search_says_how_many_when_all_are_shown(client):
    assert "共找到 1 条" in get(client, "/directory", q="崇文")


@pytest.mark.parametrize("typed", ["", "   ", "　"])
def test_an_empty_search_is_the_index(client, typed):
    page = get(client, "/directory", q=typed)
    assert "查找结果" not in page
    assert len(rows(page)) == 1 + 32


@pytest.mark.parametrize(("typed", "message"), [
    ("朝" * 41, "地名过长，请不超过 40 个字。"),
    ("朝阳\x00", "控制字符"),
    ("朝阳\x1b[2J", "控制字符"),
    ("朝\u200b阳", "控制字符"),  # zero-width space
    ("朝阳\x7f", "控制字符"),      # DEL
])
def test_a_search_the_visitor_must_correct_is_a_400_in_chinese(client, typed, message):
    page = get(client, "/directory", 400, q=typed)
    assert message in page
    assert 'aria-invalid="true"' in page
    assert "\x00" not in page and "\x1b" not in page


def test_forty_characters_are_accepted(client):
    get(client, "/directory", q="朝" * 40)


def test_bytes_that_are_not_utf8_are_no_error(client):
    response = client.get("/directory?q=%ED%A0%80%FF")
    assert response.status_code == 200
    assert "没有找到包含" in response.get_data(as_text=True)


@pytest.mark.parametrize("code", ["999999", "abc", "1" * 13, "%00", "110105%20"])
def test_an_unknown_unit_is_a_404(client, code):
    response = client.get(f"/directory/{code}")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


def test_pages_carry_no_inline_style_or_script(client):
    for url in ("/directory", "/directory/130000", "/directory?q=朝阳", "/directory?q=%00"):
        page = client.get(url).get_data(as_text=True)
        assert "style=" not in page and "<style" not in page and "<script" not in page
        assert "directory.css" in page
