"""Tickets for notification tests: the core helpers' ticket with a number and urgency 2."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from propdesk.core.models import Priority, Ticket, Urgency
from tests.unit.helpers_core import make_ticket

NOW = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)


def ticket(n: int = 1, **changes: Any) -> Ticket:
    """Ticket ``TKT-0000000n``: medium urgency, a description with markup-like characters."""
    fields: dict[str, Any] = {
        "ticket_id": f"TKT-{n:08X}",
        "urgency": Urgency.MEDIUM,
        "priority": Priority.MEDIUM,
        "description": "The toilet is not flushing properly. <b>Please</b> help & hurry.",
        "message_id": "<abc123@mail.example.com>",
        **changes,
    }
    return make_ticket(**fields)
