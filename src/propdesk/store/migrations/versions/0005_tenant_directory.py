"""The tenant directory, and the per-email notes every ticket of an email carries.

Revision ID: 0005_tenant_directory
Revises: 0004_report_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_tenant_directory"
down_revision = "0004_report_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False, server_default=""),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("building", sa.Text(), nullable=False, server_default=""),
        sa.Column("property", sa.Text(), nullable=False, server_default=""),
        sa.Column("phone", sa.Text(), nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("email", name=op.f("uq_tenants_email")),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_tenants_email_lower")),
    )
    op.create_index(op.f("ix_tenants_unit"), "tenants", ["unit", "building", "property"])
    op.add_column(
        "tickets",
        sa.Column(
            "notes",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            server_default=sa.text("'[]'::jsonb"),
        ),
    )


def downgrade() -> None:
    op.drop_column("tickets", "notes")
    op.drop_index(op.f("ix_tenants_unit"), table_name="tenants")
    op.drop_table("tenants")
