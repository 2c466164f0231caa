"""Replies join their ticket (issue 6 item 4).

A message belongs to an existing ticket when, in this order:

1. its In-Reply-To or References name one of our own Message-IDs (of the
   acknowledgement or an agent's reply in ``outgoing_mail``), or a message
   of the complainant's we already filed on a ticket. Our Message-IDs hold
   random bits, so naming one is proof enough;
2. it was sent to the ticket's signed reply address
   (``66119801+t2026-000123.<HMAC>@…``) and the HMAC is right; an address
   whose HMAC is wrong is ignored and noted (someone altered it);
3. its subject carries the ticket's tag (``[学籍工单 2026-000123]``) *and* it
   comes from the complainant's own address. A tag is easy to type, so from
   anyone else it only goes into the new ticket's trace: a stranger cannot
   add text to somebody's complaint by copying its number.

Joining an open ticket appends the message to its timeline. A closed ticket
is reopened when it was closed at most ``XUEJI_MAIL_REOPEN_DAYS`` days ago;
after that the message opens a new ticket that names the old one, and the
old one's timeline names the new one.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db import is_postgresql
from hotline.tickets import workflow
from hotline.tickets.attachments import add_attachment
from hotline.tickets.inbox import ReceivedMail
from hotline.tickets.intake import Actor, TicketError, log
from hotline.tickets.models import Complainant, Event, Ticket
from hotline.tickets.outbox import OutgoingMail
from mailintake.classify import ticket_tag, verify_reply_address
from mailintake.config import MailConfig
from mailintake.parsing import Attachment, Parsed
from mailintake.redact import redact

MAX_EVENT_TEXT = 20_000
COMPLAINANT = "投诉人（电子邮件）"
SYSTEM = "邮件受理"


@dataclass(frozen=True)
class Match:
    """The ticket a message belongs to (None: a new one), how it was found, and remarks."""

    ticket: Ticket | None
    how: str | None  # "header", "address" or "tag"
    notes: tuple[str, ...]


def _locked(session: Session, ticket_id: int | None = None, number: str | None = None) -> Ticket | None:
    # Two replies to one ticket handled by two workers at once must not both
    # reopen it: the ticket's row is locked until the transaction ends.
    query = select(Ticket).where(Ticket.id == ticket_id) if ticket_id is not None \
        else select(Ticket).where(Ticket.number == number)
    if is_postgresql(session):
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).first()


def _by_header(session: Session, parsed: Parsed) -> int | None:
    ids = [i for i in (parsed.in_reply_to, *reversed(parsed.references)) if i]
    if not ids:
        return None
    ids = list(dict.fromkeys(ids))[:50]
    ours = dict(session.execute(select(OutgoingMail.message_id, OutgoingMail.ticket_id)
                                .where(OutgoingMail.message_id.in_(ids))).all())
    theirs = dict(session.execute(
        select(ReceivedMail.message_id, ReceivedMail.ticket_id)
        .where(ReceivedMail.message_id.in_(ids), ReceivedMail.ticket_id.is_not(None),
               ReceivedMail.outcome.in_(("ticket", "reply")))).all())
    # The nearest message in the thread first: In-Reply-To, then References from the end.
    for message_id in ids:
        found = ours.get(message_id) or theirs.get(message_id)
        if found:
            return found
    return None


def recipients(parsed: Parsed, envelope: Iterable[str] = ()) -> list[str]:
    """Every address the message was sent to: the envelope's, To, Cc and the delivery headers."""
    found = [*envelope, *(a.address for a in (*parsed.to, *parsed.cc))]
    for name in ("delivered-to", "x-original-to", "envelope-to"):
        if name in parsed.headers:
            found.append(parsed.headers[name].strip().strip("<>"))
    return list(dict.fromkeys(a for a in found if a))


def find(session: Session, parsed: Parsed, config: MailConfig, *, sender_hash: str | None,
         envelope: Iterable[str] = ()) -> Match:
    """The ticket ``parsed`` replies to, by the rules of the module's docstring."""
    notes: list[str] = []
    ticket_id = _by_header(session, parsed)
    if ticket_id is not None:
        return Match(_locked(session, ticket_id), "header", ())
    for address in recipients(parsed, envelope):
        local = address.rpartition("@")[0]
        if "+t" not in local:
            continue
        number = verify_reply_address(address, config.reply_key)
        if number is None:
            notes.append("收件地址中的工单回复地址签名无效（可能被篡改），未据此归并")
            continue
        ticket = _locked(session, number=number)
        if ticket is not None:
            return Match(ticket, "address", ())
    number = ticket_tag(parsed.subject)
    if number is not None:
        ticket = _locked(session, number=number)
        owner = ticket and session.scalar(select(Complainant.email_hash)
                                          .where(Complainant.ticket_id == ticket.id))
        if ticket is None:
            notes.append(f"邮件主题中的工单编号 {number} 不存在")
        elif sender_hash is not None and owner == sender_hash:
            return Match(ticket, "tag", ())
        else:
            notes.append(f"邮件主题中的工单编号 {number} 与发件人不符，未据此归并")
    return Match(None, None, tuple(notes))


def closed_at(session: Session, ticket: Ticket) -> datetime.datetime:
    """When the ticket was last closed (its last closing timeline entry)."""
    at = session.scalar(select(Event.at)
                        .where(Event.ticket_id == ticket.id, Event.kind.in_(("closed", "referred")))
                        .order_by(Event.at.desc(), Event.id.desc()).limit(1))
    return at or ticket.updated_at


def _attachments(session: Session, ticket: Ticket, folder: Path, files: Iterable[Attachment]) -> list[str]:
    """Attach the files; the refused ones are named in the returned remarks (the raw mail keeps them)."""
    remarks = []
    for item in files:
        try:
            add_attachment(session, ticket, folder, filename=item.filename, content_type=item.content_type,
                           data=item.data)
        except TicketError as refused:
            remarks.append(f"附件“{item.filename[:60]}”未保存：{refused.message}（原始邮件中仍保留）")
    return remarks


def add_files(session: Session, ticket: Ticket, config: MailConfig, parsed: Parsed) -> list[str]:
    return _attachments(session, ticket, config.attachments, parsed.attachments)


def append(session: Session, ticket: Ticket, parsed: Parsed, config: MailConfig, *,
           how: str, at: datetime.datetime) -> None:
    """Put the message on the ticket's timeline, with its attachments."""
    body = redact((parsed.reply_text or parsed.text).strip()) or "（来信没有正文）"
    if len(body) > MAX_EVENT_TEXT:
        body = body[:MAX_EVENT_TEXT] + "……（其余内容见原始邮件）"
    via = {"header": "回复邮件", "address": "工单回复地址", "tag": "主题中的工单编号"}[how]
    subject = redact(parsed.subject)[:200] or "（无主题）"
    text = f"投诉人来信（据{via}归入本工单），主题：{subject}\n{body}"
    remarks = add_files(session, ticket, config, parsed)
    if parsed.attachments:
        text += f"\n附件 {len(parsed.attachments) - len(remarks)} 个"
    if remarks:
        text += "\n" + "\n".join(remarks)
    log(session, ticket, Actor(COMPLAINANT, ticket.current_unit_code), "mail_reply", text, at=at)


def join(session: Session, match: Match, parsed: Parsed, config: MailConfig, *,
         at: datetime.datetime) -> tuple[Ticket | None, tuple[str, ...]]:
    """Append to the matched ticket (reopening it within the window); or say why not.

    Returns the ticket joined, or None and the lines for the new ticket's trace.
    """
    ticket = match.ticket
    assert ticket is not None and match.how is not None
    if ticket.step == "closed":
        closed = closed_at(session, ticket)
        window = datetime.timedelta(days=config.reopen_days)
        if at - closed > window:
            return None, (f"投诉人就已办结超过 {config.reopen_days} 天的工单 {ticket.number} 再次来信，"
                          "另立新工单",)
        unit = ticket.responsible_unit_code or ticket.current_unit_code
        try:
            workflow.reopen(session, ticket, Actor(SYSTEM, unit),
                            reason=f"投诉人在办结后 {config.reopen_days} 天内再次来信",
                            calendar=config.calendar(session), at=at)
        except TicketError as refused:
            return None, (f"投诉人就已办结的工单 {ticket.number} 再次来信，"
                          f"但无法重新办理（{refused.message}），另立新工单",)
    append(session, ticket, parsed, config, how=match.how, at=at)
    return ticket, ()


def link_back(session: Session, old: Ticket, new: Ticket, *, at: datetime.datetime) -> None:
    """On the old ticket's timeline: the complainant wrote again, and where that went."""
    log(session, old, Actor(SYSTEM, old.current_unit_code), "mail_followup",
        f"投诉人再次来信，已另立新工单 {new.number}", at=at)
