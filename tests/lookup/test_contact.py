"""Whom a family is sent to after a lookup that found nothing (lookup.search.contact_for).

2014 notice item 4: each unit publishes its complaint phone and e-mail. The
contact is worked out from the input alone: the birthplace in the ID number,
or the school's direct authority; the nearest active unit, then the nearest
one up the tree that has published a channel; the ministry when none has.
"""

from __future__ import annotations

import pytest

from lookup.models import Unit
from tests.lookup.factories import id_number

API = "/api/v1/lookup"


def contact_for_birthplace(client, address: str) -> dict:
    body = {"name": "无此人", "id_number": id_number(address=address, sequence=5)}
    response = client.post(API, json=body)
    assert response.status_code == 404
    return response.json["contact"]


@pytest.mark.parametrize(("published", "inactive", "address", "expected"), [
    # The county of the birthplace publishes its own channels.
    ({"130102": "0311-86000001"}, (), "130102", "130102"),
    # It publishes none: its prefecture does.
    ({"130100": "0311-86000002"}, (), "130102", "130100"),
    # Only the province publishes: two steps up.
    ({"130000": "0311-86000003"}, (), "130102", "130000"),
    # The county was abolished: its prefecture answers, with its own channels.
    ({"130102": "0311-86000001", "130100": "0311-86000002"}, ("130102",), "130102", "130100"),
    # A province-administered city answers to the province, not to a prefecture.
    ({"429004": "0728-3300000"}, (), "429004", "429004"),
    ({"420000": "027-87300000"}, (), "429004", "420000"),
    # A birthplace code no unit has: the prefecture's, or the province's, unit.
    ({"130100": "0311-86000002"}, (), "130199", "130100"),
    # Nothing published below: the ministry's service centre.
    ({}, (), "130102", "000000"),
])
def test_the_contact_is_the_nearest_active_unit_that_publishes_a_channel(
        client, registry, session, published, inactive, address, expected):
    for code, phone in published.items():
        session.get(Unit, code).complaint_phone = phone
    for code in inactive:
        session.get(Unit, code).active = False
    session.flush()
    contact = contact_for_birthplace(client, address)
    assert contact["unit"]["code"] == expected
    unit = session.get(Unit, expected)
    assert (contact["unit"]["name"], contact["phone"], contact["email"]) == (
        unit.name, unit.complaint_phone, unit.complaint_email)


def test_a_parent_outside_the_birthplace_region_is_followed_too(client, registry, session):
    # Units are fetched a region at a time (county, prefecture, province,
    # ministry); a parent elsewhere in the tree is fetched on its own.
    session.add(Unit(code="139901", name="试验区教育局", level="county", parent_code="660800"))
    session.get(Unit, "660800").complaint_email = "jyj@bt8.example.cn"
    session.flush()
    contact = contact_for_birthplace(client, "139901")
    assert (contact["unit"]["code"], contact["email"]) == ("660800", "jyj@bt8.example.cn")
