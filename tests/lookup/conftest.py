"""A small registry for the lookup tests, imported through the real importers."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from tests.conftest import ID_KEY
from tests.lookup.factories import g_row, id_number, import_registry, j_number, j_row, l_row


@dataclass(frozen=True)
class Registry:
    """The students of the ``registry`` fixture, by what a test needs of them."""

    g_id: str = id_number(sequence=1)  # 张三, G
    moved_id: str = id_number(sequence=7)  # 钱七: J → G (seq 9) → G (seq 7)
    first_g_id: str = id_number(sequence=9)
    j_first: str = j_number(2)  # 钱七's first number
    j: str = j_number(1)  # 李四
    twins_school: str = "2113000003"


@pytest.fixture
def registry(session, write_csv) -> Registry:
    reg = Registry()
    import_registry(session, write_csv, students=[
        g_row(1, name="张三"),
        g_row(7, name="钱七"),
        g_row(12, name="买买提·艾力", status="休学"),
        j_row(1, name="李四"),
        j_row(3, name="孙八"),
        j_row(4, name="孙八"),  # same school, name and birthday: cannot be told apart
        l_row(1234, name="王五"),
    ], history=[
        f"{reg.j_first},G{reg.first_g_id},补录身份证号,2020-09-01",
        f"G{reg.first_g_id},G{reg.moved_id},身份证号变更,2023-03-01",
    ], id_hash_key=ID_KEY.encode())
    session.commit()
    return reg


def csrf_token(client, path: str = "/") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture
def post_form(client):
    """POST a form the way a browser does: with the CSRF token of the page it came from."""
    def post(path: str, data: dict[str, str], **kwargs):
        page = "/check" if path == "/check" else "/"
        return client.post(path, data={"csrf_token": csrf_token(client, page), **data}, **kwargs)
    return post
