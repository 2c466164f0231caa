"""Internal notes (内部备注) on a ticket: what the people handling it tell each other.

Notes are never shown to the complainant, on the public status page or on a
printed form. Like the timeline they are a record: a note is added, never
edited or deleted (the ORM refuses both), so what a colleague read stays as
it was written.
"""

from __future__ import annotations

import datetime

from sqlalchemy import ForeignKey, String, Text, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from hotline.db import Base, UTCDateTime
from hotline.tickets.intake import Actor, TicketError, now
from hotline.tickets.models import BigId, ImmutableRecord, Ticket

MAX_NOTE = 2000


class TicketNote(Base):
    """One internal note: who wrote it, from which unit, when, and what it says."""

    __tablename__ = "ticket_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime.datetime] = mapped_column(UTCDateTime)
    author: Mapped[str] = mapped_column(String(64))
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    text: Mapped[str] = mapped_column(Text)


def _refuse(_mapper, _connection, target: TicketNote) -> None:
    raise ImmutableRecord(f"ticket note {target.id} cannot be changed once written")


event.listen(TicketNote, "before_update", _refuse)
event.listen(TicketNote, "before_delete", _refuse)


def add_note(
    session: Session, ticket: Ticket, actor: Actor, *, text: str, at: datetime.datetime | None = None
) -> TicketNote:
    """Append a note to the ticket; refused (nothing written) when empty or longer than MAX_NOTE."""
    text = (text or "").strip()
    if not text:
        raise TicketError("请填写备注内容", "text")
    if len(text) > MAX_NOTE:
        raise TicketError(f"备注不能超过 {MAX_NOTE} 字", "text")
    note = TicketNote(ticket_id=ticket.id, at=at or now(), author=actor.name[:64], unit_code=actor.unit_code,
                      text=text)
    session.add(note)
    session.flush()
    return note


def notes_of(session: Session, ticket: Ticket) -> list[TicketNote]:
    """The ticket's notes, oldest first."""
    return list(session.scalars(select(TicketNote).where(TicketNote.ticket_id == ticket.id)
                                .order_by(TicketNote.at, TicketNote.id)))
