"""The work queue (/console/queue): the tickets of the user's jurisdiction, most urgent first.

A GET form, so that a filtered queue is a URL to bookmark or hand to a
colleague; every role sees the queue of its own unit and the units below it
(``hotline.console.queue_query``). The console's home page shows it too.
"""

from __future__ import annotations

import datetime

from flask import current_app, render_template, request, url_for

from hotline import db
from hotline.calendar import CalendarError
from hotline.console.access import current_user, login_required
from hotline.console.blueprint import bp
from hotline.console.queue_query import PAGE_SIZE, SOON_DAYS, checked, queue
from hotline.console.ticket_forms import STATUS_TEXT, QueueFilter
from hotline.tickets.steps import STEP_TEXT


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def queue_page() -> tuple[str, int]:
    """The queue as the query string asks for it (also the console's home page)."""
    user = current_user()
    assert user is not None  # login_required
    filters, ignored = checked(request.args.to_dict())
    form = QueueFilter(formdata=None, data={**filters.__dict__, "q": filters.q})
    session = db.session()
    try:
        result = queue(session, user, filters, now=now())
    except CalendarError as exc:
        # Today's "due soon" needs this year's calendar; say so rather than fail.
        return render_template("console/error.html", code=503, title="工作日历不完整", message=str(exc)), 503
    args = {name: value for name, value in request.args.items() if name != "page"}

    def page_url(number: int) -> str:
        return url_for("console.queue", **args, page=number)

    return render_template("console/queue.html", form=form, result=result, filters=filters, ignored=ignored,
                           page_url=page_url, page_size=PAGE_SIZE, soon_days=SOON_DAYS,
                           step_text=STEP_TEXT, status_text=STATUS_TEXT,
                           endpoints=current_app.view_functions.keys()), 200


@bp.get("/queue", endpoint="queue")
@login_required
def queue_view() -> tuple[str, int]:
    return queue_page()
