"""The tenant directory (revision ``0005_tenant_directory``): who lives where, by email address.

Why keyed by the lower-cased address: the directory answers "who wrote this mail?", and mail
addresses compare case-insensitively in practice. Empty strings, not NULLs, for unknown fields:
a CSV cell is text, and "no phone" is an empty cell.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from propdesk.store.base import Base


class TenantRow(Base):
    """One tenant: where they live and how to reach them."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text, server_default="")
    unit: Mapped[str] = mapped_column(Text)
    building: Mapped[str] = mapped_column(Text, server_default="")
    property: Mapped[str] = mapped_column(Text, server_default="")
    phone: Mapped[str] = mapped_column(Text, server_default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("email"),
        CheckConstraint("email = lower(email)", name="email_lower"),
        Index("ix_tenants_unit", "unit", "building", "property"),
    )


__all__ = ["TenantRow"]
