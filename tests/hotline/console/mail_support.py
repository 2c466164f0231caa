"""Quarantined mail for the console's tests, made by the real mail pipeline.

``quarantined(app, raw)`` takes ``raw`` through ``xueji mail ingest``'s
path (kept in the app's mail store, then the pipeline) with a size limit
just below the message's size, so it is quarantined as ``too_large``;
``limit=None`` keeps the normal limits (for mail quarantined for another
reason, e.g. one without a sender). ``mailbox_unit(app, code)`` makes
``code`` the unit whose mailbox this is.
"""

from __future__ import annotations

import dataclasses
import datetime
import email.utils
from email import policy
from email.message import EmailMessage

from flask import Flask

from hotline import db
from mailintake.config import MailConfig
from mailintake.parsing import Limits
from mailintake.spool import Spool
from mailintake.worker import ingest

MAILBOX = "66119801@moe.edu.cn"


def message(body: str = "老师您好，孩子的学籍有问题。", *, subject: str = "学籍问题",
            sender: str | None = "家长 <zhangsan@qq.com>", html: str | None = None) -> bytes:
    mail = EmailMessage()
    if sender is not None:
        mail["From"] = sender
    mail["To"] = MAILBOX
    mail["Subject"] = subject
    mail["Date"] = email.utils.format_datetime(datetime.datetime(2026, 11, 20, 9, 30, tzinfo=datetime.UTC))
    mail["Message-ID"] = email.utils.make_msgid(domain="qq.com")
    mail.set_content(body)
    if html is not None:
        mail.add_alternative(html, subtype="html")
    return mail.as_bytes(policy=policy.SMTP)


def mailbox_unit(app: Flask, code: str) -> None:
    app.config["XUEJI"] = dataclasses.replace(app.config["XUEJI"], mail_receiving_unit=code)


def quarantined(app: Flask, raw: bytes, *, limit: bool = True) -> int:
    """The id of the quarantined ``received_mail`` row of ``raw`` (committed to the test's savepoint)."""
    with app.app_context():
        config = MailConfig.from_app(app)
        if limit:
            config.limits = Limits(max_bytes=len(raw) - 1)
        outcome = ingest(db.session(), Spool(config.store), raw, config)
        assert outcome.outcome == "quarantine", outcome
        return outcome.record_id
