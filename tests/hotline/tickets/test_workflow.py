"""The workflow of the 2014 notice, items 2-3: steps, clocks, forms, and every refusal."""

from __future__ import annotations

import datetime

import pytest
from sqlalchemy import func, select

from hotline.tickets import workflow as wf
from hotline.tickets.models import Clock, Event, Form, FormMove, FormReturn, ImmutableRecord, Pause, Ticket
from tests.hotline.tickets.conftest import actor, at_day

COUNTY, OTHER_COUNTY, CITY, PROVINCE = "130102", "130104", "130100", "130000"


def clock_of(desk, ticket, step, unit=None):
    query = select(Clock).where(Clock.ticket_id == ticket.id, Clock.step == step)
    if unit:
        query = query.where(Clock.unit_code == unit)
    return desk.session.scalars(query.order_by(Clock.id.desc())).first()


def forms_of(desk, ticket, kind):
    return desk.session.scalars(
        select(Form).where(Form.ticket_id == ticket.id, Form.kind == kind).order_by(Form.id)
    ).all()


def test_the_whole_workflow_of_one_county_with_every_clock_on_time(desk):
    cal, s = desk.calendar, desk.session
    ticket = desk.ticket(("1301020001",), receiving=COUNTY, at=at_day(2026, 3, 2))  # Monday
    # Item 2: the 核查单 within 3 working days of receipt.
    [form] = wf.issue_verification(
        s,
        ticket,
        actor(COUNTY),
        related_units=[COUNTY],
        facts="核实学籍状态",
        calendar=cal,
        at=at_day(2026, 3, 4),
    )
    assert clock_of(desk, ticket, "verify_issue").on_time is True
    assert form.number.startswith("HC-2026-") and form.due_day == datetime.date(2026, 3, 11)
    assert ticket.step == "verifying"
    # Item 2: the related unit returns it within 5 working days of issue.
    wf.return_verification(
        s, form, actor(COUNTY, "学籍管理员"), result="情况属实", calendar=cal, at=at_day(2026, 3, 10)
    )
    assert ticket.step == "deciding"
    assert clock_of(desk, ticket, "verifying").on_time is True
    # Item 3: the handling opinion within 5 working days of the return.
    assert clock_of(desk, ticket, "deciding").due_day == datetime.date(2026, 3, 17)
    supervision = wf.issue_supervision(
        s,
        ticket,
        actor(COUNTY),
        handling_unit=COUNTY,
        opinion="更正学籍信息",
        calendar=cal,
        at=at_day(2026, 3, 12),
    )
    assert supervision.number.startswith("DB-2026-") and supervision.due_day == datetime.date(2026, 3, 19)
    assert ticket.step == "handling"
    # Item 3: handled within 5 working days of receiving the 督办单.
    wf.return_supervision(
        s, supervision, actor(COUNTY), result="已更正", calendar=cal, at=at_day(2026, 3, 23)
    )
    assert clock_of(desk, ticket, "handling").on_time is False  # due 19 March: late, and recorded so
    assert ticket.step == "confirming"
    wf.confirm_and_close(s, ticket, actor(COUNTY), reply="已为您更正，请核对。", at=at_day(2026, 3, 23))
    assert ticket.step == "closed" and ticket.resolution == "已为您更正，请核对。"
    assert (
        s.scalar(
            select(func.count())
            .select_from(Clock)
            .where(Clock.ticket_id == ticket.id, Clock.stopped_at.is_(None))
        )
        == 0
    )


def test_forwarding_goes_down_one_level_per_hop_and_each_hop_is_recorded(desk):
    s = desk.session
    ticket = desk.ticket(("1301020001",), receiving="000000", at=at_day(2026, 3, 2))
    assert ticket.step == "forwarding"
    hops = []
    holder = "000000"
    while ticket.step == "forwarding":
        hops.append(wf.forward(s, ticket, actor(holder), calendar=desk.calendar, at=at_day(2026, 3, 3)).code)
        holder = ticket.current_unit_code
    assert hops == [PROVINCE, CITY, COUNTY]
    assert ticket.step == "verify_issue"
    forwarded = s.scalars(
        select(Event.target_unit_code)
        .where(Event.ticket_id == ticket.id, Event.kind == "forwarded")
        .order_by(Event.id)
    ).all()
    assert forwarded == hops
    # The 3-day clock starts when the ticket reaches the responsible unit.
    assert clock_of(desk, ticket, "verify_issue").start_day == datetime.date(2026, 3, 3)


def test_a_caller_may_be_given_the_lower_units_hotline_instead(desk):
    s = desk.session
    ticket = desk.ticket(("1301020001",), receiving=PROVINCE, channel="phone")
    text = wf.refer_caller(s, ticket, actor(PROVINCE))
    assert ticket.step == "closed" and "提供" in text
    assert s.scalars(select(Event.kind).where(Event.ticket_id == ticket.id)).all()[-1] == "referred"
    mailed = desk.ticket(("1301020001",), receiving=PROVINCE, channel="email", email="a@b.cn")
    with pytest.raises(wf.TicketError):
        wf.refer_caller(s, mailed, actor(PROVINCE))


def test_a_level_dispute_is_ruled_by_the_next_level_up_and_recorded(desk):
    s = desk.session
    ticket = desk.ticket(("1301020001",), receiving=COUNTY, at=at_day(2026, 3, 2))
    wf.dispute(s, ticket, actor(COUNTY), reason="涉及市直属学校", at=at_day(2026, 3, 3))
    with pytest.raises(wf.TicketError):  # the disputing unit cannot rule its own dispute
        wf.rule(s, ticket, actor(COUNTY), responsible_code=CITY, reason="")
    with pytest.raises(wf.TicketError):  # nor can it go on while the dispute waits
        wf.issue_verification(s, ticket, actor(COUNTY), related_units=[COUNTY], facts="x")
    wf.rule(
        s,
        ticket,
        actor(CITY),
        responsible_code=CITY,
        reason="由市局处理",
        calendar=desk.calendar,
        at=at_day(2026, 3, 4),
    )
    assert (ticket.responsible_unit_code, ticket.current_unit_code, ticket.step) == (
        CITY,
        CITY,
        "verify_issue",
    )
    old, new = s.scalars(select(Clock).where(Clock.ticket_id == ticket.id).order_by(Clock.id)).all()
    assert old.stopped_at is not None and old.on_time is None  # not the county's delay
    assert (new.unit_code, new.start_day) == (CITY, datetime.date(2026, 3, 4))
    assert "ruled" in s.scalars(select(Event.kind).where(Event.ticket_id == ticket.id)).all()


def test_the_supervision_form_is_relayed_down_and_up_level_by_level(desk):
    s, cal = desk.session, desk.calendar
    ticket = desk.ticket(("1301020001", "1302030001"), receiving=PROVINCE, at=at_day(2026, 3, 2))
    assert ticket.responsible_unit_code == PROVINCE
    forms = wf.issue_verification(
        s,
        ticket,
        actor(PROVINCE),
        related_units=[COUNTY, "130203"],
        facts="两校学籍冲突",
        calendar=cal,
        at=at_day(2026, 3, 3),
    )
    assert len(forms) == 2 and len({f.number for f in forms}) == 2
    wf.return_verification(s, forms[0], actor(COUNTY), result="甲校", calendar=cal, at=at_day(2026, 3, 4))
    assert ticket.step == "verifying"  # the other is not back yet
    wf.return_verification(s, forms[1], actor("130203"), result="乙校", calendar=cal, at=at_day(2026, 3, 5))
    assert ticket.step == "deciding"
    form = wf.issue_supervision(
        s,
        ticket,
        actor(PROVINCE),
        handling_unit=COUNTY,
        opinion="由甲校保留学籍",
        calendar=cal,
        at=at_day(2026, 3, 6),
    )
    assert form.due_day is None  # it has not reached the handling unit yet
    assert wf.location(s, form) == CITY
    assert clock_of(desk, ticket, "handling") is None
    with pytest.raises(wf.TicketError):  # the county does not hold it yet
        wf.return_supervision(s, form, actor(COUNTY), result="x")
    wf.relay(s, form, actor(CITY), calendar=cal, at=at_day(2026, 3, 9))
    handling = clock_of(desk, ticket, "handling")
    assert (handling.unit_code, handling.start_day, handling.due_day) == (
        COUNTY,
        datetime.date(2026, 3, 9),
        datetime.date(2026, 3, 16),
    )
    wf.return_supervision(s, form, actor(COUNTY), result="已办结", calendar=cal, at=at_day(2026, 3, 12))
    assert wf.location(s, form) == CITY and ticket.step == "handling"
    wf.relay(s, form, actor(CITY), calendar=cal, at=at_day(2026, 3, 13))
    assert wf.location(s, form) == PROVINCE and ticket.step == "confirming"
    moves = s.scalars(
        select(FormMove.direction).where(FormMove.form_id == form.id).order_by(FormMove.id)
    ).all()
    assert moves == ["down", "down", "up", "up"]


def test_a_clock_pauses_only_with_a_reason_and_the_pause_extends_the_deadline(desk):
    s, cal = desk.session, desk.calendar
    ticket = desk.ticket(("1301020001",), receiving=COUNTY, at=at_day(2026, 3, 2))
    with pytest.raises(wf.TicketError):
        wf.pause_clock(s, ticket, actor(COUNTY), reason="  ")
    wf.pause_clock(s, ticket, actor(COUNTY), reason="等待投诉人补充材料", at=at_day(2026, 3, 3))
    with pytest.raises(wf.TicketError):  # a paused step cannot be completed
        wf.issue_verification(
            s, ticket, actor(COUNTY), related_units=[COUNTY], facts="x", at=at_day(2026, 3, 4)
        )
    wf.resume_clock(s, ticket, actor(COUNTY), calendar=cal, at=at_day(2026, 3, 6))
    pause = s.scalars(select(Pause)).one()
    assert (pause.reason, pause.working_days) == ("等待投诉人补充材料", 3)  # 4, 5 and 6 March
    clock = clock_of(desk, ticket, "verify_issue")
    assert (clock.extra_days, clock.due_day) == (3, datetime.date(2026, 3, 10))


def test_a_closed_ticket_can_be_reopened_and_says_so(desk):
    s = desk.session
    ticket = desk.ticket(("1301020001",), receiving=COUNTY, category="lookup")
    wf.close_answered(s, ticket, actor(COUNTY), answer="已告知学籍号")
    wf.reopen(s, ticket, actor(COUNTY), reason="家长反映号码有误", calendar=desk.calendar)
    assert ticket.step == "verify_issue" and ticket.resolution is None
    assert s.scalars(select(Event.kind).where(Event.ticket_id == ticket.id)).all()[-1] == "reopened"


def test_issued_forms_are_immutable_and_corrections_are_new_versions(desk):
    s = desk.session
    ticket = desk.ticket(("1301020001",), receiving=COUNTY)
    [form] = wf.issue_verification(
        s, ticket, actor(COUNTY), related_units=[COUNTY], facts="核实", calendar=desk.calendar
    )
    form.body = "悄悄改掉"
    with pytest.raises(ImmutableRecord):
        s.flush()
    s.rollback()


def test_a_correction_keeps_the_number_and_supersedes_the_old_version(desk):
    s = desk.session
    ticket = desk.ticket(("1301020001",), receiving=COUNTY)
    [form] = wf.issue_verification(
        s, ticket, actor(COUNTY), related_units=[COUNTY], facts="核实", calendar=desk.calendar
    )
    new = wf.correct_form(s, form, actor(COUNTY), body="核实学籍号与身份证号是否一致")
    assert (new.number, new.version, new.supersedes_id) == (form.number, 2, form.id)
    assert form.body == "核实"
    with pytest.raises(wf.TicketError):  # only the current version can be returned
        wf.return_verification(s, form, actor(COUNTY), result="x")
    wf.return_verification(s, new, actor(COUNTY), result="一致", calendar=desk.calendar)
    assert s.get(FormReturn, new.id) is not None and ticket.step == "deciding"


def _at_step(desk, step):
    """A ticket brought to ``step`` by legal transitions (responsible unit: the county)."""
    s, cal = desk.session, desk.calendar
    if step == "triage":
        return desk.ticket((), receiving=COUNTY), None
    if step == "forwarding":
        return desk.ticket(("1301020001",), receiving=CITY), None
    ticket = desk.ticket(("1301020001",), receiving=COUNTY)
    if step == "verify_issue":
        return ticket, None
    [form] = wf.issue_verification(
        s, ticket, actor(COUNTY), related_units=[COUNTY], facts="核实", calendar=cal
    )
    if step == "verifying":
        return ticket, form
    wf.return_verification(s, form, actor(COUNTY), result="属实", calendar=cal)
    if step == "deciding":
        return ticket, form
    sup = wf.issue_supervision(s, ticket, actor(COUNTY), handling_unit=COUNTY, opinion="办理", calendar=cal)
    if step == "handling":
        return ticket, sup
    wf.return_supervision(s, sup, actor(COUNTY), result="已办", calendar=cal)
    if step == "confirming":
        return ticket, sup
    wf.confirm_and_close(s, ticket, actor(COUNTY), reply="已办结")
    return ticket, sup


ACTIONS = {
    "assign": (("triage",), lambda s, t, f, u: wf.assign(s, t, actor(u), school_codes=["1301020001"])),
    "forward": (("forwarding",), lambda s, t, f, u: wf.forward(s, t, actor(u))),
    "issue_verification": (
        ("verify_issue",),
        lambda s, t, f, u: wf.issue_verification(s, t, actor(u), related_units=[COUNTY], facts="核实"),
    ),
    "close_answered": (
        ("verify_issue",),
        lambda s, t, f, u: wf.close_answered(s, t, actor(u), answer="答复"),
    ),
    "issue_supervision": (
        ("deciding",),
        lambda s, t, f, u: wf.issue_supervision(s, t, actor(u), handling_unit=COUNTY, opinion="办理"),
    ),
    "confirm_and_close": (
        ("confirming",),
        lambda s, t, f, u: wf.confirm_and_close(s, t, actor(u), reply="好"),
    ),
    "reopen": (("closed",), lambda s, t, f, u: wf.reopen(s, t, actor(u), reason="再查")),
}
STEPS = ("triage", "forwarding", "verify_issue", "verifying", "deciding", "handling", "confirming", "closed")


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_out_of_order_transition_is_refused_with_the_reason_and_changes_nothing(desk, step, action):
    allowed, perform = ACTIONS[action]
    if step in allowed:
        pytest.skip("a legal transition")
    ticket, form = _at_step(desk, step)
    desk.session.flush()
    before = (
        ticket.step,
        desk.session.scalar(select(func.count()).select_from(Event)),
        desk.session.scalar(select(func.count()).select_from(Clock)),
    )
    with pytest.raises(wf.TicketError) as refused:
        perform(desk.session, ticket, form, ticket.current_unit_code)
    assert "环节" in refused.value.message
    after = (
        ticket.step,
        desk.session.scalar(select(func.count()).select_from(Event)),
        desk.session.scalar(select(func.count()).select_from(Clock)),
    )
    assert after == before


@pytest.mark.parametrize("step", ["verify_issue", "deciding", "confirming"])
def test_another_unit_cannot_act_for_the_responsible_unit(desk, step):
    ticket, _ = _at_step(desk, step)
    with pytest.raises(wf.TicketError) as refused:
        {
            "verify_issue": lambda: wf.close_answered(desk.session, ticket, actor(OTHER_COUNTY), answer="x"),
            "deciding": lambda: wf.issue_supervision(
                desk.session, ticket, actor(OTHER_COUNTY), handling_unit=COUNTY, opinion="x"
            ),
            "confirming": lambda: wf.confirm_and_close(desk.session, ticket, actor(OTHER_COUNTY), reply="x"),
        }[step]()
    assert OTHER_COUNTY in refused.value.message


def test_a_form_cannot_be_returned_twice(desk):
    ticket, form = _at_step(desk, "deciding")
    with pytest.raises(wf.TicketError):
        wf.return_verification(desk.session, form, actor(COUNTY), result="再次")
    assert (
        desk.session.scalar(select(func.count()).select_from(FormReturn).where(FormReturn.form_id == form.id))
        == 1
    )


def test_supervision_goes_only_to_the_responsible_unit_or_below(desk):
    ticket, _ = _at_step(desk, "deciding")
    with pytest.raises(wf.TicketError):
        wf.issue_supervision(desk.session, ticket, actor(COUNTY), handling_unit=CITY, opinion="x")
    assert desk.session.get(Ticket, ticket.id).step == "deciding"
