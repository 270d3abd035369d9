"""Tickets for notification tests (plain core data, no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from propdesk.core.models import (
    Category,
    EstimatedCost,
    Priority,
    RequestType,
    Subcategory,
    Ticket,
    TicketMetadata,
    TicketStatus,
    Urgency,
)

NOW = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)


def ticket(n: int = 1, **changes: Any) -> Ticket:
    base = Ticket(
        ticket_id=f"TKT-{n:08X}",
        short_description="Maintenance request: Broken toilet in Unit 3B",
        description="The toilet is not flushing properly. <b>Please</b> help & hurry.",
        category=Category.MAINTENANCE,
        subcategory=Subcategory.PLUMBING,
        request_type=RequestType.REPAIR,
        urgency=Urgency.MEDIUM,
        priority=Priority.MEDIUM,
        property_id="P03B",
        unit_number="Unit 3B",
        requested_for="john.tenant@example.com",
        assignment_group="Property Maintenance",
        assigned_to="plumber@property.com",
        status=TicketStatus.NEW,
        received_at=NOW,
        created_at=NOW,
        updated_at=NOW,
        message_id="<abc123@mail.example.com>",
        metadata=TicketMetadata(
            email_subject="Broken toilet in Unit 3B",
            email_sender="john.tenant@example.com",
            estimated_cost=EstimatedCost.LOW,
        ),
    )
    return replace(base, **changes)
