"""Hostile mail: attachment names as sent (display only), mail held by the flood limits, and the
indexes the flood counts use.

Revision ID: 0007_intake_limits
Revises: 0006_conversations
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_intake_limits"
down_revision = "0006_conversations"
branch_labels = None
depends_on = None

_OLD = "outcome IN ('ticketed', 'comment', 'ignored', 'quarantined', 'skipped', 'duplicate')"
_NEW = (
    "outcome IN ('ticketed', 'comment', 'ignored', 'quarantined', 'skipped', 'duplicate', "
    "'held_flood')"
)


def upgrade() -> None:
    op.add_column("attachments", sa.Column("display_name", sa.Text(), nullable=True))
    op.drop_constraint(op.f("ck_inbound_messages_outcome"), "inbound_messages", type_="check")
    op.create_check_constraint(op.f("ck_inbound_messages_outcome"), "inbound_messages", _NEW)
    op.create_index(
        "ix_inbound_messages_sender_received", "inbound_messages", ["sender", "received_at"]
    )
    op.create_index(
        "ix_inbound_messages_mailbox_received", "inbound_messages", ["mailbox", "received_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_messages_mailbox_received", table_name="inbound_messages")
    op.drop_index("ix_inbound_messages_sender_received", table_name="inbound_messages")
    op.execute("UPDATE inbound_messages SET outcome = 'quarantined' WHERE outcome = 'held_flood'")
    op.drop_constraint(op.f("ck_inbound_messages_outcome"), "inbound_messages", type_="check")
    op.create_check_constraint(op.f("ck_inbound_messages_outcome"), "inbound_messages", _OLD)
    op.drop_column("attachments", "display_name")
