"""Escalation and SLA tables: what the escalation pass did, recorded once per ticket and rule.

The unique constraints are the exactly-once guarantee: two daemons (or a creation hook and a
pass) that decide the same escalation race on ``INSERT ... ON CONFLICT DO NOTHING``, and only the
one whose row went in writes the outbox row. Nothing here is ever updated except ``outbox_id``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from propdesk.core.escalation import SLA_KINDS, SLA_RESOLUTION, SLA_RESPONSE
from propdesk.store.base import Base

__all__ = ["SLA_KINDS", "SLA_RESOLUTION", "SLA_RESPONSE", "EscalationRow", "SlaBreachRow"]


class EscalationRow(Base):
    """One escalation sent (or a near-breach warning, rule ``sla_warning``) for one ticket."""

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("ticket_pk", "rule"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ticket_pk: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False
    )
    rule: Mapped[str] = mapped_column(String(64), nullable=False)
    # When the rule became due (e.g. received_at + 30 min), as opposed to when the pass saw it.
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    escalated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    target: Mapped[str] = mapped_column(String(320), nullable=False)
    outbox_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("outbox.id", ondelete="SET NULL"), nullable=True
    )


class SlaBreachRow(Base):
    """A response or resolution deadline that passed with the ticket still not there."""

    __tablename__ = "sla_breaches"
    __table_args__ = (
        UniqueConstraint("ticket_pk", "kind"),
        CheckConstraint("kind IN ('response', 'resolution')", name="kind"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ticket_pk: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    # The deadline that was missed; detected_at is when a pass noticed (pass interval later).
    breached_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
