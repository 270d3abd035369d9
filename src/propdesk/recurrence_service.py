"""Recurring problems: a new ticket for a unit and subcategory that had one within
``[report] recurring_days`` (the report's setting: one definition) is flagged and linked.

An ingest hook that runs before the notification hook: it writes ``recurring`` (this is the
n-th report) and ``recurs_after`` (the latest earlier ticket) into the new ticket's metadata, so
the assignee's mail and the ticket's JSON show the count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from propdesk.ingest import IngestHook
from propdesk.logging import get_logger
from propdesk.store import recurrence as store

log = get_logger(__name__)


class RecurrenceHook(IngestHook):
    """Flags each new ticket that repeats an earlier one of its unit and subcategory."""

    def __init__(self, days: int) -> None:
        self._days = days

    def tickets_created(
        self, session: Any, message: Any, parsed: Any, tickets: Sequence[Any]
    ) -> None:
        for row in tickets:
            if not row.unit_number or not row.subcategory:
                continue
            found = store.earlier(
                session,
                pk=row.id,
                property_id=row.property_id,
                unit=row.unit_number,
                subcategory=row.subcategory,
                received_at=row.received_at,
                days=self._days,
            )
            if not found.count:
                continue
            row.metadata_ = {
                **row.metadata_,
                "recurring": found.count + 1,
                "recurs_after": found.latest,
            }
            log.info(
                "ticket.recurring",
                ticket_id=row.ticket_id,
                recurring=found.count + 1,
                recurs_after=found.latest,
            )
