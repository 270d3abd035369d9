"""Report indexes, and the outbox key that makes a periodic mail (the digest) once per period.

Why each index: ``propdesk report`` aggregates one window of tickets in PostgreSQL, so the
window (``received_at``), the day a ticket was done (``coalesce(resolved_at, closed_at)``),
the building (``upper(metadata->>'building')``) and the property each get an index; the reopen
and rating lookups read only those event kinds. ``outbox.dedupe_key`` is unique: two daemons
that both decide "the digest of this week is due" insert one row (ON CONFLICT DO NOTHING).

Revision ID: 0004_report_indexes
Revises: 0003_escalation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_report_indexes"
down_revision = "0003_escalation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tickets_received_at", "tickets", ["received_at"])
    op.create_index("ix_tickets_done_at", "tickets", [sa.text("coalesce(resolved_at, closed_at)")])
    op.create_index(
        "ix_tickets_building", "tickets", [sa.text("upper(metadata ->> 'building')"), "received_at"]
    )
    op.create_index("ix_tickets_property_received", "tickets", ["property_id", "received_at"])
    op.create_index(
        "ix_ticket_events_report_kinds",
        "ticket_events",
        ["ticket_pk", "kind"],
        postgresql_where=sa.text("kind IN ('reopened', 'rating')"),
    )
    op.add_column("outbox", sa.Column("dedupe_key", sa.Text(), nullable=True))
    op.create_index("uq_outbox_dedupe_key", "outbox", ["dedupe_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_outbox_dedupe_key", table_name="outbox")
    op.drop_column("outbox", "dedupe_key")
    op.drop_index("ix_ticket_events_report_kinds", table_name="ticket_events")
    op.drop_index("ix_tickets_property_received", table_name="tickets")
    op.drop_index("ix_tickets_building", table_name="tickets")
    op.drop_index("ix_tickets_done_at", table_name="tickets")
    op.drop_index("ix_tickets_received_at", table_name="tickets")
