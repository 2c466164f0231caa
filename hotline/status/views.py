"""Handlers of the status page: the form, and the answer to it."""

from __future__ import annotations

import datetime

from flask import abort, render_template, request

from hotline.status.limits import asked, limited, perform
from hotline.status.query import NOT_FOUND
from hotline.tickets.clocks import SHANGHAI

_WEEKDAYS = "一二三四五六日"


def when(at: datetime.datetime) -> str:
    """A timestamp as people read it, in Beijing time.

    >>> when(datetime.datetime(2026, 3, 2, 2, 5, tzinfo=datetime.UTC))
    '2026年3月2日 10:05'
    """
    local = at.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def day(value: datetime.date) -> str:
    """
    >>> day(datetime.date(2026, 3, 5))
    '2026年3月5日（星期四）'
    """
    return f"{value.year}年{value.month}月{value.day}日（星期{_WEEKDAYS[value.weekday()]}）"


def form() -> str:
    # A link in an acknowledgement may carry the number: /status?number=2026-000123.
    values = {"number": request.args.get("number", "")[:64]}
    return render_template("status/index.html", values=values, error=None)


@limited("POST")
def answer():
    current = asked()
    if current.error is not None:
        if current.error.field == "body":
            abort(413 if current.error.code == "too_large" else 400)
        # What was typed goes back into the form only when it must be corrected.
        values = {key: request.form.get(key, "")[:64] for key in ("number", "contact")}
        return render_template("status/index.html", values=values, error=current.error), 400
    status = perform(current)
    if status is None:
        # Nothing of the request is in this page: byte for byte the same for every miss.
        return render_template("status/not_found.html", message=NOT_FOUND)
    return render_template("status/result.html", status=status, when=when, day=day)
