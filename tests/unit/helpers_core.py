"""A ready-made ticket for core unit tests (not a fixture: plain data, changed with replace)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from propdesk.core.models import (
    Category,
    Priority,
    RequestType,
    Subcategory,
    Ticket,
    TicketMetadata,
    TicketStatus,
    Urgency,
)

RECEIVED = datetime(2025, 6, 17, 10, 30, tzinfo=UTC)


def make_ticket(**changes: Any) -> Ticket:
    """A New urgency-1 plumbing ticket received at RECEIVED; ``metadata_*`` keys set metadata."""
    meta = {
        k.removeprefix("metadata_"): changes.pop(k)
        for k in list(changes)
        if k.startswith("metadata_")
    }
    ticket = Ticket(
        ticket_id="TKT-A1B2C3D4",
        short_description="Maintenance request: Broken toilet in Unit 3B",
        description="Tenant reported: Toilet is not flushing properly",
        category=Category.MAINTENANCE,
        subcategory=Subcategory.PLUMBING,
        request_type=RequestType.REPAIR,
        urgency=Urgency.HIGH,
        priority=Priority.HIGH,
        property_id="P03B",
        unit_number="Unit 3B",
        requested_for="john.tenant@example.com",
        assignment_group="Property Maintenance",
        assigned_to="plumber@property.com",
        status=TicketStatus.NEW,
        received_at=RECEIVED,
        created_at=RECEIVED,
        updated_at=RECEIVED,
        message_id="<email_123@example.com>",
        metadata=TicketMetadata(
            email_subject="Broken toilet in Unit 3B",
            email_sender="john.tenant@example.com",
        ),
    )
    if meta:
        changes["metadata"] = replace(ticket.metadata, **meta)
    return replace(ticket, **changes)
