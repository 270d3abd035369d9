"""The report's CSV export: the window's tickets, one row each, with the spec's fields."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import text

from propdesk.core.models import iso_utc
from propdesk.core.report_model import ReportWindow
from propdesk.store.db import Database, engine_of
from propdesk.store.report_queries import filters

#: The spec's ticket fields, in its order, then the lifecycle timestamps and location details.
CSV_COLUMNS = (
    "ticket_id",
    "short_description",
    "description",
    "category",
    "subcategory",
    "request_type",
    "urgency",
    "priority",
    "property_id",
    "unit_number",
    "requested_for",
    "assignment_group",
    "assigned_to",
    "status",
    "created_at",
    "updated_at",
    "email_id",
    "email_subject",
    "email_sender",
    "requires_contractor",
    "after_hours",
    "estimated_cost",
    "building",
    "floor",
    "received_at",
    "started_at",
    "resolved_at",
    "closed_at",
    "response_due_at",
    "resolution_due_at",
)


def export_rows(db: Database, window: ReportWindow, chunk: int = 2000) -> Iterator[dict[str, Any]]:
    """The window's tickets, oldest first, one dict per ticket with ``CSV_COLUMNS`` (an export is
    per ticket by nature; rows come through a server-side cursor in chunks)."""
    where, params = filters(window)
    stmt = text(f"""
        SELECT ticket_id, short_description, description, category, subcategory, request_type,
               urgency, priority, property_id, unit_number, requested_for, assignment_group,
               assigned_to, status, created_at, updated_at, message_id AS email_id,
               metadata ->> 'email_subject' AS email_subject,
               metadata ->> 'email_sender' AS email_sender,
               metadata ->> 'requires_contractor' AS requires_contractor,
               metadata ->> 'after_hours' AS after_hours,
               metadata ->> 'estimated_cost' AS estimated_cost,
               metadata ->> 'building' AS building, metadata ->> 'floor' AS floor,
               received_at, started_at, resolved_at, closed_at, response_due_at, resolution_due_at
        FROM tickets WHERE {where} ORDER BY received_at, id
    """)
    with engine_of(db).connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk).execute(stmt, params)
        for row in result.mappings():
            yield {k: (iso_utc(v) if isinstance(v, datetime) else v) for k, v in row.items()}
