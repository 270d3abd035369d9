"""Recurrence lookup: the earlier tickets of one unit and subcategory within a number of days.

The same definition as the report's "top recurring units" (``report_queries``: same property,
unit and subcategory, within ``[report] recurring_days``), asked for one new ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, func, select

from propdesk.store.db import Executor
from propdesk.store.tables import TicketRow

TICKETS: Table = TicketRow.__table__  # type: ignore[assignment]  # a Table for ORM rows


@dataclass(frozen=True, slots=True)
class Earlier:
    """How many earlier tickets there are, and the latest one's id."""

    count: int
    latest: str | None


def earlier(
    db: Executor,
    *,
    pk: int,
    property_id: str,
    unit: str,
    subcategory: str,
    received_at: datetime,
    days: int,
) -> Earlier:
    t = TICKETS
    where = (
        t.c.property_id == property_id,
        t.c.unit_number == unit,
        t.c.subcategory == subcategory,
        t.c.received_at >= received_at - timedelta(days=days),
        t.c.received_at <= received_at,
        t.c.id != pk,
    )
    count = db.execute(select(func.count()).where(*where)).scalar_one()
    if not count:
        return Earlier(0, None)
    latest = db.execute(
        select(t.c.ticket_id).where(*where).order_by(t.c.received_at.desc(), t.c.id.desc()).limit(1)
    ).scalar_one()
    return Earlier(int(count), str(latest))
