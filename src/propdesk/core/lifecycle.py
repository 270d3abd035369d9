"""Ticket lifecycle: one function applies a status change and says what it caused.

Why one function: the transition table, the timestamps, the notes and the events that drive
notifications must change together, or a ticket ends up Resolved without a ``resolved_at`` or
Closed without telling the tenant. The caller (store/CLI) persists the new ticket and the events
in one transaction.

Deviations from the spec's ``update_ticket_status``, on purpose:
- ``started_at`` is set on the *first* move to In Progress only; resetting it after Pending
  would erase the response time the SLA measures.
- Reopening (Resolved -> In Progress) clears ``resolved_at``: an open ticket is not resolved,
  and the SLA then counts the final resolution.
- ``status_notes`` keeps the previous note when no new one is given (as the spec's update does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from propdesk.core.models import Ticket, TicketStatus, ensure_utc
from propdesk.errors import PropdeskError

S = TicketStatus

#: The spec's STATUS_TRANSITIONS; tuple order is the order error messages list them in.
TRANSITIONS: Mapping[TicketStatus, tuple[TicketStatus, ...]] = MappingProxyType(
    {
        S.NEW: (S.IN_PROGRESS, S.CLOSED),
        S.IN_PROGRESS: (S.PENDING, S.RESOLVED, S.CLOSED),
        S.PENDING: (S.IN_PROGRESS, S.RESOLVED),
        S.RESOLVED: (S.CLOSED, S.IN_PROGRESS),
        S.CLOSED: (),
    }
)


class InvalidTransition(PropdeskError):
    """A status change the transition table does not allow; says which moves are allowed."""

    def __init__(self, ticket_id: str, current: TicketStatus, requested: TicketStatus) -> None:
        self.ticket_id = ticket_id
        self.current = current
        self.requested = requested
        self.allowed = TRANSITIONS[current]
        moves = ", ".join(s.value for s in self.allowed) or "none (it is terminal)"
        super().__init__(
            f"{ticket_id}: cannot move from {current.value} to {requested.value}; "
            f"allowed from {current.value}: {moves}"
        )


class EventKind(StrEnum):
    """What happened to a ticket; notifications and the audit trail key on these."""

    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    STARTED = "started"
    PENDING = "pending"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    ESCALATED = "escalated"


_KIND_OF_MOVE: Mapping[tuple[TicketStatus, TicketStatus], EventKind] = MappingProxyType(
    {
        (S.RESOLVED, S.IN_PROGRESS): EventKind.REOPENED,
        (S.NEW, S.IN_PROGRESS): EventKind.STARTED,
    }
)
_KIND_OF_STATUS: Mapping[TicketStatus, EventKind] = MappingProxyType(
    {S.PENDING: EventKind.PENDING, S.RESOLVED: EventKind.RESOLVED, S.CLOSED: EventKind.CLOSED}
)


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """One thing that happened to a ticket, with who did it and when."""

    ticket_id: str
    kind: EventKind
    at: datetime
    by: str
    from_status: TicketStatus | None = None
    to_status: TicketStatus | None = None
    notes: str | None = None


def creation_events(ticket: Ticket, by: str = "propdesk") -> list[TicketEvent]:
    """The events of a newly built ticket (the store records them with the ticket)."""
    return [
        TicketEvent(ticket.ticket_id, EventKind.CREATED, ticket.created_at, by, None, ticket.status)
    ]


def allowed_moves(status: TicketStatus) -> tuple[TicketStatus, ...]:
    """Where a ticket may go from ``status``."""
    return TRANSITIONS[status]


def apply_status_change(
    ticket: Ticket,
    new_status: TicketStatus,
    *,
    now: datetime,
    by: str,
    notes: str | None = None,
) -> tuple[Ticket, list[TicketEvent]]:
    """Move ``ticket`` to ``new_status`` at ``now`` on behalf of ``by``.

    Returns the updated ticket and its events: always a ``status_changed`` event, followed by a
    specific one (started, pending, resolved, reopened, closed) when the move has one.
    Raises ``InvalidTransition`` (listing the allowed moves) for a move the table refuses,
    including a "move" to the current status.
    """
    new_status = TicketStatus(new_status)
    if new_status not in TRANSITIONS[ticket.status]:
        raise InvalidTransition(ticket.ticket_id, ticket.status, new_status)
    now = ensure_utc(now, "now")
    old = ticket.status
    changes: dict[str, object] = {"status": new_status, "updated_at": now}
    if new_status is S.IN_PROGRESS:
        if ticket.started_at is None:
            changes["started_at"] = now
        if old is S.RESOLVED:
            changes["resolved_at"] = None
    elif new_status is S.RESOLVED:
        changes["resolved_at"] = now
    elif new_status is S.CLOSED:
        changes["closed_at"] = now
    if notes:
        changes["status_notes"] = notes
    updated = replace(ticket, **changes)  # type: ignore[arg-type]

    def event(kind: EventKind) -> TicketEvent:
        return TicketEvent(ticket.ticket_id, kind, now, by, old, new_status, notes)

    events = [event(EventKind.STATUS_CHANGED)]
    specific = _KIND_OF_MOVE.get((old, new_status)) or _KIND_OF_STATUS.get(new_status)
    if specific is not None:
        events.append(event(specific))
    return updated, events
