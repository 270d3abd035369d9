"""Incident tables (revision ``0008_incidents``): several units' tickets about one building system.

Why a link table and not a column on ``tickets``: an incident is an overlay (merge and split move
links, nothing else), and a ticket belongs to at most one incident (``ticket_pk`` is the key).
Every ticket with a known building and system gets a ``forming`` incident or joins one; it is
``open`` (formed, announced) from ``[incidents] min_units`` units on.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from propdesk.store.base import Base

TZ = DateTime(timezone=True)
#: forming: fewer units than needed yet; open: formed and announced; resolved / closed: done;
#: merged: its tickets moved to ``merged_into``.
INCIDENT_STATUSES = ("forming", "open", "resolved", "closed", "merged")
JOINABLE_SQL = "status IN ('forming', 'open')"


class IncidentRow(Base):
    """One incident: a building, a system, its first ticket and when it can still be joined."""

    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in INCIDENT_STATUSES) + ")", name="status"
        ),
        Index(
            "ix_incidents_joinable",
            "building",
            "system",
            "window_ends_at",
            postgresql_where=text(JOINABLE_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    building: Mapped[str] = mapped_column(Text)
    system: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    lead_ticket_pk: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tickets.id", ondelete="CASCADE")
    )
    first_received_at: Mapped[datetime] = mapped_column(TZ)
    last_received_at: Mapped[datetime] = mapped_column(TZ)
    window_ends_at: Mapped[datetime] = mapped_column(TZ)
    formed_at: Mapped[datetime | None] = mapped_column(TZ)
    merged_into: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("incidents.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(TZ)
    updated_at: Mapped[datetime] = mapped_column(TZ)


class IncidentTicketRow(Base):
    """A ticket's membership of an incident (at most one)."""

    __tablename__ = "incident_tickets"

    ticket_pk: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    incident_pk: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    unit: Mapped[str | None] = mapped_column(Text)
    joined_at: Mapped[datetime] = mapped_column(TZ)
