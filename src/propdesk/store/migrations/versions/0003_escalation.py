"""Escalations and SLA breaches, recorded once per (ticket, rule) and (ticket, kind).

Revision ID: 0003_escalation
Revises: 0002_outbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_escalation"
down_revision = "0002_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "escalations",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("ticket_pk", sa.BigInteger(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("target", sa.String(length=320), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_pk"],
            ["tickets.id"],
            name="fk_escalations_ticket_pk_tickets",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name="fk_escalations_outbox_id_outbox",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_escalations"),
        sa.UniqueConstraint("ticket_pk", "rule", name="uq_escalations_ticket_pk_rule"),
    )
    op.create_table(
        "sla_breaches",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("ticket_pk", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('response', 'resolution')", name="ck_sla_breaches_kind"),
        sa.ForeignKeyConstraint(
            ["ticket_pk"],
            ["tickets.id"],
            name="fk_sla_breaches_ticket_pk_tickets",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sla_breaches"),
        sa.UniqueConstraint("ticket_pk", "kind", name="uq_sla_breaches_ticket_pk_kind"),
    )


def downgrade() -> None:
    op.drop_table("sla_breaches")
    op.drop_table("escalations")
