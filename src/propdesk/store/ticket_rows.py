"""The core's ``Ticket`` as ``tickets`` row values (text cleaned of what PostgreSQL refuses)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from propdesk.core.models import Ticket
from propdesk.store.repository import clean_json, clean_opt, clean_text


def ticket_values(ticket: Ticket, due: tuple[datetime | None, datetime | None]) -> dict[str, Any]:
    """Row values of ``ticket`` with its (response, resolution) SLA deadlines."""
    c = clean_text
    return {
        "ticket_id": ticket.ticket_id,
        "short_description": c(ticket.short_description),
        "description": c(ticket.description),
        "category": ticket.category.value,
        "subcategory": None if ticket.subcategory is None else ticket.subcategory.value,
        "request_type": ticket.request_type.value,
        "urgency": ticket.urgency.value,
        "priority": ticket.priority.value,
        "property_id": c(ticket.property_id),
        "unit_number": clean_opt(ticket.unit_number),
        "requested_for": c(ticket.requested_for),
        "assignment_group": c(ticket.assignment_group),
        "assigned_to": c(ticket.assigned_to),
        "status": ticket.status.value,
        "received_at": ticket.received_at,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "started_at": ticket.started_at,
        "resolved_at": ticket.resolved_at,
        "closed_at": ticket.closed_at,
        "status_notes": clean_opt(ticket.status_notes),
        "message_id": c(ticket.message_id),
        "metadata_": clean_json(ticket.metadata.to_dict()),
        "response_due_at": due[0],
        "resolution_due_at": due[1],
    }
