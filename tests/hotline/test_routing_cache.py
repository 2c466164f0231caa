"""A cached authority tree (hotline.routing.TreeCache) routes as the database does, and goes stale
for at most TREE_SECONDS.

The mail worker keeps the tree between messages; nothing else changes for
routing: the same functions read it, so every trap of tests/hotline/test_routing.py
must come out the same, and a change to the units table must reach the
worker within the documented bound. The cache's clock is a counter the
tests move by hand, so the bound is checked without waiting for it.
"""

from __future__ import annotations

import datetime

import pytest
from sqlalchemy import event

from hotline.routing import (
    TREE_SECONDS,
    RoutingError,
    TreeCache,
    cached_tree,
    find_unit,
    forwarding_path,
    parent_for_ruling,
    published_channels,
    relation,
    route,
    within,
)
from lookup.models import School, Unit
from tests.hotline.test_routing import ROUTES, schools  # noqa: F401 - the fixture

# Every kind of receiver: none, the ministry, a province, the county itself, another county.
RECEIVERS = [None, "000000", "410000", "410102", "410105", "660000", "130102"]
PAIRS = [("000000", "130102"), ("130000", "130102"), ("000000", "110105"), ("000000", "429004"),
         ("000000", "441900"), ("000000", "660800"), ("130102", "130102"), ("130102", "130000"),
         ("130102", "130104"), ("660800", "659001"), ("410000", "410102")]


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def routes(session, codes: list[str]) -> list[object]:
    return [route(session, codes, receiving_unit_code=receiving) for receiving in RECEIVERS]


@pytest.mark.parametrize("codes", [codes for codes, *_ in ROUTES])
def test_a_cached_tree_routes_every_trap_as_the_database_does(session, schools, codes):  # noqa: F811
    session.get(Unit, "410100").complaint_phone = "0371-12345678"  # a published hotline below the ministry
    session.flush()
    fresh = routes(session, codes)
    with cached_tree(session, TreeCache()):
        assert routes(session, codes) == fresh


@pytest.mark.parametrize(("codes", "receiving"), [
    (["2141000001", "9999999999"], None),   # an unknown school
    (["2141000001"], "999999"),             # a receiving unit that does not exist
    (["2141000001"], "110100"),             # 市辖区: no unit
])
def test_a_cached_tree_refuses_what_the_database_refuses(session, schools, codes, receiving):  # noqa: F811
    with pytest.raises(RoutingError) as fresh:
        route(session, codes, receiving_unit_code=receiving)
    with cached_tree(session, TreeCache()), pytest.raises(RoutingError) as cached:
        route(session, codes, receiving_unit_code=receiving)
    assert str(cached.value) == str(fresh.value)


@pytest.mark.parametrize(("upper", "lower"), PAIRS)
def test_a_cached_tree_gives_the_same_relations_paths_rulers_and_channels(session, upper, lower):
    session.get(Unit, "130100").complaint_email = "xj@sjz.example.cn"
    session.flush()

    def answers() -> tuple[object, ...]:
        down = relation(session, upper, lower)
        # A path down exists only to a lower unit (or the unit itself).
        path = forwarding_path(session, upper, lower) if down in ("same", "lower") else None
        return (down, relation(session, lower, upper), path, within(session, lower, upper),
                parent_for_ruling(session, lower), published_channels(session, lower),
                find_unit(session, lower))

    fresh = answers()
    with cached_tree(session, TreeCache()):
        assert answers() == fresh


def test_a_cached_tree_reads_the_units_once(session, schools, connection):  # noqa: F811
    units: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if "FROM units" in statement:
            units.append(statement)

    with cached_tree(session, TreeCache()):
        event.listen(connection, "before_cursor_execute", record)
        try:
            for codes, *_ in ROUTES:
                route(session, codes, receiving_unit_code="000000")
            published_channels(session, "130102")
        finally:
            event.remove(connection, "before_cursor_execute", record)
    assert len(units) == 1


def test_a_changed_unit_is_seen_within_the_bound(session, schools):  # noqa: F811
    clock = Clock()
    cache = TreeCache(clock=clock)
    with cached_tree(session, cache):
        assert route(session, ["2141000001"]).unit.name == "中原区教育局"
        session.get(Unit, "410102").name = "中原区教育体育局"
        session.flush()
        clock.now += TREE_SECONDS - 0.001  # still the tree as read: this is what the bound allows
        assert route(session, ["2141000001"]).unit.name == "中原区教育局"
        clock.now += 0.001
        assert route(session, ["2141000001"]).unit.name == "中原区教育体育局"


def test_a_deactivated_unit_routes_nothing_once_the_bound_has_passed(session, schools):  # noqa: F811
    clock = Clock()
    with cached_tree(session, TreeCache(clock=clock)):
        assert route(session, ["2141000001"]).unit.code == "410102"
        session.get(Unit, "410102").active = False
        session.flush()
        clock.now += TREE_SECONDS
        with pytest.raises(RoutingError, match="已停用"):
            route(session, ["2141000001"])


def test_an_added_unit_is_seen_within_the_bound(session):
    clock = Clock()
    with cached_tree(session, TreeCache(clock=clock)):
        assert find_unit(session, "000000").name == "教育部"
        session.add(Unit(code="419901", name="郑州航空港区教育局", level="county", parent_code="410100",
                         updated_at=datetime.datetime.now(datetime.UTC)))
        session.flush()
        session.add(School(code="2141990001", name="航空港区第一小学", division_code="410102",
                           authority_code="419901"))
        session.flush()
        assert find_unit(session, "419901") is None
        clock.now += TREE_SECONDS
        assert route(session, ["2141990001"]).unit.code == "419901"
        hops = forwarding_path(session, "000000", "419901")
        assert [u.code for u in hops] == ["410000", "410100", "419901"]


def test_the_cache_is_the_sessions_only_inside_the_block(session):
    cache = TreeCache()
    with cached_tree(session, cache):
        assert find_unit(session, "000000") is not None
    assert session.info == {}
    session.get(Unit, "130102").name = "长安区教育体育局"
    session.flush()
    assert find_unit(session, "130102").name == "长安区教育体育局"  # from the database again
