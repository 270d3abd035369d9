"""The notification outbox: one row per email to send, written in the same transaction as the
event that caused it, delivered later by the daemon loop (so a crash or an SMTP outage loses none).

Status: ``pending`` (waiting or retrying; ``next_attempt_at`` says when), ``sent`` (the server
answered 2xx), ``dead`` (5xx or too many attempts; ``last_error`` keeps the answer),
``suppressed`` (loop or flood safety decided not to send; ``last_error`` says why) and
``bounced`` (sent, and a bounce naming its Message-ID came back).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    Sequence,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from propdesk.store.base import Base

AUDIENCES = ("tenant", "staff")

outbox_id_seq = Sequence("outbox_id_seq", metadata=Base.metadata)


class OutboxRow(Base):
    """One notification email waiting for, or done with, delivery."""

    __tablename__ = "outbox"

    # Ids come from the sequence before the insert: the Message-ID contains the row id.
    id: Mapped[int] = mapped_column(
        BigInteger, outbox_id_seq, server_default=outbox_id_seq.next_value(), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    audience: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(320))
    ticket_id: Mapped[str] = mapped_column(String(20))
    ticket_ids: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(1000))
    parent_references: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'::text[]")
    )
    context: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(12), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    # Rows with the same key while pending are one mail (a digest of tenant replies).
    coalesce_key: Mapped[str | None] = mapped_column(String(200))
    # One row per period for periodic mail (the weekly digest): unique, NULL for ticket mail.
    dedupe_key: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'sent', 'dead', 'suppressed', 'bounced')", name="status"
        ),
        CheckConstraint("audience IN ('tenant', 'staff')", name="audience"),
        # The delivery claim: due pending rows in order.
        Index(
            "ix_outbox_due",
            "next_attempt_at",
            "id",
            postgresql_where=text("status = 'pending'"),
        ),
        # The per-recipient flood cap counts recent tenant-bound sends.
        Index("ix_outbox_recipient_sent", "recipient", "sent_at"),
        Index("ix_outbox_ticket_id", "ticket_id"),
        Index("ix_outbox_status", "status"),
        Index(
            "uq_outbox_pending_coalesce_key",
            "coalesce_key",
            unique=True,
            postgresql_where=text("status = 'pending' AND coalesce_key IS NOT NULL"),
        ),
        Index("uq_outbox_dedupe_key", "dedupe_key", unique=True),
    )


outbox = cast(Table, OutboxRow.__table__)
