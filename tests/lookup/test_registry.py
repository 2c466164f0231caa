"""The authority tree in the database: seed, units import, divisions reconcile."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lookup.csvfile import RowError
from lookup.models import Division, Unit
from lookup.registry import import_units, reconcile_divisions, seed
from tests.lookup.factories import UNIT_HEADER


def units(session) -> dict[str, Unit]:
    return {u.code: u for u in session.scalars(select(Unit))}


def snapshot(session) -> list[tuple]:
    session.expire_all()
    return sorted((u.code, u.name, u.parent_code, u.level, u.active, u.complaint_phone,
                   u.complaint_email) for u in session.scalars(select(Unit)))


def test_seed_is_idempotent(session):
    assert seed(session) == {"divisions": 0, "units": 0, "units_changed": 0}


def test_bingtuan_units_hang_under_the_ministry(session):
    tree = units(session)
    assert (tree["660000"].level, tree["660000"].parent_code) == ("province", "000000")
    assert (tree["660800"].level, tree["660800"].parent_code) == ("prefecture", "660000")
    assert tree["660800"].division_code is None


def test_units_import_publishes_channels_and_is_idempotent(session, write_csv):
    path = write_csv("units.csv", [
        UNIT_HEADER,
        "130102,石家庄市长安区教育局,county,130100,0311-86012345,zhaj@example.edu.cn",
        "130100,石家庄市教育局,prefecture,130000,0311-12319,",
    ])
    result = import_units(session, path)
    assert (result.rows, result.written) == (2, 2)
    tree = units(session)
    assert tree["130102"].complaint_phone == "0311-86012345"
    assert tree["130102"].division_code == "130102"
    assert import_units(session, path).written == 0


def test_a_child_may_come_before_its_new_parent_in_the_file(session, write_csv):
    path = write_csv("units.csv", [
        UNIT_HEADER,
        "661501,新疆生产建设兵团第十五师第一中学教育科,county,661500,,",
        "661500,新疆生产建设兵团第十五师教育局,prefecture,660000,,",
    ])
    import_units(session, path)
    assert units(session)["661501"].parent_code == "661500"


@pytest.mark.parametrize(("rows", "line", "field", "reason"), [
    (["130100,石家庄市教育局,prefecture,130102,,"], None, "parent_code", "循环"),
    (["660000,兵团教育局,province,660100,,"], None, "parent_code", "循环"),
    (["130100,石家庄市教育局,prefecture,999999,,"], 2, "parent_code", "不存在"),
    (["130100,石家庄市教育局,city,130000,,"], 2, "level", "之一"),
    (["1301,石家庄市教育局,prefecture,130000,,"], 2, "code", "6 位"),
    (["130100,石家庄市教育局,prefecture,130000,,not-an-email"], 2, "complaint_email", "格式"),
    (["130100,石家庄市教育局,prefecture,130000,电话,"], 2, "complaint_phone", "格式"),
    (["130100,石家庄市教育局,prefecture,,,"], 2, "parent_code", "只有国家级"),
    (["130100,,prefecture,130000,,"], 2, "name", "不能为空"),
    (["130100,a,prefecture,130000,,", "130100,b,prefecture,130000,,"], 3, "code", "重复"),
    # A county may not sit above its own prefecture.
    (["130100,石家庄市教育局,prefecture,130102,,", "130102,长安区,county,130000,,"],
     None, "parent_code", "层级"),
])
def test_bad_unit_rows_are_rejected_and_change_nothing(session, write_csv, rows, line, field,
                                                       reason):
    before = snapshot(session)
    with pytest.raises(RowError) as caught, session.begin_nested():
        import_units(session, write_csv("units.csv", [UNIT_HEADER, *rows]))
    assert (caught.value.line, caught.value.field) == (line, field)
    assert reason in caught.value.reason
    assert snapshot(session) == before


def _current_list(session) -> list[str]:
    return [f"{d.code},{d.name}" for d in session.scalars(select(Division).order_by(Division.code))
            if d.valid_to is None and d.level != "pseudo" and d.code[:2] not in ("71", "81", "82")]


def test_reconcile_adds_renames_abolishes_and_the_units_follow(session, write_csv):
    rows = _current_list(session)
    rows.remove("130102,长安区")
    rows.append("130199,新设示范区")
    rows = [r if r != "130104,桥西区" else "130104,新桥西区" for r in rows]
    counts = reconcile_divisions(session, write_csv("mca.csv", ["code,name", *rows]), 2026)
    assert (counts["added"], counts["renamed"], counts["abolished"]) == (1, 1, 1)
    tree = units(session)
    assert tree["130199"].parent_code == "130100" and tree["130199"].active
    assert not tree["130102"].active
    assert session.get(Division, "130102").valid_to == 2025
    assert session.get(Division, "130199").valid_from == 2026


def test_a_partial_division_list_is_refused(session, write_csv):
    rows = [r for r in _current_list(session) if not r.startswith("13")]
    with pytest.raises(RowError, match="130000"):
        reconcile_divisions(session, write_csv("mca.csv", ["code,name", *rows]), 2026)
