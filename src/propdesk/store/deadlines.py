"""Statutory deadlines: open tickets whose legal deadline passed and is not escalated yet.

The deadline lives in the ticket's metadata (``statutory.due_at``, ISO UTC); the breach is an
``escalations`` row of rule ``statutory_deadline``, unique per ticket: recorded once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Table, cast, exists, select

from propdesk.core.deadlines import BREACH_RULE
from propdesk.core.models import OPEN_STATUSES
from propdesk.store.db import Executor
from propdesk.store.escalations import ESCALATIONS
from propdesk.store.tables import TicketRow

TICKETS: Table = TicketRow.__table__  # type: ignore[assignment]  # a Table for ORM rows


def breached(db: Executor, now: datetime, limit: int) -> list[Any]:
    """Lock up to ``limit`` open tickets past their statutory deadline with no breach recorded."""
    due = cast(TICKETS.c.metadata["statutory"]["due_at"].astext, DateTime(timezone=True))
    done = exists().where(
        ESCALATIONS.c.ticket_pk == TICKETS.c.id, ESCALATIONS.c.rule == BREACH_RULE
    )
    stmt = (
        select(TICKETS)
        .where(TICKETS.c.status.in_([s.value for s in OPEN_STATUSES]))
        .where(TICKETS.c.metadata["statutory"].is_not(None), due <= now, ~done)
        .order_by(due)
        .limit(limit)
        .with_for_update(skip_locked=True, of=TICKETS)
    )
    return list(db.execute(stmt))
