"""The escalation pass walks due tickets by keyset: (next_escalation_at, id) in one index.

Why: the pass takes its due tickets batch after batch. Ordered by ``next_escalation_at`` alone,
each batch's scan started again at the oldest entry and stepped over the entries the batches
before it had just rescheduled (dead until vacuum); by (next_escalation_at, id) > the last one
taken it starts where the previous batch ended. Same name and predicate (open tickets only).

Revision ID: 0009_escalation_keyset
Revises: 0009_triage_review
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_escalation_keyset"
down_revision = "0009_triage_review"
branch_labels = None
depends_on = None

OPEN = "status IN ('New', 'In Progress', 'Pending')"


def upgrade() -> None:
    op.drop_index("ix_tickets_next_escalation_open", table_name="tickets")
    op.create_index(
        "ix_tickets_next_escalation_open",
        "tickets",
        ["next_escalation_at", "id"],
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_next_escalation_open", table_name="tickets")
    op.create_index(
        "ix_tickets_next_escalation_open",
        "tickets",
        ["next_escalation_at"],
        postgresql_where=sa.text(OPEN),
    )
