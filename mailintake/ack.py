"""The acknowledgement (受理回执) of a new ticket, and what a bounce of our mail means.

Issue 6 item 5. The acknowledgement is a row of ``outgoing_mail`` (kind
``ack``) queued in the transaction that created the ticket; the sender
(``xueji mail send``) sends it with the headers of :func:`sent_headers`:
``Auto-Submitted: auto-replied`` (RFC 3834, so that well-behaved
autoresponders stay silent) and our loop header (so that our own mail coming
back is recognised as a loop). Its Message-ID is ours, so the complainant's
answer threads by header; its subject carries the ticket's tag.

Acknowledgements are limited per sender (``XUEJI_MAIL_ACK_PER_HOUR``),
counted in ``received_mail`` by the sender's keyed hash, so that the limit
holds across workers and restarts. Under concurrent workers two messages of
one sender may both pass at the last free place: the limit is exceeded by
at most one per extra worker, never without bound.
"""

from __future__ import annotations

import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from hotline import routing
from hotline.tickets.inbox import ReceivedMail
from hotline.tickets.intake import Actor, log
from hotline.tickets.models import Ticket
from hotline.tickets.outbox import (
    FOOTER,
    MAX_REFERENCES,
    OutgoingMail,
    new_message_id,
    one_line,
    reply_address,
    subject_tag,
)
from mailintake.classify import BounceInfo, subject_with_tag
from mailintake.config import LOOP_HEADER, MailConfig
from mailintake.parsing import Parsed
from mailintake.redact import redact

SYSTEM = "邮件受理"
BODY = """您好：

我们已收到您的来信，工单编号为 {number}，由 {unit} 受理。

您可以在学籍技术服务中心网站的“工单查询”页面，凭工单编号和您的电子邮箱地址查询办理进度。
本邮件由系统自动发送。"""


def sent_headers(kind: str, mailbox: str) -> dict[str, str]:
    """The headers the sender adds to a queued message of ``kind`` ("ack" or "reply").

    >>> sent_headers("ack", "66119801@moe.edu.cn")["Auto-Submitted"]
    'auto-replied'
    >>> sorted(sent_headers("reply", "66119801@moe.edu.cn"))
    ['X-Xueji-Loop']
    """
    headers = {LOOP_HEADER: mailbox}
    if kind == "ack":
        # RFC 3834 section 5; Exchange honours the second one.
        headers.update({"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"})
    return headers


# Built once (every new ticket runs it): making a statement costs more than running it.
_ACKS_SINCE = (select(func.count()).select_from(ReceivedMail)
               .where(ReceivedMail.sender_hash == bindparam("sender"), ReceivedMail.acked,
                      ReceivedMail.processed_at > bindparam("since", type_=ReceivedMail.processed_at.type)))


def acks_last_hour(session: Session, sender_hash: str, at: datetime.datetime) -> int:
    # No autoflush: what is pending (the new ticket's timeline) does not
    # change the count, and is flushed with the rest of the message's rows.
    with session.no_autoflush:
        return session.scalar(_ACKS_SINCE, {"sender": sender_hash, "since": at - datetime.timedelta(hours=1)})


def queue_ack(session: Session, ticket: Ticket, parsed: Parsed, config: MailConfig, *, to_addr: str,
              sender_hash: str, at: datetime.datetime) -> tuple[OutgoingMail | None, str | None]:
    """Queue the acknowledgement of a new ticket, unless the sender had enough of them.

    Returns the queued mail (None when limited) and a remark for the received mail's row.
    """
    if config.ack_per_hour == 0:
        return None, "未启用受理回执（XUEJI_MAIL_ACK_PER_HOUR=0）"
    if acks_last_hour(session, sender_hash, at) >= config.ack_per_hour:
        return None, f"该发件人一小时内已收到 {config.ack_per_hour} 封受理回执，本次未再发送"
    number = ticket.number
    unit = routing.find_unit(session, ticket.responsible_unit_code or ticket.current_unit_code)
    tag = subject_tag(number)
    references = [*parsed.references, *([parsed.message_id] if parsed.message_id else [])]
    if len(references) > MAX_REFERENCES:
        references = [references[0], *references[-(MAX_REFERENCES - 1):]]
    subject = subject_with_tag(f"已收到您的来信：{redact(parsed.subject) or '（无主题）'}", number)
    mail = OutgoingMail(
        ticket_id=ticket.id,
        kind="ack",
        to_addr=to_addr,
        # The parent's subject is theirs to write: one line, no header injection.
        subject=one_line(subject, 255),
        body_text=BODY.format(number=number, unit=unit.name if unit else "学籍技术服务中心")
        + FOOTER.format(tag=tag),
        message_id=new_message_id(number, 1, config.mail_from.rpartition("@")[2] or "localhost"),
        in_reply_to=parsed.message_id,
        references=" ".join(references) or None,
        reply_to=reply_address(number),
        status="queued",
        attempts=0,
        next_attempt_at=at,
        created_at=at,
    )
    session.add(mail)
    log(session, ticket, Actor(SYSTEM, ticket.current_unit_code), "acknowledged",
        "已向投诉人发送受理回执邮件", at=at)
    return mail, None


def record_bounce(session: Session, info: BounceInfo, *, at: datetime.datetime) -> tuple[Ticket | None, str]:
    """Find the mail of ours that bounced; a permanent failure is noted on its ticket.

    Returns the ticket (when the bounce is of our mail) and a remark for the row.
    """
    if info.original_message_id is None:
        return None, "退信未注明原邮件"
    sent = session.execute(select(OutgoingMail.ticket_id, OutgoingMail.kind)
                           .where(OutgoingMail.message_id == info.original_message_id)).first()
    if sent is None:
        return None, "退信的原邮件不是本系统发出的"
    ticket = session.get(Ticket, sent.ticket_id)
    what = "受理回执" if sent.kind == "ack" else "答复"
    if not info.permanent:
        return ticket, f"发给投诉人的{what}邮件暂时无法投递（对方服务器会重试）"
    # The address is not repeated on the timeline: the complainant's row has it.
    log(session, ticket, Actor(SYSTEM, ticket.current_unit_code), "undeliverable",
        f"发给投诉人的{what}邮件被退回（永久性失败），该电子邮箱无法投递，请改用电话联系", at=at)
    return ticket, f"发给投诉人的{what}邮件被退回（永久性失败），已在工单上注明"
