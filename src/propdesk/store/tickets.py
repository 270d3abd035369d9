"""Tickets repository: THE mapping between ``tickets`` rows and the core's ``Ticket``, and the
writes of a staff action (status change, re-assignment) on a locked ticket.

Both directions of the mapping live here and nowhere else: ``ticket_values`` (the core's frozen
ticket as row values, for ingest's insert) and ``ticket_from_row`` (a row back to the core
ticket, for the services and the reports).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, case, insert, literal_column, select, update

from propdesk.core.doubt import review_reasons
from propdesk.core.lifecycle import EventKind, TicketEvent, apply_status_change
from propdesk.core.mail_facts import Photo, is_photo
from propdesk.core.models import (
    Category,
    Priority,
    RequestType,
    Subcategory,
    Ticket,
    TicketMetadata,
    TicketNote,
    TicketStatus,
    Urgency,
)
from propdesk.store import incidents
from propdesk.store.db import Executor
from propdesk.store.repository import clean_json, clean_opt, clean_text
from propdesk.store.tables import (
    EVENT_ASSIGNED,
    EVENT_REVIEWED,
    EVENT_STATUS_CHANGE,
    AttachmentRow,
    MessageTicketRow,
    TicketEventRow,
    TicketRow,
)

TICKETS = cast(Table, TicketRow.__table__)
EVENTS = cast(Table, TicketEventRow.__table__)
ATTACHMENTS = cast(Table, AttachmentRow.__table__)
LINKS = cast(Table, MessageTicketRow.__table__)


def ticket_from_row(row: Any) -> Ticket:
    """The core ticket for one ``tickets`` row (an ORM ``TicketRow`` or a Core result row)."""
    meta = row.metadata_ if isinstance(row, TicketRow) else row._mapping["metadata"]
    return Ticket(
        ticket_id=row.ticket_id,
        short_description=row.short_description,
        description=row.description,
        category=Category(row.category),
        subcategory=Subcategory(row.subcategory) if row.subcategory else None,
        request_type=RequestType(row.request_type),
        urgency=Urgency(row.urgency),
        priority=Priority(row.priority),
        property_id=row.property_id,
        unit_number=row.unit_number,
        requested_for=row.requested_for,
        assignment_group=row.assignment_group,
        assigned_to=row.assigned_to,
        status=TicketStatus(row.status),
        received_at=row.received_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        message_id=row.message_id,
        metadata=TicketMetadata.from_dict(meta),
        started_at=row.started_at,
        resolved_at=row.resolved_at,
        closed_at=row.closed_at,
        status_notes=row.status_notes,
        notes=tuple(TicketNote.from_dict(n) for n in (row.notes or ())),
    )


def ticket_values(ticket: Ticket, due: tuple[datetime | None, datetime | None]) -> dict[str, Any]:
    """The core's frozen ticket as row values (text cleaned of NULs PostgreSQL cannot store);
    ``due`` is (response_due_at, resolution_due_at), from the core's SLA module."""
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
        "notes": clean_json([n.to_dict() for n in ticket.notes]),
        "response_due_at": due[0],
        "resolution_due_at": due[1],
        "triage_confidence": ticket.metadata.triage_confidence,
        "needs_review": ticket.metadata.needs_review,
        "review_reasons": [
            c(r) for r in review_reasons(ticket.metadata.unsure, ticket.metadata.matched_rules)
        ],
    }


# -- staff actions on one locked ticket ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LockedTicket:
    """A ticket read ``FOR UPDATE``: its row id, the core ticket and its SLA deadlines."""

    pk: int
    ticket: Ticket
    response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None


def lock(db: Executor, ticket_id: str) -> LockedTicket | None:
    """Lock the ticket named ``ticket_id`` (any case) until the transaction ends; None if absent."""
    row = db.execute(
        select(TICKETS).where(TICKETS.c.ticket_id == ticket_id.upper()).with_for_update()
    ).first()
    if row is None:
        return None
    return LockedTicket(
        int(row.id), ticket_from_row(row), row.response_due_at, row.resolution_due_at
    )


def photos_of(db: Executor, pk: int) -> list[Photo]:
    """The images of the email that created ticket ``pk``, in the email's order (what a new
    assignee gets with the ticket, like the first one did)."""
    stmt = (
        select(ATTACHMENTS)
        .join(LINKS, LINKS.c.inbound_message_id == ATTACHMENTS.c.inbound_message_id)
        .where(LINKS.c.ticket_pk == pk)
        .order_by(ATTACHMENTS.c.position)
    )
    return [
        Photo(a.filename, a.content_type, a.size, a.sha256, kept=a.blob_sha256 is not None)
        for a in db.execute(stmt).all()
        if is_photo(a.content_type, a.size, inline=a.inline)
    ]


def change_status(
    db: Executor,
    locked: LockedTicket,
    status: TicketStatus,
    *,
    by: str,
    at: datetime,
    note: str | None = None,
) -> Ticket:
    """Move a locked ticket through the core lifecycle (``InvalidTransition`` if refused) and
    store the move and its events: the one way staff actions and replies change a status."""
    after, happened = apply_status_change(locked.ticket, status, now=at, by=by, notes=note)
    save_status(db, locked.pk, after)
    add_lifecycle_events(db, locked.pk, happened)
    return after


def save_urgency(
    db: Executor,
    pk: int,
    *,
    before: Ticket,
    after: Ticket,
    by: str,
    due: tuple[datetime | None, datetime | None] | None = None,
) -> None:
    """Store an urgency change (a staff command), the SLA deadlines of the new urgency
    (``due``: response, resolution) and its ``urgency_changed`` event."""
    values: dict[str, Any] = {
        "urgency": after.urgency.value,
        "updated_at": after.updated_at,
        "next_escalation_at": _replan(after),
    }
    if due is not None:
        values["response_due_at"], values["resolution_due_at"] = due
    db.execute(update(TICKETS).where(TICKETS.c.id == pk).values(**values))
    db.execute(
        insert(EVENTS).values(
            ticket_pk=pk,
            kind="urgency_changed",
            actor=by,
            at=after.updated_at,
            data={"from": before.urgency.value, "to": after.urgency.value},
        )
    )


def save_status(db: Executor, pk: int, ticket: Ticket) -> None:
    """Store the status and lifecycle timestamps the core's transition produced."""
    db.execute(
        update(TICKETS)
        .where(TICKETS.c.id == pk)
        .values(
            status=ticket.status.value,
            updated_at=ticket.updated_at,
            started_at=ticket.started_at,
            resolved_at=ticket.resolved_at,
            closed_at=ticket.closed_at,
            status_notes=ticket.status_notes,
            next_escalation_at=_replan(ticket),
        )
    )


def _replan(ticket: Ticket) -> Any:
    """SQL for ``next_escalation_at`` after a status or urgency change: due at once, so the next
    pass plans the ticket from its new state (a raised urgency must not wait for the old, later
    time; a reopened one must breach again); never for Resolved/Closed; an incident's follower
    keeps its hold (it escalates through its lead)."""
    if not ticket.is_open:
        return None
    return case(
        (incidents.not_held(ticket.updated_at), ticket.updated_at),
        else_=TICKETS.c.next_escalation_at,
    )


def add_lifecycle_events(db: Executor, pk: int, events: Sequence[TicketEvent]) -> None:
    """The core's lifecycle events as ``ticket_events`` rows."""
    if not events:
        return
    db.execute(
        insert(EVENTS),
        [
            {
                "ticket_pk": pk,
                # The generic event uses ingest's kind name; specific ones the core's.
                "kind": EVENT_STATUS_CHANGE if e.kind is EventKind.STATUS_CHANGED else e.kind.value,
                "actor": e.by,
                "at": e.at,
                "data": {
                    "from": e.from_status.value if e.from_status else None,
                    "to": e.to_status.value if e.to_status else None,
                    "notes": e.notes,
                },
            }
            for e in events
        ],
    )


def save_assignee(db: Executor, pk: int, *, before: str, after: Ticket, by: str) -> None:
    """Store a re-assignment and its ``assigned`` event (from ``before`` to the new assignee)."""
    db.execute(
        update(TICKETS)
        .where(TICKETS.c.id == pk)
        .values(assigned_to=after.assigned_to, updated_at=after.updated_at)
    )
    db.execute(
        insert(EVENTS).values(
            ticket_pk=pk,
            kind=EVENT_ASSIGNED,
            actor=by,
            at=after.updated_at,
            data={"from": before, "to": after.assigned_to},
        )
    )


#: What a review changes in the metadata JSON (merged in with ``||``).
_REVIEWED: ColumnElement[Any] = literal_column("""'{"needs_review": false, "unsure": []}'::jsonb""")


def save_reviewed(
    db: Executor, pk: int, *, by: str, at: datetime, note: str | None = None
) -> list[str] | None:
    """Staff checked triage's doubt: ``needs_review`` off, in the metadata too (so a later
    assignee's mail no longer says triage was unsure), and a ``reviewed`` event keeping the
    reasons (so does ``review_reasons``); None when the ticket needed no review (no event)."""
    row = db.execute(
        update(TICKETS)
        .where(TICKETS.c.id == pk, TICKETS.c.needs_review.is_(True))
        .values(
            needs_review=False,
            updated_at=at,
            metadata=TICKETS.c.metadata.op("||")(_REVIEWED),
        )
        .returning(TICKETS.c.review_reasons)
    ).first()
    if row is None:
        return None
    reasons = list(row.review_reasons or ())
    db.execute(
        insert(EVENTS).values(
            ticket_pk=pk,
            kind=EVENT_REVIEWED,
            actor=by,
            at=at,
            data={"reasons": reasons, "note": note},
        )
    )
    return reasons
