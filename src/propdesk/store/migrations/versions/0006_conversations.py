"""Conversations: ticket links, satisfaction ratings and the outbox's digest key.

Revision ID: 0006_conversations
Revises: 0005_tenant_directory
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_conversations"
down_revision = "0005_tenant_directory"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_links",
        sa.Column("ticket_pk", sa.BigInteger(), nullable=False),
        sa.Column("related_ticket_pk", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_pk"],
            ["tickets.id"],
            name="fk_ticket_links_ticket_pk_tickets",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["related_ticket_pk"],
            ["tickets.id"],
            name="fk_ticket_links_related_ticket_pk_tickets",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_pk", "related_ticket_pk", name="pk_ticket_links"),
    )
    op.create_index(
        "ix_ticket_links_related_ticket_pk", "ticket_links", ["related_ticket_pk"], unique=False
    )
    op.create_table(
        "ticket_ratings",
        sa.Column("ticket_pk", sa.BigInteger(), nullable=False),
        sa.Column("ticket_id", sa.String(length=12), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rated_by", sa.Text(), nullable=False),
        sa.Column("inbound_message_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="ck_ticket_ratings_rating"),
        sa.ForeignKeyConstraint(
            ["ticket_pk"],
            ["tickets.id"],
            name="fk_ticket_ratings_ticket_pk_tickets",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.ticket_id"],
            name="fk_ticket_ratings_ticket_id_tickets",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inbound_message_id"],
            ["inbound_messages.id"],
            name="fk_ticket_ratings_inbound_message_id_inbound_messages",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("ticket_pk", name="pk_ticket_ratings"),
        sa.UniqueConstraint("ticket_id", name="uq_ticket_ratings_ticket_id"),
    )
    op.add_column("outbox", sa.Column("coalesce_key", sa.String(length=200), nullable=True))
    op.create_index(
        "uq_outbox_pending_coalesce_key",
        "outbox",
        ["coalesce_key"],
        unique=True,
        postgresql_where=sa.text("status = 'pending' AND coalesce_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_outbox_pending_coalesce_key", table_name="outbox")
    op.drop_column("outbox", "coalesce_key")
    op.drop_table("ticket_ratings")
    op.drop_index("ix_ticket_links_related_ticket_pk", table_name="ticket_links")
    op.drop_table("ticket_links")
