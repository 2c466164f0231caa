"""Quarantined mail (隔离邮件, /console/mail/quarantine): what the mail pipeline refused, and its replay.

Issue 6 item 8: what cannot be parsed or is over the limits is kept raw with
the reason, shown here, and can be replayed after a fix. The page lists the
``quarantine`` view (hotline.tickets.inbox.waiting_clause), newest first,
with counts by reason; a row opens on its headers and text (read from the
raw file by hotline.console.mail_text: bounded, masked, never rendered).

Who: quarantined mail was never routed, so it belongs to the mailbox's unit
(``XUEJI_MAIL_RECEIVING_UNIT``); agents, supervisors and administrators of
that unit or of a unit above it see it, as they would its triage queue.
Anyone else gets 404 (another unit's mailbox is not confirmed to exist),
handlers 403. The raw message holds everything in clear, so only the people
who act on it — agents, and administrators who fix what made it fail —
download it or ask for its replay. Every list, detail and download is
recorded in ``access_audit`` (never the mail itself).

Replay: hotline never imports the mail worker. The button records the
request on the row; the worker's next pass (mailintake.worker.replay)
stores a copy of the raw message into the store's ``new/`` and the normal
pipeline takes it from there, so the replay's outcome is a row like any
other and the quarantined row leaves the view (``replayed_by``).
"""

from __future__ import annotations

import logging
import shlex
from pathlib import Path

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import and_, case, func, select, update
from sqlalchemy.orm import Session, aliased

from hotline import db
from hotline.config import mail_store_path
from hotline.console import mail_text
from hotline.console.access import audit_view, current_user, role_required, scope_codes
from hotline.console.accounts import now
from hotline.console.blueprint import bp
from hotline.console.models import User
from hotline.tickets.inbox import (
    OUTCOME_TEXT,
    QUARANTINE_REASONS,
    ReceivedMail,
    raw_file,
    reason_kind,
    replay_pending_clause,
    waiting_clause,
)
from hotline.tickets.models import Ticket
from lookup.models import Unit

log = logging.getLogger(__name__)

VIEW_ROLES = ("agent", "supervisor", "admin")
RAW_ROLES = ("agent", "admin")  # download the raw message, ask for a replay
PAGE_SIZE = 50
KIND_TEXT = {**QUARANTINE_REASONS, "other": "其他"}
SOURCE_TEXT = {"spool": "邮件存储（SMTP 收信或导入）", "imap": "IMAP 邮箱"}
Copy = aliased(ReceivedMail)  # the row of a replay's copy


def _kind_expr():  # the reason's kind, in SQL (see hotline.tickets.inbox.reason_kind)
    whens = [(ReceivedMail.reason.startswith(f"{kind}：", autoescape=True), kind)
             for kind in QUARANTINE_REASONS]
    return case(*whens, else_="other")


def size_text(size: int) -> str:
    """
    >>> size_text(812), size_text(52_300), size_text(30 * 1024 * 1024)
    ('812 字节', '51.1 KB', '30.0 MB')
    """
    if size < 1024:
        return f"{size} 字节"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def _reason_text(reason: str | None) -> str:
    """The reason without its kind's code word, which the page shows in Chinese beside it.

    >>> _reason_text("too_large：邮件大小 389 字节，超过上限 388 字节"), _reason_text("别的原因")
    ('邮件大小 389 字节，超过上限 388 字节', '别的原因')
    """
    return (reason or "").partition("：")[2] if reason_kind(reason) != "other" else reason or ""


def _mailbox_unit(session: Session) -> Unit:
    """The mailbox's unit, if the user's jurisdiction holds it; else 404."""
    user = current_user()
    assert user is not None  # role_required
    code = current_app.config["XUEJI"].mail_receiving_unit
    unit = session.get(Unit, code)
    if unit is None or code not in scope_codes(session, user.unit_code):
        abort(404)
    return unit


@bp.context_processor
def _navigation() -> dict[str, object]:
    def visible() -> bool:
        user = current_user()
        if user is None or user.role not in VIEW_ROLES:
            return False
        return current_app.config["XUEJI"].mail_receiving_unit in scope_codes(db.session(), user.unit_code)
    return {"mail_quarantine_visible": visible}


def _store() -> Path:
    return mail_store_path(current_app.config["XUEJI"], current_app.instance_path)


def _file(row: ReceivedMail) -> tuple[Path | None, str]:
    """The row's raw file, or None and why not (in Chinese)."""
    path = raw_file(_store(), row.raw_path)
    if path is None:
        # Only the id: the path came from the database and is not ours to echo into logs.
        log.warning("received_mail %d: raw_path leads out of the mail store; refused", row.id)
        return None, "原始邮件的存放路径超出邮件存储目录，已拒绝读取。"
    if not path.is_file():
        return None, "原始邮件文件不存在（可能已被移走或删除）。"
    return path, ""


def _rows(session: Session, kind: str | None, page: int):
    requester = aliased(User)
    query = (select(ReceivedMail, Copy.outcome, requester.name, requester.username)
             .outerjoin(Copy, and_(Copy.source == "spool", Copy.source_key == ReceivedMail.replay_stored_as))
             .outerjoin(requester, requester.id == ReceivedMail.replay_requested_by)
             .where(waiting_clause())
             .order_by(ReceivedMail.received_at.desc(), ReceivedMail.id.desc())
             .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))
    if kind:
        query = query.where(_kind_expr() == kind)
    return session.execute(query).all()


def counts(session: Session) -> dict[str, int]:
    """Waiting mail per reason kind, most frequent first."""
    kinds = select(_kind_expr().label("kind")).where(waiting_clause()).subquery()
    rows = session.execute(select(kinds.c.kind, func.count()).group_by(kinds.c.kind)).all()
    return dict(sorted(((kind, n) for kind, n in rows), key=lambda item: (-item[1], item[0])))


def _page_number(raw: str | None) -> int:
    """
    >>> _page_number("3"), _page_number("0"), _page_number("²"), _page_number("9" * 40), _page_number(None)
    (3, 1, 1, 1, 1)
    """
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        return 1
    return max(1, int(raw))


@bp.get("/mail/quarantine", endpoint="mail_quarantine")
@role_required(*VIEW_ROLES)
def quarantine_list() -> str:
    session = db.session()
    unit = _mailbox_unit(session)
    kind = request.args.get("kind", "")
    kind = kind if kind in KIND_TEXT else ""
    page, by_kind = _page_number(request.args.get("page")), counts(session)
    total = by_kind.get(kind, 0) if kind else sum(by_kind.values())
    rows = []
    for row, copy_outcome, name, username in _rows(session, kind, page):
        path, problem = _file(row)
        shown = mail_text.summary(path) if path is not None else None
        rows.append({"row": row, "kind": reason_kind(row.reason), "summary": shown, "problem": problem,
                     "copy_outcome": copy_outcome, "requester": name or username})
    audit_view("mail_quarantine", detail=f"page {page}")
    return render_template("console/mail/quarantine.html", unit=unit, rows=rows, counts=by_kind, kind=kind,
                           page=page, pages=max(1, -(-total // PAGE_SIZE)), total=total, kind_text=KIND_TEXT,
                           source_text=SOURCE_TEXT, outcome_text=OUTCOME_TEXT, size_text=size_text,
                           store=_store())


def _quarantined(session: Session, mail_id: int) -> ReceivedMail:
    """A quarantined row (waiting or already replayed) of the user's mailbox; else 404."""
    _mailbox_unit(session)
    row = session.get(ReceivedMail, mail_id)
    if row is None or row.outcome != "quarantine":
        abort(404)
    return row


def _replay_result(session: Session, row: ReceivedMail) -> dict[str, object] | None:
    """What became of the row's replay: the row that superseded it, or the copy's row."""
    copy = None
    if row.replayed_by is not None:
        copy = session.get(ReceivedMail, row.replayed_by)
    elif row.replay_stored_as is not None:
        copy = session.scalar(select(ReceivedMail).where(ReceivedMail.source == "spool",
                                                         ReceivedMail.source_key == row.replay_stored_as))
    if copy is None:
        return None
    number = None
    if copy.ticket_id is not None:
        number = session.scalar(select(Ticket.number).where(Ticket.id == copy.ticket_id))
    return {"row": copy, "ticket": number, "text": OUTCOME_TEXT[copy.outcome]}


@bp.get("/mail/quarantine/<int:mail_id>", endpoint="mail_quarantine_detail")
@role_required(*VIEW_ROLES)
def quarantine_detail(mail_id: int) -> str:
    session = db.session()
    row = _quarantined(session, mail_id)
    path, problem = _file(row)
    shown = None
    if path is not None:
        ours = tuple(address.lower() for address in current_app.config["XUEJI"].mail_addresses)
        try:
            shown = mail_text.detail(path, keep=ours)
        except OSError as error:
            problem = f"原始邮件文件无法读取（{type(error).__name__}）。"
    requester = session.get(User, row.replay_requested_by) if row.replay_requested_by else None
    user = current_user()
    assert user is not None
    audit_view("mail_detail", detail=f"received_mail {row.id}")
    return render_template(
        "console/mail/quarantine_mail.html", row=row, shown=shown, problem=problem,
        kind=reason_kind(row.reason), reason=_reason_text(row.reason),
        kind_text=KIND_TEXT, source_text=SOURCE_TEXT, size_text=size_text, requester=requester,
        pending=row.replay_requested_at is not None and row.replay_stored_as is None and not row.replayed_by,
        result=_replay_result(session, row), may_act=user.role in RAW_ROLES,
        command=f"xueji mail ingest {shlex.quote(str(path))}" if path is not None else None)


@bp.get("/mail/quarantine/<int:mail_id>/raw", endpoint="mail_quarantine_raw")
@role_required(*RAW_ROLES)
def quarantine_raw(mail_id: int) -> Response:
    row = _quarantined(db.session(), mail_id)
    path, _problem = _file(row)
    if path is None:
        abort(404)
    try:
        # Read whole (the store holds messages up to XUEJI_MAIL_MAX_BYTES): no
        # file is left open for a client that goes away mid-download.
        data = path.read_bytes()
    except OSError:
        abort(404)
    audit_view("mail_raw", detail=f"received_mail {row.id}")
    return Response(data, mimetype="message/rfc822", headers={
        "Content-Disposition": f'attachment; filename="received-mail-{row.id}.eml"',
        "X-Content-Type-Options": "nosniff"})


def request_replay(session: Session, row: ReceivedMail, user_id: int) -> str:
    """Record a replay request on a waiting row; returns what to tell the user (flushed, not committed).

    One conditional UPDATE, so that two people pressing the button at once,
    or a worker taking the row meanwhile, leave one request.
    """
    done = session.execute(
        update(ReceivedMail).where(ReceivedMail.id == row.id, waiting_clause(), ~replay_pending_clause())
        .values(replay_requested_at=now(), replay_requested_by=user_id, replay_stored_as=None)
        .execution_options(synchronize_session=False)).rowcount
    session.expire(row)
    if done:
        return "已提交重新处理：邮件处理进程（xueji mail work）将在下一轮把这封邮件重新走一遍处理流程。"
    return "这封邮件已在等待重新处理，无需重复提交。"


@bp.post("/mail/quarantine/<int:mail_id>/replay", endpoint="mail_quarantine_replay")
@role_required(*RAW_ROLES)
def quarantine_replay(mail_id: int) -> Response:
    # The CSRF token was checked by CSRFProtect before the view.
    session = db.session()
    row = _quarantined(session, mail_id)
    refusal = None
    if row.replayed_by is not None:
        refusal = "这封邮件已经重新处理过，处理结果见下方。"
    elif _file(row)[0] is None:
        refusal = "原始邮件无法读取，不能重新处理：请先让运维人员恢复原始邮件文件。"
    if refusal is not None:
        flash(refusal, "error")
        return redirect(url_for("console.mail_quarantine_detail", mail_id=row.id))
    user = current_user()
    assert user is not None
    flash(request_replay(session, row, user.user_id), "info")
    session.commit()
    return redirect(url_for("console.mail_quarantine_detail", mail_id=row.id))

