"""Read side of ``propdesk tickets list|show|attachment``: tickets as the spec's JSON shape.

The CLI prints what these return; every query and every row -> dict mapping is here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from propdesk.core.models import iso_utc
from propdesk.store import repository as repo
from propdesk.store.db import Database, reading
from propdesk.store.escalations import sla_filters
from propdesk.store.repository import AttachmentInfo
from propdesk.store.tables import TicketRow


def ticket_json(t: TicketRow) -> dict[str, Any]:
    """The spec's ticket JSON shape (plus SLA deadlines and lifecycle timestamps)."""
    return {
        "ticket_id": t.ticket_id,
        "short_description": t.short_description,
        "description": t.description,
        "category": t.category,
        "subcategory": t.subcategory,
        "request_type": t.request_type,
        "urgency": t.urgency,
        "priority": t.priority,
        "property_id": t.property_id,
        "unit_number": t.unit_number,
        "requested_for": t.requested_for,
        "assignment_group": t.assignment_group,
        "assigned_to": t.assigned_to,
        "status": t.status,
        "created_at": iso_utc(t.created_at),
        "updated_at": iso_utc(t.updated_at),
        "email_id": t.message_id,
        "metadata": t.metadata_,
        "recurring": int((t.metadata_ or {}).get("recurring", 0)),
        "statutory_due_at": ((t.metadata_ or {}).get("statutory") or {}).get("due_at"),
        "received_at": iso_utc(t.received_at),
        "started_at": iso_utc(t.started_at),
        "resolved_at": iso_utc(t.resolved_at),
        "closed_at": iso_utc(t.closed_at),
        "status_notes": t.status_notes,
        "notes": t.notes,
        "response_due_at": iso_utc(t.response_due_at),
        "resolution_due_at": iso_utc(t.resolution_due_at),
        # triage's doubt: the columns are the truth (staff clear needs_review; the metadata
        # keeps what triage said at intake)
        "triage_confidence": t.triage_confidence,
        "needs_review": t.needs_review,
        "review_reasons": list(t.review_reasons or ()),
    }


def list_tickets(
    db: Database,
    status: str | None,
    *,
    now: datetime,
    breached: bool = False,
    due_within: timedelta | None = None,
    needs_review: bool = False,
) -> list[dict[str, Any]]:
    """Tickets oldest first, optionally of one status, breached, with a deadline soon, or that
    triage was unsure of and no one has checked yet (``needs_review``)."""
    where = list(sla_filters(now, breached=breached, due_within=due_within))
    if needs_review:
        where.append(TicketRow.needs_review.is_(True))
    with reading(db) as session:
        return [ticket_json(t) for t in repo.list_tickets(session, status, where)]


@dataclass(frozen=True)
class TicketDetail:
    """One ticket with its messages, events and attachments, JSON-ready (``pk`` for lookups)."""

    pk: int
    ticket: dict[str, Any]
    messages: list[dict[str, Any]]
    events: list[dict[str, Any]]
    attachments: list[dict[str, Any]]


def detail(db: Database, ticket_id: str) -> TicketDetail | None:
    """``tickets show``: the ticket named ``ticket_id`` (any case), None if there is none."""
    with reading(db) as s:
        t = repo.find_ticket(s, ticket_id.upper())
        if t is None:
            return None
        messages = [
            {
                "id": m.id,
                "mailbox": m.mailbox,
                "message_id": m.message_id,
                "sender": m.sender,
                "subject": m.subject,
                "received_at": iso_utc(m.received_at),
                "outcome": m.outcome,
                "size": m.size,
            }
            for m in repo.messages_of_ticket(s, t)
        ]
        events = [
            {"kind": e.kind, "actor": e.actor, "at": iso_utc(e.at), "data": e.data}
            for e in repo.events_of_ticket(s, t)
        ]
        attachments = [
            {
                "filename": a.filename,
                "name_as_sent": a.display_name,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
                "stored": a.stored,
                "note": a.note,
            }
            for a in repo.attachments_of_ticket(s, t)
        ]
        return TicketDetail(t.id, ticket_json(t), messages, events, attachments)


def attachment(db: Database, ticket_id: str, name: str) -> tuple[AttachmentInfo, bytes | None]:
    """The first attachment called ``name`` of a ticket and its bytes (None if not kept).

    Raises ``LookupError`` naming what is missing (the ticket, or that attachment).
    """
    with reading(db) as s:
        t = repo.find_ticket(s, ticket_id.upper())
        if t is None:
            raise LookupError(f"no ticket {ticket_id}")
        infos = [a for a in repo.attachments_of_ticket(s, t) if a.filename == name]
        if not infos:
            raise LookupError(f"{t.ticket_id} has no attachment {name!r}")
        info = infos[0]
        return info, repo.attachment_bytes(s, info.sha256) if info.stored else None
