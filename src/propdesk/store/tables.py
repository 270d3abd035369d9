"""Ingest tables (revision ``0001_initial``): tickets, inbound messages, attachments, events.

Why these shapes:
- ``inbound_messages`` holds exactly one row per IMAP message we ever looked at, keyed by
  (mailbox, UIDVALIDITY, UID). A second key, (mailbox, sha256) for first-seen rows, recognises the
  same bytes again after a UIDVALIDITY change (restored or re-indexed folder), so nothing is
  ticketed twice. Raw bytes are kept only where a later ``propdesk reprocess`` may need them.
- ``message_tickets`` links a message to the tickets made from its action items; its primary key
  (message, item_index) makes a replay unable to create the same ticket twice.
- Attachment bytes live in ``attachment_blobs`` (deduplicated by SHA-256), never in a table a
  listing reads, so listing tickets never drags megabytes out of PostgreSQL.
- Every timestamp is ``timestamptz`` and written in UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from propdesk.store.base import Base

#: Outcomes of one inbound message (exactly one per message).
OUTCOMES = (
    "ticketed",
    "comment",
    "ignored",
    "quarantined",
    "skipped",
    "duplicate",
    "held_flood",
)

#: Kinds of ticket events written by ingest; other modules may add kinds (no CHECK on purpose).
EVENT_CREATED = "created"
EVENT_COMMENT = "comment"
EVENT_STATUS_CHANGE = "status_change"
EVENT_ASSIGNED = "assigned"
EVENT_REVIEWED = "reviewed"  # staff checked a ticket triage was unsure of

#: Ticket statuses that still need work (the partial escalation index covers these).
OPEN_STATUS_SQL = "status IN ('New', 'In Progress', 'Pending')"

#: Rows that own their content key (see ``uq_inbound_messages_content``).
CONTENT_KEY_WHERE = "outcome NOT IN ('duplicate', 'quarantined') AND sha256 IS NOT NULL"

TZ = DateTime(timezone=True)


class TicketRow(Base):
    """One ticket: the core's ``Ticket`` fields plus SLA deadlines and the escalation clock."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(12), unique=True)
    short_description: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32))
    subcategory: Mapped[str | None] = mapped_column(String(32))
    request_type: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(1))
    priority: Mapped[str] = mapped_column(String(1))
    property_id: Mapped[str] = mapped_column(String(32))
    unit_number: Mapped[str | None] = mapped_column(Text)
    requested_for: Mapped[str] = mapped_column(Text)
    assignment_group: Mapped[str] = mapped_column(Text)
    assigned_to: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    received_at: Mapped[datetime] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ)
    updated_at: Mapped[datetime] = mapped_column(TZ)
    started_at: Mapped[datetime | None] = mapped_column(TZ)
    resolved_at: Mapped[datetime | None] = mapped_column(TZ)
    closed_at: Mapped[datetime | None] = mapped_column(TZ)
    status_notes: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(Text)  # the spec's email_id
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB)
    response_due_at: Mapped[datetime | None] = mapped_column(TZ)
    resolution_due_at: Mapped[datetime | None] = mapped_column(TZ)
    next_escalation_at: Mapped[datetime | None] = mapped_column(TZ)
    # per-email notes (access, pets, phone, availability), the same on every ticket of an email
    notes: Mapped[list[dict[str, str]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    # how sure triage was (None: the rules alone decided), whether staff must still check it, and
    # which decisions were unsure (``urgency=2 p=0.62``), revision 0009_triage_review
    triage_confidence: Mapped[float | None] = mapped_column(Float)
    needs_review: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    review_reasons: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'::text[]")
    )

    __table_args__ = (
        # keyset order of the escalation pass (revision 0009_escalation_keyset)
        Index(
            "ix_tickets_next_escalation_open",
            "next_escalation_at",
            "id",
            postgresql_where=text(OPEN_STATUS_SQL),
        ),
        Index("ix_tickets_created_at", "created_at"),
        # The report's window, done day, building and property (revision 0004_report_indexes).
        Index("ix_tickets_received_at", "received_at"),
        Index("ix_tickets_done_at", text("coalesce(resolved_at, closed_at)")),
        Index("ix_tickets_building", text("upper(metadata ->> 'building')"), "received_at"),
        Index("ix_tickets_property_received", "property_id", "received_at"),
        # ``tickets list --needs-review``: the few tickets still waiting for a person's check.
        Index("ix_tickets_needs_review", "created_at", postgresql_where=text("needs_review")),
    )


class InboundMessageRow(Base):
    """One IMAP message and its single outcome."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    mailbox: Mapped[str] = mapped_column(String(128))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))  # None when never read (oversized)
    sender: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(TZ)  # IMAP INTERNALDATE
    recorded_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    bounced_message_id: Mapped[str | None] = mapped_column(Text)
    duplicate_of: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("inbound_messages.id", ondelete="SET NULL")
    )
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    # Kept for quarantined messages so `propdesk reprocess` can run them again; cleared after.
    raw: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)

    __table_args__ = (
        UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_inbound_messages_imap_key"),
        CheckConstraint(
            "outcome IN ('ticketed', 'comment', 'ignored', 'quarantined', 'skipped', 'duplicate', "
            "'held_flood')",
            name="outcome",
        ),
        # The content key: first-seen bytes per mailbox. Duplicate rows point at the first one;
        # quarantined rows stay out so a fixed message moved back to the inbox can run again.
        Index(
            "uq_inbound_messages_content",
            "mailbox",
            "sha256",
            unique=True,
            postgresql_where=text(CONTENT_KEY_WHERE),
        ),
        Index("ix_inbound_messages_message_id", "message_id"),
        Index("ix_inbound_messages_outcome", "outcome"),
        # The flood limits count recent mail per sender and per mailbox (revision 0004).
        Index("ix_inbound_messages_sender_received", "sender", "received_at"),
        Index("ix_inbound_messages_mailbox_received", "mailbox", "received_at"),
    )


class MessageTicketRow(Base):
    """Which tickets a message created; (message, item_index) is the replay guard."""

    __tablename__ = "message_tickets"

    inbound_message_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("inbound_messages.id", ondelete="CASCADE"), primary_key=True
    )
    item_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_pk: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"), unique=True
    )


class AttachmentBlobRow(Base):
    """Attachment bytes, once per distinct content."""

    __tablename__ = "attachment_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class AttachmentRow(Base):
    """One attachment of one inbound message (metadata only; bytes in ``attachment_blobs``)."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    inbound_message_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("inbound_messages.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # NULL when the bytes were not kept (over the size limit): see ``note``.
    blob_sha256: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("attachment_blobs.sha256"), index=True
    )
    inline: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    content_id: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    # The name as sent, display text only (revision 0004); ``filename`` is the safe one.
    display_name: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("inbound_message_id", "position"),)


class TicketEventRow(Base):
    """What happened to a ticket: created, comment, status_change, assigned (and later kinds)."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    ticket_pk: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(TZ)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    inbound_message_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("inbound_messages.id", ondelete="SET NULL"), index=True
    )

    __table_args__ = (
        Index(
            "ix_ticket_events_report_kinds",
            "ticket_pk",
            "kind",
            postgresql_where=text("kind IN ('reopened', 'rating')"),
        ),
    )


class MailboxStateRow(Base):
    """Per mailbox: the UIDVALIDITY last seen, the first-start cutoff and, where the server can't
    MOVE, a UID high-water mark (highest UID fully handled under that UIDVALIDITY)."""

    __tablename__ = "mailbox_state"

    mailbox: Mapped[str] = mapped_column(String(128), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    high_water_uid: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    # Fixed at the first start from ``since``/``max_age_days``: older mail is recorded skipped.
    skip_before: Mapped[datetime | None] = mapped_column(TZ)
    updated_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())


__all__ = [
    "OUTCOMES",
    "AttachmentBlobRow",
    "AttachmentRow",
    "InboundMessageRow",
    "MailboxStateRow",
    "MessageTicketRow",
    "TicketEventRow",
    "TicketRow",
]
