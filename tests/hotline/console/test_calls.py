"""Logging a call: the preview shows where the matter goes (2014 notice items 1-2) before
anything is saved, and saving creates exactly the ticket that was previewed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from hotline import db
from hotline.console.calls import CHANGED, NOT_OFFERED
from hotline.tickets.models import Complainant, Event, Form
from lookup.models import School
from tests.hotline.console.calls_support import (
    CHANGAN,
    CHANGAN_2,
    CHAOYANG,
    CITY_PHONE,
    COUNTY_EMAIL,
    COUNTY_PHONE,
    LUBEI,
    QIAOXI,
    call,
    install,
    preview_then_save,
    previewed,
    send,
    ticket_count,
    tickets,
)
from tests.hotline.console.conftest import CITY, COUNTY, MINISTRY, OTHER_COUNTY, PROVINCE, log_in


@pytest.fixture
def registry(session, write_csv):
    return install(session, write_csv)


@pytest.fixture
def agent_of(client, make_user, registry):
    """``agent_of(unit)``: the client, logged in as a hotline agent of ``unit``."""
    def login_as(unit: str, role: str = "agent"):
        make_user(f"{role}{unit}", unit, role, name="坐席甲")
        return log_in(client, f"{role}{unit}")
    return login_as


def flashes(client) -> list[tuple[str, str]]:
    with client.session_transaction() as state:
        return list(state.get("_flashes", []))


def test_the_form_opens_on_its_first_field_with_preview_as_its_only_button(agent_of):
    page = agent_of(COUNTY).get("/console/calls/new").get_data(as_text=True)
    assert re.search(r'<input[^>]*autofocus[^>]*id="caller_name"', page)
    assert 'value="preview"' in page and 'value="save"' not in page
    assert 'accesskey="p"' in page


# (case, receiving unit, schools, responsible unit, how it moves, what the agent says)
PREVIEWS = [
    ("one school, our own", COUNTY, CHANGAN, COUNTY, "same",
     "您反映的问题由我们（"),
    ("two schools of one county", COUNTY, f"{CHANGAN}，{CHANGAN_2}", COUNTY, "same",
     "您反映的问题由我们（"),
    ("two counties of one prefecture: a higher unit", COUNTY, f"{CHANGAN} {QIAOXI}", CITY, "higher",
     "您反映的问题涉及多个县区，按规定由地市级教育行政部门处理，我们已为您转交。"),
    ("two prefectures of one province: a higher unit", COUNTY, f"{CHANGAN},{LUBEI}", PROVINCE, "higher",
     "您反映的问题涉及多个地市，按规定由省级教育行政部门处理，我们已为您转交。"),
    ("a school of another county: another branch", COUNTY, QIAOXI, OTHER_COUNTY, "elsewhere",
     "您反映的问题涉及的学校由"),
    ("a school of a county below: a lower unit", CITY, CHANGAN, COUNTY, "lower",
     f"您可以直接联系长安区教育局：电话 {COUNTY_PHONE}，邮箱 {COUNTY_EMAIL}"),
    ("no school: triage", COUNTY, "", COUNTY, "triage",
     "您反映的问题我们已经记录，将尽快确定负责处理的单位并转交办理。"),
]


@pytest.mark.parametrize(("case", "unit", "schools", "responsible", "kind", "say"), PREVIEWS,
                         ids=[p[0] for p in PREVIEWS])
def test_the_preview_shows_the_routing_decision_before_saving(agent_of, app, case, unit, schools,
                                                              responsible, kind, say):
    response = send(agent_of(unit), call(schools=schools))
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert f"preview-{kind}" in page
    assert re.search(rf'id="preview-unit">[^<]+</strong>（{responsible}）', page)
    assert say in page
    assert 'id="preview-trace"' in page and "教基一厅函〔2014〕50号" in page
    assert ticket_count(app) == 0, "a preview saves nothing"


def test_the_unit_name_in_the_preview_is_the_responsible_one(agent_of):
    page = send(agent_of(CITY), call(schools=CHANGAN)).get_data(as_text=True)
    assert "长安区" in re.search(r'id="preview-unit">([^<]+)<', page).group(1)


def test_a_lower_unit_shows_its_published_hotline_and_email_to_read_out(agent_of):
    page = send(agent_of(CITY), call(schools=CHANGAN)).get_data(as_text=True)
    assert f'id="readout-phone">{COUNTY_PHONE}<' in page
    assert f'id="readout-email">{COUNTY_EMAIL}<' in page
    assert 'name="refer"' in page, "告知下级热线 is offered"


def test_a_lower_unit_that_published_nothing_below_us_is_forwarded_without_a_hotline(agent_of):
    # 唐山 and 路北区 published nothing; the nearest channel is the ministry's, above the province.
    page = send(agent_of(PROVINCE), call(schools=LUBEI)).get_data(as_text=True)
    assert "preview-lower" in page
    assert 'id="preview-readout"' not in page and 'name="refer"' not in page
    assert "我们已为您登记，将逐级转交该单位办理" in page


def test_a_cross_province_matter_notes_the_report_form_to_the_ministry(agent_of):
    page = send(agent_of(COUNTY), call(schools=f"{CHANGAN} {CHAOYANG}")).get_data(as_text=True)
    assert "您反映的问题涉及多个省份，按规定由国务院教育行政部门（教育部）处理，我们已为您转交。" in page
    assert 'id="preview-report"' in page and "跨省业务" in page


def test_the_ministry_files_no_report_form_to_itself(agent_of):
    page = send(agent_of(MINISTRY), call(schools=f"{CHANGAN} {CHAOYANG}")).get_data(as_text=True)
    assert "preview-same" in page and 'id="preview-report"' not in page


def test_a_fault_of_the_system_itself_notes_the_report_form(agent_of):
    page = send(agent_of(COUNTY), call(category="system_fault")).get_data(as_text=True)
    assert "属系统运行中存在的问题" in page


def test_saving_creates_exactly_one_ticket_with_the_previewed_routing(agent_of, app):
    client = agent_of(CITY)
    response = preview_then_save(client, call(schools=CHANGAN))
    assert response.status_code == 302
    [ticket] = tickets(app)
    assert response.headers["Location"] == f"/console/tickets/{ticket.number}"
    assert (ticket.channel, ticket.receiving_unit_code) == ("phone", CITY)
    assert ticket.responsible_unit_code == COUNTY
    assert (ticket.routing_rule, ticket.step, ticket.category) == ("one_school", "forwarding", "complaint")
    assert ("ticket", f"已受理，工单号 {ticket.number}") in flashes(client)
    with app.app_context():
        actors = db.session().scalars(select(Event.actor).where(Event.ticket_id == ticket.id)).all()
        caller = db.session().scalars(select(Complainant).where(Complainant.ticket_id == ticket.id)).one()
        assert (caller.name, caller.relation, caller.phone) == ("刘桂芳", "家长", "13912345678")
    assert set(actors) == {"坐席甲"}, "the timeline names the agent"


def test_the_saved_flash_is_set_large_enough_to_read_out(agent_of):
    client = agent_of(COUNTY)
    preview_then_save(client, call())
    page = client.get("/console/schools/search").get_data(as_text=True)  # any page shows the flash
    assert re.search(r'class="flash flash-ticket"[^>]*>已受理，工单号 \d{4}-\d{6}<', page)


def test_the_preview_page_makes_save_the_default_button_with_one_key(agent_of):
    page = send(agent_of(COUNTY), call()).get_data(as_text=True)
    buttons = re.findall(r'<button type="submit" name="action" value="(\w+)"', page)
    assert buttons[0] == "save", "Enter in a field submits the first submit button: save"
    assert re.search(r'value="save" accesskey="s"', page)
    assert re.search(r'autofocus[^>]*id="caller_name"', page)


def test_saving_without_a_preview_previews_first(agent_of, app):
    response = send(agent_of(COUNTY), call(), action="save")
    assert response.status_code == 200 and 'id="preview"' in response.get_data(as_text=True)
    assert CHANGED in response.get_data(as_text=True)
    assert ticket_count(app) == 0


@pytest.mark.parametrize("change", [
    {"subject": "另一个事由"},
    {"schools": QIAOXI},
    {"phone": "13800000000"},
    {"category": "transfer"},
    {"students-0-name": "王小明"},
])
def test_data_changed_after_the_preview_forces_a_new_preview(agent_of, app, change):
    client = agent_of(COUNTY)
    first = send(client, call())
    response = send(client, {**call(**change), "previewed": previewed(first)}, action="save")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and CHANGED in page and 'id="preview"' in page
    assert ticket_count(app) == 0
    assert previewed(response) != previewed(first)
    again = send(client, {**call(**change), "previewed": previewed(response)}, action="save")
    assert again.status_code == 302
    assert ticket_count(app) == 1


def test_a_routing_change_between_preview_and_save_forces_a_new_preview(agent_of, app, session):
    client = agent_of(COUNTY)
    first = send(client, call())
    session.get(School, CHANGAN).authority_code = CITY  # the school became 市直属 meanwhile
    session.commit()
    response = send(client, {**call(), "previewed": previewed(first)}, action="save")
    assert CHANGED in response.get_data(as_text=True) and "preview-higher" in response.get_data(as_text=True)
    assert ticket_count(app) == 0


def test_unknown_school_codes_are_named_next_to_the_field(agent_of, app):
    response = send(agent_of(COUNTY), call(schools=f"{CHANGAN}, 9999000001，9999000002"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert re.search(r'id="schools-error">[^<]*未知的学校标识码：9999000001、9999000002', page)
    assert 'id="preview"' not in page and ticket_count(app) == 0


def test_a_school_named_rather_than_coded_is_resolved_to_its_code(agent_of):
    page = send(agent_of(COUNTY), call(schools="路北区第一小学")).get_data(as_text=True)
    assert 'id="preview-unit">路北区教育局<' in page
    assert re.search(rf'id="schools"[^>]*value="{LUBEI}"|value="{LUBEI}"[^>]*id="schools"', page)


def test_a_name_meaning_several_schools_lists_them_to_choose_from(agent_of, app):
    response = send(agent_of(COUNTY), call(schools="实验小学"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "“实验小学”对应多所学校" in page
    candidates = page[page.index('id="school-candidates"'):]
    assert CHANGAN_2 in candidates and QIAOXI in candidates
    assert f'<option value="{QIAOXI}"' in page, "the candidates are suggested in the field's datalist"


def test_the_field_suggests_the_schools_the_agents_unit_runs(agent_of):
    page = agent_of(COUNTY).get("/console/calls/new").get_data(as_text=True)
    assert 'list="school-options"' in page
    assert f'<option value="{CHANGAN}" label="长安区第一小学' in page and f'value="{LUBEI}"' not in page


def test_referring_the_caller_to_the_lower_hotline_closes_the_ticket(agent_of, app):
    client = agent_of(CITY)
    response = preview_then_save(client, call(schools=CHANGAN), refer="y")
    assert response.status_code == 302
    [ticket] = tickets(app)
    assert ticket.step == "closed" and COUNTY_PHONE in ticket.resolution
    with app.app_context():
        kinds = db.session().scalars(select(Event.kind).where(Event.ticket_id == ticket.id)).all()
    assert "referred" in kinds
    assert any("工单已办结" in message for _, message in flashes(client))


def test_referral_is_refused_where_it_was_not_offered(agent_of, app):
    client = agent_of(COUNTY)  # our own school: nothing to refer to
    response = preview_then_save(client, call(), refer="y")
    assert response.status_code == 200 and NOT_OFFERED in response.get_data(as_text=True)
    assert ticket_count(app) == 0


def test_a_city_phone_is_not_read_out_for_a_county_matter_of_a_city_agent(agent_of):
    # 石家庄's own number would bring the caller back to the agent's unit.
    page = send(agent_of(CITY), call(schools=CHANGAN)).get_data(as_text=True)
    assert CITY_PHONE not in page


def test_a_report_form_is_filed_on_saving_a_cross_province_call(agent_of, app):
    preview_then_save(agent_of(COUNTY), call(schools=f"{CHANGAN} {CHAOYANG}"))
    [ticket] = tickets(app)
    with app.app_context():
        kinds = db.session().scalars(select(Form.kind).where(Form.ticket_id == ticket.id)).all()
    assert ticket.cross_province and kinds == ["report"]
