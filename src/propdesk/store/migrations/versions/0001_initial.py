"""Ingest tables: tickets, inbound messages, attachments, events, mailbox state

Revision ID: 0001_initial
Revises: (none)
Create Date: 2026-11-27

Fixed id: 0002_outbox (notifications) and 0003_escalation build on it.
The schema mirrors propdesk.store.tables; see its docstring for why each key exists.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachment_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_attachment_blobs")),
    )
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("mailbox", sa.String(length=128), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("sender", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("in_reply_to", sa.Text(), nullable=True),
        sa.Column("bounced_message_id", sa.Text(), nullable=True),
        sa.Column("duplicate_of", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('ticketed', 'comment', 'ignored', 'quarantined', 'skipped', 'duplicate')",
            name=op.f("ck_inbound_messages_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of"],
            ["inbound_messages.id"],
            name=op.f("fk_inbound_messages_duplicate_of_inbound_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_inbound_messages_imap_key"),
    )
    op.create_index(
        "ix_inbound_messages_message_id", "inbound_messages", ["message_id"], unique=False
    )
    op.create_index("ix_inbound_messages_outcome", "inbound_messages", ["outcome"], unique=False)
    op.create_index(
        "uq_inbound_messages_content",
        "inbound_messages",
        ["mailbox", "sha256"],
        unique=True,
        postgresql_where=sa.text(
            "outcome NOT IN ('duplicate', 'quarantined') AND sha256 IS NOT NULL"
        ),
    )
    op.create_table(
        "mailbox_state",
        sa.Column("mailbox", sa.String(length=128), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("high_water_uid", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("skip_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("mailbox", name=op.f("pk_mailbox_state")),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.String(length=12), nullable=False),
        sa.Column("short_description", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("subcategory", sa.String(length=32), nullable=True),
        sa.Column("request_type", sa.String(length=32), nullable=False),
        sa.Column("urgency", sa.String(length=1), nullable=False),
        sa.Column("priority", sa.String(length=1), nullable=False),
        sa.Column("property_id", sa.String(length=32), nullable=False),
        sa.Column("unit_number", sa.Text(), nullable=True),
        sa.Column("requested_for", sa.Text(), nullable=False),
        sa.Column("assignment_group", sa.Text(), nullable=False),
        sa.Column("assigned_to", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_notes", sa.Text(), nullable=True),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("response_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_escalation_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_tickets_ticket_id")),
    )
    op.create_index("ix_tickets_created_at", "tickets", ["created_at"], unique=False)
    op.create_index(
        "ix_tickets_next_escalation_open",
        "tickets",
        ["next_escalation_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('New', 'In Progress', 'Pending')"),
    )
    op.create_index(op.f("ix_tickets_status"), "tickets", ["status"], unique=False)
    op.create_table(
        "attachments",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("inbound_message_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("blob_sha256", sa.String(length=64), nullable=True),
        sa.Column("inline", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("content_id", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["blob_sha256"],
            ["attachment_blobs.sha256"],
            name=op.f("fk_attachments_blob_sha256_attachment_blobs"),
        ),
        sa.ForeignKeyConstraint(
            ["inbound_message_id"],
            ["inbound_messages.id"],
            name=op.f("fk_attachments_inbound_message_id_inbound_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint(
            "inbound_message_id",
            "position",
            name=op.f("uq_attachments_inbound_message_id_position"),
        ),
    )
    op.create_index(
        op.f("ix_attachments_blob_sha256"), "attachments", ["blob_sha256"], unique=False
    )
    op.create_index(
        op.f("ix_attachments_inbound_message_id"),
        "attachments",
        ["inbound_message_id"],
        unique=False,
    )
    op.create_table(
        "message_tickets",
        sa.Column("inbound_message_id", sa.BigInteger(), nullable=False),
        sa.Column("item_index", sa.Integer(), nullable=False),
        sa.Column("ticket_pk", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbound_message_id"],
            ["inbound_messages.id"],
            name=op.f("fk_message_tickets_inbound_message_id_inbound_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_pk"],
            ["tickets.id"],
            name=op.f("fk_message_tickets_ticket_pk_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "inbound_message_id", "item_index", name=op.f("pk_message_tickets")
        ),
        sa.UniqueConstraint("ticket_pk", name=op.f("uq_message_tickets_ticket_pk")),
    )
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("ticket_pk", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("inbound_message_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["inbound_message_id"],
            ["inbound_messages.id"],
            name=op.f("fk_ticket_events_inbound_message_id_inbound_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_pk"],
            ["tickets.id"],
            name=op.f("fk_ticket_events_ticket_pk_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    op.create_index(
        op.f("ix_ticket_events_inbound_message_id"),
        "ticket_events",
        ["inbound_message_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_ticket_events_ticket_pk"), "ticket_events", ["ticket_pk"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_events_ticket_pk"), table_name="ticket_events")
    op.drop_index(op.f("ix_ticket_events_inbound_message_id"), table_name="ticket_events")
    op.drop_table("ticket_events")
    op.drop_table("message_tickets")
    op.drop_index(op.f("ix_attachments_inbound_message_id"), table_name="attachments")
    op.drop_index(op.f("ix_attachments_blob_sha256"), table_name="attachments")
    op.drop_table("attachments")
    op.drop_index(op.f("ix_tickets_status"), table_name="tickets")
    op.drop_index(
        "ix_tickets_next_escalation_open",
        table_name="tickets",
        postgresql_where=sa.text("status IN ('New', 'In Progress', 'Pending')"),
    )
    op.drop_index("ix_tickets_created_at", table_name="tickets")
    op.drop_table("tickets")
    op.drop_table("mailbox_state")
    op.drop_index(
        "uq_inbound_messages_content",
        table_name="inbound_messages",
        postgresql_where=sa.text(
            "outcome NOT IN ('duplicate', 'quarantined') AND sha256 IS NOT NULL"
        ),
    )
    op.drop_index("ix_inbound_messages_outcome", table_name="inbound_messages")
    op.drop_index("ix_inbound_messages_message_id", table_name="inbound_messages")
    op.drop_table("inbound_messages")
    op.drop_table("attachment_blobs")
