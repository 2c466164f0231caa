"""``xueji mail requeue``: failed outgoing mail back into the queue, once its cause is fixed.

A row is ``failed`` after a 5xx or after the last of the sender's attempts;
most often the cause was the relay (down for a day, a wrong password, a
certificate that did not verify), and after the operator fixes it the mail
should still go out. Requeueing makes the row ``queued`` and due now, with
``attempts`` back at 0 so that the sender's whole retry schedule applies
again; the history is not lost: the attempts made so far are noted on the
ticket's timeline (where the failure was noted too) and ``last_error`` keeps
the last refusal until the next attempt. Only ``failed`` rows are taken: any
other named row refuses the whole command, which then changes nothing.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.tickets.intake import Actor, log
from hotline.tickets.models import Ticket
from hotline.tickets.outbox import OutgoingMail

OPERATOR = "运维人员（xueji mail requeue）"
STATUS_TEXT = {"queued": "等待发送", "sending": "正在发送", "sent": "已发送", "failed": "发送失败"}
KIND_TEXT = {"ack": "受理回执", "reply": "答复"}


class RequeueError(Exception):
    """The command cannot be done as asked: one line for the operator; nothing was changed."""


@dataclass(frozen=True)
class Requeued:
    """One row put back (or, in a dry run, that would be)."""

    id: int
    ticket: str
    kind: str
    to_addr: str
    attempts: int


def refusal(mail_id: int, status: str) -> str:
    """Why a row that is not failed stays as it is.

    >>> refusal(12, "sent")
    '发件 12 的状态是“已发送”，只有“发送失败”的邮件可以重新排队；未作任何改动'
    """
    return (f"发件 {mail_id} 的状态是“{STATUS_TEXT.get(status, status)}”，"
            "只有“发送失败”的邮件可以重新排队；未作任何改动")


def requeue(session: Session, ids: Sequence[int] | None, *, at: datetime.datetime,
            dry_run: bool = False) -> list[Requeued]:
    """Requeue the failed rows ``ids`` (None: every failed row); committed unless ``dry_run``.

    Raises :class:`RequeueError` (and changes nothing) when a named row does
    not exist or is not failed.
    """
    query = (select(OutgoingMail, Ticket).join(Ticket, Ticket.id == OutgoingMail.ticket_id)
             .order_by(OutgoingMail.id)
             # Locked until the commit: a row cannot change status between the check and the update.
             .with_for_update(of=OutgoingMail))
    wanted = list(dict.fromkeys(ids)) if ids is not None else None
    if wanted is None:
        query = query.where(OutgoingMail.status == "failed")
    else:
        query = query.where(OutgoingMail.id.in_(wanted))
    rows = session.execute(query).all()
    try:
        if wanted is not None:
            found = {mail.id for mail, _ in rows}
            missing = [str(mail_id) for mail_id in wanted if mail_id not in found]
            if missing:
                raise RequeueError(f"没有编号为 {'、'.join(missing)} 的发件；未作任何改动")
            for mail, _ in rows:
                if mail.status != "failed":
                    raise RequeueError(refusal(mail.id, mail.status))
        done = []
        for mail, ticket in rows:
            done.append(Requeued(mail.id, ticket.number, mail.kind, mail.to_addr, mail.attempts))
            if dry_run:
                continue
            log(session, ticket, Actor(OPERATOR, ticket.current_unit_code), "mail_requeued",
                f"发给投诉人的{KIND_TEXT.get(mail.kind, '')}邮件（此前 {mail.attempts} 次尝试未发出）"
                "已重新排入发送队列", at=at)
            mail.status, mail.attempts, mail.next_attempt_at = "queued", 0, at
    except BaseException:
        session.rollback()
        raise
    if dry_run:
        session.rollback()
    else:
        session.commit()
    return done
