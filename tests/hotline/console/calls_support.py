"""What the call-logging tests share: schools, published channels and students on the seeded
tree, the call form as a browser fills it in, and readers of what was stored."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from hotline import db
from hotline.console.models import AccessAudit
from hotline.tickets.models import Ticket
from lookup.importers import import_students
from lookup.models import School, Unit
from tests.conftest import ID_KEY
from tests.hotline.console.conftest import CITY, COUNTY
from tests.lookup.factories import STUDENT_HEADER, g_row, id_number

# Schools on the seeded tree: two counties of 石家庄 (130100), a county of 唐山 (130200),
# all in 河北 (130000); a district of 北京 (110000). (code: name, division, direct authority)
SCHOOLS = {
    "1301020001": ("长安区第一小学", "130102", "130102"),
    "1301020002": ("长安区实验小学", "130102", "130102"),
    "1301040001": ("桥西区实验小学", "130104", "130104"),
    "1302030001": ("路北区第一小学", "130203", "130203"),
    "1101050001": ("朝阳区第一小学", "110105", "110105"),
}
CHANGAN, CHANGAN_2, QIAOXI, LUBEI, CHAOYANG = SCHOOLS
# 长安区 publishes its channels (2014 notice item 4); 石家庄 publishes a phone only.
COUNTY_PHONE, COUNTY_EMAIL, CITY_PHONE = "0311-86691234", "xueji@changan.example.cn", "0311-87001234"

STUDENT, STUDENT_ID = "张小明", id_number(sequence=21)
NOBODY_ID = id_number(sequence=23)  # valid, of nobody


@dataclass(frozen=True)
class Registry:
    student: str = STUDENT
    student_id: str = STUDENT_ID


def install(session: Session, write_csv) -> Registry:
    """Schools, channels and one G student (imported with the tests' ID hash key); committed."""
    for code, (name, division, authority) in SCHOOLS.items():
        session.add(School(code=code, name=name, division_code=division, authority_code=authority))
    session.flush()
    county, city = session.get(Unit, COUNTY), session.get(Unit, CITY)
    county.complaint_phone, county.complaint_email = COUNTY_PHONE, COUNTY_EMAIL
    city.complaint_phone = CITY_PHONE
    import_students(session, write_csv("call-students.csv", [
        STUDENT_HEADER, g_row(21, name=STUDENT, school=CHANGAN)]), ID_KEY.encode())
    session.commit()
    return Registry()


def call(**fields: str) -> dict[str, str]:
    """The call form as an agent fills it in; ``fields`` override or add (students-0-name ...)."""
    data = {"caller_name": "刘桂芳", "relation": "家长", "phone": "139 1234 5678", "email": "",
            "category": "complaint", "schools": CHANGAN, "subject": "转学后学籍号查询不到",
            "description": "孩子转学后学籍号查询不到，请帮忙核实。",
            "students-0-name": "", "students-0-id_number": "",
            "students-1-name": "", "students-1-id_number": ""}
    data.update(fields)
    return data


def token(client: FlaskClient) -> str:
    """The CSRF token of the client's session, read from a page of ours (any role may open it)."""
    page = client.get("/console/schools/search").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def send(client: FlaskClient, data: dict[str, str], action: str = "preview", **kwargs):
    return client.post("/console/calls/new",
                       data={"csrf_token": token(client), "action": action, **data}, **kwargs)


def previewed(response) -> str:
    """The fingerprint a preview page carries to its save."""
    match = re.search(r'name="previewed"[^>]*value="([0-9a-f]{64})"', response.get_data(as_text=True))
    assert match, "the page carries no preview fingerprint"
    return match.group(1)


def preview_then_save(client: FlaskClient, data: dict[str, str], **extra: str):
    """Preview, then save what was previewed (with ``extra`` choices made on the preview)."""
    page = send(client, data)
    assert page.status_code == 200, page.get_data(as_text=True)
    return send(client, {**data, "previewed": previewed(page), **extra}, action="save")


def error_of(response, field: str) -> str | None:
    """The error shown next to ``field`` (its id), if any."""
    match = re.search(rf'id="{re.escape(field)}-error">([^<]*)<', response.get_data(as_text=True))
    return match and match.group(1)


def tickets(app) -> list[Ticket]:
    with app.app_context():
        rows = db.session().scalars(select(Ticket).order_by(Ticket.id)).all()
        for row in rows:
            db.session().expunge(row)
        return list(rows)


def ticket_count(app) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(Ticket))


def audits(app, what: str = "student_lookup") -> list[tuple[str | None, int | None]]:
    with app.app_context():
        return db.session().execute(select(AccessAudit.detail, AccessAudit.ticket_id)
                                    .where(AccessAudit.what == what).order_by(AccessAudit.id)).all()


STORED_TABLES = ("tickets", "complainants", "ticket_students", "ticket_events", "forms", "access_audit")


def stored_text(app) -> Iterator[str]:
    """Every value of every row the call-logging path writes, as text."""
    with app.app_context():
        for table in STORED_TABLES:
            for row in db.session().execute(text(f"SELECT * FROM {table}")):  # noqa: S608 - fixed names
                yield from (str(value) for value in row)
