"""Incidents: tickets of several units of one building about one building system, linked.

Revision ID: 0008_incidents
Revises: 0007_intake_limits
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_incidents"
down_revision = "0007_intake_limits"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("building", sa.Text(), nullable=False),
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("lead_ticket_pk", sa.BigInteger(), nullable=False),
        sa.Column("first_received_at", TZ, nullable=False),
        sa.Column("last_received_at", TZ, nullable=False),
        sa.Column("window_ends_at", TZ, nullable=False),
        sa.Column("formed_at", TZ, nullable=True),
        sa.Column("merged_into", sa.BigInteger(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.CheckConstraint(
            "status IN ('forming', 'open', 'resolved', 'closed', 'merged')",
            name=op.f("ck_incidents_status"),
        ),
        sa.ForeignKeyConstraint(
            ["lead_ticket_pk"],
            ["tickets.id"],
            name=op.f("fk_incidents_lead_ticket_pk_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into"],
            ["incidents.id"],
            name=op.f("fk_incidents_merged_into_incidents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index(
        "ix_incidents_joinable",
        "incidents",
        ["building", "system", "window_ends_at"],
        postgresql_where=sa.text("status IN ('forming', 'open')"),
    )
    op.create_table(
        "incident_tickets",
        sa.Column("ticket_pk", sa.BigInteger(), nullable=False),
        sa.Column("incident_pk", sa.BigInteger(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("joined_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_pk"],
            ["tickets.id"],
            name=op.f("fk_incident_tickets_ticket_pk_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_pk"],
            ["incidents.id"],
            name=op.f("fk_incident_tickets_incident_pk_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_pk", name=op.f("pk_incident_tickets")),
    )
    op.create_index(op.f("ix_incident_tickets_incident_pk"), "incident_tickets", ["incident_pk"])


def downgrade() -> None:
    op.drop_index(op.f("ix_incident_tickets_incident_pk"), table_name="incident_tickets")
    op.drop_table("incident_tickets")
    op.drop_index("ix_incidents_joinable", table_name="incidents")
    op.drop_table("incidents")
