"""Triage doubt in real columns: ``tickets.triage_confidence``, ``needs_review`` (with a partial
index for ``tickets list --needs-review``) and ``review_reasons``, filled from the metadata JSON
older rows carry (their reasons are the unsure decisions' names).

Revision ID: 0009_triage_review
Revises: 0008_incidents
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009_triage_review"
down_revision = "0008_incidents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("triage_confidence", sa.Float(), nullable=True))
    op.add_column(
        "tickets",
        sa.Column("needs_review", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column(
        "tickets",
        sa.Column(
            "review_reasons",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
    )
    op.execute(
        """
        UPDATE tickets SET
            triage_confidence = (metadata ->> 'triage_confidence')::double precision,
            needs_review = true,
            review_reasons = ARRAY(SELECT jsonb_array_elements_text(metadata -> 'unsure'))
        WHERE jsonb_typeof(metadata -> 'unsure') = 'array'
          AND jsonb_array_length(metadata -> 'unsure') > 0
        """
    )
    op.execute(
        """
        UPDATE tickets SET triage_confidence = (metadata ->> 'triage_confidence')::double precision
        WHERE triage_confidence IS NULL
          AND jsonb_typeof(metadata -> 'triage_confidence') = 'number'
        """
    )
    op.create_index(
        "ix_tickets_needs_review",
        "tickets",
        ["created_at"],
        postgresql_where=sa.text("needs_review"),
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_needs_review", table_name="tickets")
    op.drop_column("tickets", "review_reasons")
    op.drop_column("tickets", "needs_review")
    op.drop_column("tickets", "triage_confidence")
