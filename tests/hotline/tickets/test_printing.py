"""The forms print on A4 with the fields the notices' attachments name; the CLI shows tickets."""

from __future__ import annotations

import json

from hotline.tickets import workflow as wf
from hotline.tickets.printing import render_form
from tests.hotline.tickets.conftest import actor, at_day

COUNTY, CITY, PROVINCE = "130102", "130100", "130000"


def test_a_verification_form_prints_issuer_receiver_facts_deadline_and_the_signed_return(desk):
    s = desk.session
    ticket = desk.ticket(("1301020001",), receiving=COUNTY, at=at_day(2026, 3, 2))
    [form] = wf.issue_verification(
        s,
        ticket,
        actor(COUNTY, "王技术"),
        related_units=[COUNTY],
        facts="核实该生学籍号是否重复",
        calendar=desk.calendar,
        at=at_day(2026, 3, 4),
    )
    blank = render_form(s, form)
    assert "群众投诉中小学生学籍管理问题核查单" in blank and "@page { size: A4" in blank
    for text in (
        form.number,
        ticket.number,
        "核实该生学籍号是否重复",
        "2026年3月11日 24:00 前",
        "王技术",
        "长安区第一小学（1301020001）",
        "核查情况",
    ):
        assert text in blank
    wf.return_verification(
        s,
        form,
        actor(COUNTY, "李管理员"),
        result="确有重复，已合并",
        calendar=desk.calendar,
        at=at_day(2026, 3, 9, 15),
    )
    filled = render_form(s, form)
    assert "确有重复，已合并" in filled and "李管理员" in filled and "2026年03月09日 15:00" in filled
    # Nothing about the complainant goes on a form sent to other units.
    assert "13800138000" not in filled and "138" not in filled.split("<body>")[1].split("签发")[0]


def test_a_supervision_form_prints_its_relay_and_a_correction_marks_the_old_version(desk):
    s, cal = desk.session, desk.calendar
    ticket = desk.ticket(("1301020001",), receiving=PROVINCE, at=at_day(2026, 3, 2))
    while ticket.step == "forwarding":
        wf.forward(s, ticket, actor(ticket.current_unit_code), calendar=cal, at=at_day(2026, 3, 2))
    [check] = wf.issue_verification(
        s, ticket, actor(COUNTY), related_units=[COUNTY], facts="核实", calendar=cal
    )
    wf.return_verification(s, check, actor(COUNTY), result="属实", calendar=cal)
    form = wf.issue_supervision(
        s, ticket, actor(COUNTY), handling_unit=COUNTY, opinion="恢复学籍", calendar=cal
    )
    page = render_form(s, form)
    assert "群众投诉中小学生学籍管理问题督办单" in page and "办理意见" in page and "行政部门核发" in page
    newer = wf.correct_form(s, form, actor(COUNTY), body="恢复学籍并告知家长")
    assert "本表已更正，以第 2 版为准" in render_form(s, form)
    assert "第 2 版，更正第 1 版" in render_form(s, newer)


def test_a_report_form_goes_to_the_ministry(desk):
    ticket = desk.ticket(("1301020001",), receiving=COUNTY, category="system_fault")
    form = wf.latest_forms(desk.session, ticket, "report")[0]
    page = render_form(desk.session, form)
    assert "中小学生学籍管理问题报告单" in page and "教育部" in page and "系统运行中存在的问题" in page


def test_cli_prints_a_form_and_shows_a_ticket(desk, runner, tmp_path):
    ticket = desk.ticket(("1301020001",), receiving=COUNTY, category="system_fault")
    form = wf.latest_forms(desk.session, ticket, "report")[0]
    desk.session.commit()
    out = tmp_path / "form.html"
    result = runner.invoke(args=["ticket", "print-form", form.number, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert form.number in out.read_text(encoding="utf-8")
    shown = runner.invoke(args=["ticket", "show", ticket.number, "--json"])
    assert shown.exit_code == 0, shown.output
    record = json.loads(shown.output)
    assert record["number"] == ticket.number and record["clocks"][0]["due"]
    assert "13800138000" not in shown.output


def test_cli_names_what_it_cannot_find(runner):
    result = runner.invoke(args=["ticket", "print-form", "HC-2026-999999"])
    assert result.exit_code == 1 and "HC-2026-999999" in result.output
    result = runner.invoke(args=["ticket", "show", "2026-999999"])
    assert result.exit_code == 1 and "2026-999999" in result.output
