"""Issue 4: after 1 November a missing schedule for next year is a warning administrators see."""

from __future__ import annotations

import datetime

from hotline import db
from hotline.calendar import WorkCalendar, today_in_shanghai
from tests.hotline.console.conftest import COUNTY, MINISTRY


def test_the_missing_schedule_warning_is_shown_to_administrators_only(app, client, make_user, login):
    with app.app_context():
        expected = WorkCalendar.from_session(db.session()).schedule_warning(today_in_shanghai())
    make_user("admin1", MINISTRY, "admin")
    make_user("agent1", COUNTY, "agent")
    admin_page = login(client, "admin1").get("/console/").get_data(as_text=True)
    if expected is not None:
        assert expected in admin_page and "xueji calendar load" in expected
    agent_client = app.test_client()
    agent_page = login(agent_client, "agent1").get("/console/").get_data(as_text=True)
    assert "xueji calendar load" not in agent_page


def test_the_warning_names_next_year_from_november_when_it_is_not_loaded():
    calendar = WorkCalendar(builtin=range(2004, 2027))
    assert "2027" in calendar.schedule_warning(datetime.date(2026, 11, 1))
    assert calendar.schedule_warning(datetime.date(2026, 10, 31)) is None
