"""Quarantined mail in the console (issue 6 item 8): shown to the mailbox's unit and above, masked,
never rendered, downloadable exactly, audited, and replayed through the mail worker on request."""

from __future__ import annotations

import os
import re
from collections import Counter

import pytest
from sqlalchemy import select, text, update

from hotline import db
from hotline.console import mail_quarantine
from hotline.console.models import AccessAudit
from hotline.tickets.inbox import ReceivedMail
from mailintake.config import MailConfig
from mailintake.spool import Spool
from mailintake.worker import drain
from tests.hotline.console.conftest import (
    CITY,
    COUNTY,
    MINISTRY,
    OTHER_PROVINCE,
    PROVINCE,
    csrf_token,
)
from tests.hotline.console.mail_support import mailbox_unit, message, quarantined
from tests.lookup.factories import id_number

LIST = "/console/mail/quarantine"
ID_NUMBER = id_number(sequence=1)  # 130102201203050015
MASKED_ID = "130***********0015"


def detail_url(mail_id: int) -> str:
    return f"{LIST}/{mail_id}"


def row(app, mail_id: int) -> ReceivedMail:
    with app.app_context():
        found = db.session().get(ReceivedMail, mail_id)
        db.session().expunge(found)
        return found


def audits(app) -> list[tuple[str, str | None]]:
    with app.app_context():
        rows = db.session().scalars(select(AccessAudit).order_by(AccessAudit.id))
        return [(a.what, a.detail) for a in rows]


def set_raw_path(app, mail_id: int, raw_path: str) -> None:
    with app.app_context():
        db.session().execute(update(ReceivedMail).where(ReceivedMail.id == mail_id).values(raw_path=raw_path))
        db.session().commit()


def store(app):
    with app.app_context():
        return MailConfig.from_app(app).store


@pytest.fixture
def held(app):
    """The prefecture 石家庄 (130100) owns the mailbox; one message of a parent is quarantined there."""
    mailbox_unit(app, CITY)
    raw = message(f"孩子身份证 {ID_NUMBER}，请回复 zhangsan@qq.com 或 13800138000。",
                  subject=f"学籍转不过来 {ID_NUMBER}", sender="张三 <zhangsan@qq.com>")
    return {"id": quarantined(app, raw), "raw": raw}


@pytest.fixture
def staff(app, make_user, login):
    """Logged-in clients by name: (unit, role)."""
    accounts = {"city_agent": (CITY, "agent"), "city_supervisor": (CITY, "supervisor"),
                "city_admin": (CITY, "admin"), "city_handler": (CITY, "handler"),
                "province_supervisor": (PROVINCE, "supervisor"), "ministry_agent": (MINISTRY, "agent"),
                "county_agent": (COUNTY, "agent"), "beijing_admin": (OTHER_PROVINCE, "admin")}
    clients = {}
    for name, (unit, role) in accounts.items():
        make_user(name.replace("_", ""), unit, role)
        clients[name] = login(app.test_client(), name.replace("_", ""))
    return clients


# (who, list and detail, raw download): the mailbox's unit and the units above it; handlers never;
# the raw message only for agents and administrators; a unit below or elsewhere: 404.
ACCESS = [
    ("city_agent", 200, 200),
    ("city_supervisor", 200, 403),
    ("city_admin", 200, 200),
    ("city_handler", 403, 403),
    ("province_supervisor", 200, 403),
    ("ministry_agent", 200, 200),
    ("county_agent", 404, 404),
    ("beijing_admin", 404, 404),
]


@pytest.mark.parametrize(("who", "page", "raw"), ACCESS)
def test_quarantined_mail_belongs_to_the_mailbox_unit_and_the_units_above_it(held, staff, who, page, raw):
    client = staff[who]
    assert client.get(LIST).status_code == page
    assert client.get(detail_url(held["id"])).status_code == page
    assert client.get(f"{detail_url(held['id'])}/raw").status_code == raw
    shows_link = "/console/mail/quarantine" in client.get("/console/queue").get_data(as_text=True)
    assert shows_link == (page == 200)


def test_the_list_shows_reason_size_source_and_counts_newest_first(app, held, staff):
    second = quarantined(app, message("没有发件人的来信", sender=None), limit=False)
    page = staff["city_agent"].get(LIST).get_data(as_text=True)
    table = page[page.index('id="quarantine"'):]
    assert table.index(detail_url(second)) < table.index(detail_url(held["id"]))  # newest first
    assert "邮件过大" in table and "没有可用的发件人" in table
    assert "邮件存储（SMTP 收信或导入）" in table and "字节" in table
    counts = page[page.index('id="quarantine-counts"'):page.index('id="quarantine"')]
    for kind in ("邮件过大", "没有可用的发件人"):
        assert re.search(f"{kind}</a></th><td>1<", counts)
    only = staff["city_agent"].get(LIST, query_string={"kind": "no_sender"}).get_data(as_text=True)
    assert detail_url(second) in only and detail_url(held["id"]) not in only


def test_the_list_pages_fifty_at_a_time(app, held, staff, monkeypatch):
    monkeypatch.setattr(mail_quarantine, "PAGE_SIZE", 1)
    second = quarantined(app, message("第二封"))
    first_page = staff["city_agent"].get(LIST).get_data(as_text=True)
    second_page = staff["city_agent"].get(LIST, query_string={"page": "2"}).get_data(as_text=True)
    assert detail_url(second) in first_page and detail_url(held["id"]) not in first_page
    assert detail_url(held["id"]) in second_page and "第 2 / 2 页" in second_page
    assert staff["city_agent"].get(LIST, query_string={"page": "x' OR 1=1"}).status_code == 200


@pytest.mark.parametrize("path", [LIST, "detail"])
def test_no_full_address_and_no_id_number_in_clear(app, held, staff, path):
    url = detail_url(held["id"]) if path == "detail" else LIST
    page = staff["city_agent"].get(url).get_data(as_text=True)
    assert "zhangsan@qq.com" not in page and "zhangsan" not in page
    assert ID_NUMBER not in page and "13800138000" not in page
    assert "z****@qq.com" in page and MASKED_ID in page
    assert "张*" in page and "张三" not in page


def test_the_detail_decodes_headers_and_text_and_keeps_our_own_address(app, held, staff):
    page = staff["city_supervisor"].get(detail_url(held["id"])).get_data(as_text=True)
    assert f"学籍转不过来 {MASKED_ID}" in page  # the subject, decoded
    assert "孩子身份证" in page and "138****8000" in page
    assert "66119801@moe.edu.cn" in page  # our mailbox is not personal data
    assert "重新处理</button>" not in page and "/raw" not in page  # supervisors only read


def test_the_detail_escapes_html_and_never_renders_it(app, staff):
    mailbox_unit(app, CITY)
    script = "<script>alert('x')</script>"
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
    both = quarantined(app, message(f"正文 {script}", subject=script, html=f"<p>网页</p>{script}"))
    html_only = quarantined(app, message(f"<p>网页</p>{script}").replace(b"text/plain", b"text/html"))
    for url in (LIST, detail_url(both), detail_url(html_only)):
        page = staff["city_agent"].get(url).get_data(as_text=True)
        assert script not in page and "<p>网页" not in page
        assert escaped in page
    assert "HTML 源代码，不作渲染" in staff["city_agent"].get(detail_url(html_only)).get_data(as_text=True)


def test_the_download_gives_the_exact_bytes(app, held, staff):
    response = staff["city_admin"].get(f"{detail_url(held['id'])}/raw")
    assert response.status_code == 200 and response.mimetype == "message/rfc822"
    assert response.get_data() == held["raw"]
    assert "attachment" in response.headers["Content-Disposition"]


def test_every_view_and_download_is_audited_without_the_mail(app, held, staff):
    client = staff["city_agent"]
    client.get(LIST)
    client.get(detail_url(held["id"]))
    client.get(f"{detail_url(held['id'])}/raw")
    staff["county_agent"].get(detail_url(held["id"]))  # refused: not audited
    got = audits(app)
    assert got == [("mail_quarantine", "page 1"), ("mail_detail", f"received_mail {held['id']}"),
                   ("mail_raw", f"received_mail {held['id']}")]


def test_the_detail_shows_the_exact_ingest_command(app, held, staff):
    page = staff["city_agent"].get(detail_url(held["id"])).get_data(as_text=True)
    path = store(app) / row(app, held["id"]).raw_path
    assert f"xueji mail ingest {path}" in page and path.is_file()


OUTSIDE_PATHS = ["/etc/passwd", "../../outside.eml", "cur/../../outside.eml", "{outside}", "cur/link.eml"]


@pytest.mark.parametrize("raw_path", OUTSIDE_PATHS)
def test_a_raw_path_leading_out_of_the_store_is_refused(app, held, staff, tmp_path, raw_path):
    outside = tmp_path / "outside.eml"
    outside.write_bytes(b"Subject: secret-outside\r\n\r\nnot mail of ours")
    root = store(app)
    os.symlink(outside, root / "cur" / "link.eml")
    set_raw_path(app, held["id"], raw_path.format(outside=outside))
    client = staff["city_agent"]
    page = client.get(detail_url(held["id"])).get_data(as_text=True)
    assert "超出邮件存储目录" in page and "secret-outside" not in page
    assert "secret-outside" not in client.get(LIST).get_data(as_text=True)
    assert client.get(f"{detail_url(held['id'])}/raw").status_code == 404
    client.post(f"{detail_url(held['id'])}/replay", data={"csrf_token": csrf_token(client)})
    assert row(app, held["id"]).replay_requested_at is None


def test_a_missing_raw_file_is_said_and_cannot_be_replayed(app, held, staff):
    (store(app) / row(app, held["id"]).raw_path).unlink()
    client = staff["city_agent"]
    assert "原始邮件文件不存在" in client.get(detail_url(held["id"])).get_data(as_text=True)
    response = client.post(f"{detail_url(held['id'])}/replay", data={"csrf_token": csrf_token(client)},
                           follow_redirects=True)
    assert "不能重新处理" in response.get_data(as_text=True)
    assert row(app, held["id"]).replay_requested_at is None


def test_a_replay_request_needs_the_csrf_token_and_is_recorded_once(app, held, staff):
    client = staff["city_agent"]
    url = f"{detail_url(held['id'])}/replay"
    assert client.post(url).status_code == 400
    assert row(app, held["id"]).replay_requested_at is None
    assert client.post(url, data={"csrf_token": csrf_token(client)}).status_code == 302
    asked = row(app, held["id"])
    assert asked.replay_requested_at is not None and asked.replay_stored_as is None
    again = client.post(url, data={"csrf_token": csrf_token(client)}, follow_redirects=True)
    assert "已在等待重新处理" in again.get_data(as_text=True)
    assert row(app, held["id"]).replay_requested_at == asked.replay_requested_at
    assert "提交重新处理" in client.get(LIST).get_data(as_text=True)


def test_replay_from_the_console_through_the_worker_to_a_ticket(app, held, staff):
    """Request → the worker's pass (with the limit fixed) → a ticket; the row leaves the list."""
    client = staff["city_admin"]
    client.post(f"{detail_url(held['id'])}/replay", data={"csrf_token": csrf_token(client)})
    with app.app_context():
        config = MailConfig.from_app(app)  # the normal limits: the fix
        counts = drain(db.session(), Spool(config.store), config)
    assert counts == Counter({"ticket": 1})
    replayed = row(app, held["id"])
    assert replayed.replayed_by is not None and replayed.replay_stored_as is not None
    assert detail_url(held["id"]) not in client.get(LIST).get_data(as_text=True)
    page = client.get(detail_url(held["id"])).get_data(as_text=True)
    assert "已重新处理，结果：新建工单" in page and "重新处理</button>" not in page
    refused = client.post(f"{detail_url(held['id'])}/replay", data={"csrf_token": csrf_token(client)},
                          follow_redirects=True)
    assert "已经重新处理过" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session().execute(text("SELECT count(*) FROM quarantine")).scalar() == 0


def test_mail_of_other_outcomes_is_not_shown_here(app, held, staff):
    with app.app_context():
        db.session().execute(update(ReceivedMail).where(ReceivedMail.id == held["id"]).values(outcome="auto"))
        db.session().commit()
    assert staff["city_agent"].get(detail_url(held["id"])).status_code == 404
    assert staff["city_agent"].get(detail_url(999_999)).status_code == 404
