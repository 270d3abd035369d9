"""Conversation tables (revision ``0006_conversations``): ticket links and satisfaction ratings.

- ``ticket_links``: a ticket made from a reply (a new problem in the thread, a reply to a Closed
  ticket) points at the ticket it came from; one row per pair, with why.
- ``ticket_ratings``: the tenant's 1-5 rating by reply, one row per ticket (latest wins); the
  report reads ``ticket_pk``, ``rating`` and ``rated_at`` (``ticket_id`` is kept for people and
  other readers by name). Each rating is also a ``rating`` ticket event.
The outbox's ``coalesce_key`` (same revision) lets several tenant replies within minutes become
one digest mail to the assignee.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from propdesk.store.base import Base

TZ = DateTime(timezone=True)


class TicketLinkRow(Base):
    """``ticket_pk`` was made from a reply on ``related_ticket_pk``."""

    __tablename__ = "ticket_links"

    ticket_pk: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    related_ticket_pk: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ)


class TicketRatingRow(Base):
    """The tenant's latest satisfaction rating of one ticket."""

    __tablename__ = "ticket_ratings"

    ticket_pk: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    ticket_id: Mapped[str] = mapped_column(
        String(12), ForeignKey("tickets.ticket_id", ondelete="CASCADE"), unique=True
    )
    rating: Mapped[int] = mapped_column(SmallInteger)
    rated_at: Mapped[datetime] = mapped_column(TZ)
    rated_by: Mapped[str] = mapped_column(Text)
    inbound_message_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("inbound_messages.id", ondelete="SET NULL")
    )

    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),)
