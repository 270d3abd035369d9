"""Staff actions on a ticket (status change, re-assignment) with their notifications.

The ticket update, its events and its outbox rows are written in ONE transaction with the ticket
row locked: either the tenant is told and the change is recorded, or neither happens. The move
itself is decided by the core (``propdesk.core.lifecycle.apply_status_change``), which refuses
invalid moves listing the allowed ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, insert, select, update

from propdesk.core.lifecycle import EventKind, apply_status_change
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
from propdesk.core.policy import SlaTarget
from propdesk.errors import PropdeskError
from propdesk.mail.compose import valid_address
from propdesk.notify.events import plan_assigned, plan_status_change
from propdesk.store import outbox as outbox_repo
from propdesk.store.tables import EVENT_ASSIGNED, EVENT_STATUS_CHANGE, TicketEventRow, TicketRow

tickets = cast(Table, TicketRow.__table__)
events = cast(Table, TicketEventRow.__table__)


class TicketNotFound(PropdeskError):
    """No ticket has that id."""


class BadAddress(PropdeskError):
    """An address given on the command line is not a plain ``local@domain``."""


@dataclass(frozen=True)
class ChangeResult:
    """What a staff action did: the ticket after it and the outbox rows it queued."""

    ticket: Ticket
    previous: str
    queued: list[outbox_repo.Written]


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
    )


def _locked(conn: Connection, ticket_id: str) -> Any:
    row = conn.execute(
        select(tickets).where(tickets.c.ticket_id == ticket_id.upper()).with_for_update()
    ).first()
    if row is None:
        raise TicketNotFound(f"no ticket {ticket_id}")
    return row


@dataclass(frozen=True)
class StaffActions:
    """``set-status`` and ``assign``, for the CLI (and any later staff interface)."""

    engine: Engine
    sla: Mapping[Urgency, SlaTarget]
    message_id_domain: str
    tenant_status_updates: bool = True
    notifications_enabled: bool = True

    def set_status(
        self,
        ticket_id: str,
        status: TicketStatus,
        *,
        now: datetime,
        by: str,
        note: str | None = None,
    ) -> ChangeResult:
        """Move a ticket through the core lifecycle; raises ``InvalidTransition`` if refused."""
        with self.engine.begin() as conn:
            row = _locked(conn, ticket_id)
            before = ticket_from_row(row)
            after, happened = apply_status_change(before, status, now=now, by=by, notes=note)
            conn.execute(
                update(tickets)
                .where(tickets.c.id == row.id)
                .values(
                    status=after.status.value,
                    updated_at=after.updated_at,
                    started_at=after.started_at,
                    resolved_at=after.resolved_at,
                    closed_at=after.closed_at,
                    status_notes=after.status_notes,
                )
            )
            conn.execute(
                insert(events),
                [
                    {
                        "ticket_pk": row.id,
                        # The generic event uses ingest's kind name; specific ones the core's.
                        "kind": EVENT_STATUS_CHANGE
                        if e.kind is EventKind.STATUS_CHANGED
                        else e.kind.value,
                        "actor": e.by,
                        "at": e.at,
                        "data": {
                            "from": e.from_status.value if e.from_status else None,
                            "to": e.to_status.value if e.to_status else None,
                            "notes": e.notes,
                        },
                    }
                    for e in happened
                ],
            )
            planned = (
                plan_status_change(
                    after, self.sla, note=note, tenant_status_updates=self.tenant_status_updates
                )
                if self.notifications_enabled
                else []
            )
            queued = outbox_repo.add(conn, planned, now, self.message_id_domain)
        return ChangeResult(after, before.status.value, queued)

    def assign(self, ticket_id: str, address: str, *, now: datetime, by: str) -> ChangeResult:
        """Give a ticket to another assignee and tell them."""
        address = address.strip().lower()
        if not valid_address(address):
            raise BadAddress(f"not a plain email address: {address!r}")
        with self.engine.begin() as conn:
            row = _locked(conn, ticket_id)
            before = ticket_from_row(row)
            after = replace(before, assigned_to=address, updated_at=now)
            conn.execute(
                update(tickets)
                .where(tickets.c.id == row.id)
                .values(assigned_to=address, updated_at=now)
            )
            conn.execute(
                insert(events).values(
                    ticket_pk=row.id,
                    kind=EVENT_ASSIGNED,
                    actor=by,
                    at=now,
                    data={"from": before.assigned_to, "to": address},
                )
            )
            planned = plan_assigned(after, self.sla) if self.notifications_enabled else []
            queued = outbox_repo.add(conn, planned, now, self.message_id_domain)
        return ChangeResult(after, before.assigned_to, queued)
