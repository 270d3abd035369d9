"""Test support for the escalation tests: tickets written as ingest writes them, a clock."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from propdesk.core.models import Priority, Ticket, Urgency
from propdesk.core.rules import load_rules
from propdesk.escalation_service import EscalationService
from propdesk.store.tables import TicketRow
from tests.integration.notify_support import Clock
from tests.unit.helpers_core import make_ticket as base_ticket

__all__ = ["NIGHT", "T0", "Clock", "create", "escalations", "make_ticket", "set_status"]

# A Wednesday, 10:00 UTC: inside the default business hours (Mon-Fri 08-18, UTC).
T0 = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
# A Wednesday, 23:00 UTC: after hours.
NIGHT = datetime(2026, 3, 4, 23, 0, tzinfo=UTC)
POLICY = load_rules().policy  # the default rules: supervisor after 30 min, SLA 30 min / 4 h

_serial = iter(range(1, 1_000_000))


def make_ticket(
    received_at: datetime = T0,
    *,
    urgency: str = "1",
    requires_contractor: bool = False,
    after_hours: bool = False,
) -> Ticket:
    """The core helpers' ticket with a fresh id, received at ``received_at``."""
    return base_ticket(
        ticket_id=f"TKT-{next(_serial):08X}",
        urgency=Urgency(urgency),
        priority=Priority(urgency),
        received_at=received_at,
        created_at=received_at,
        updated_at=received_at,
        description="Water is pouring through the ceiling of my bathroom.",
        metadata_requires_contractor=requires_contractor,
        metadata_after_hours=after_hours,
    )


def insert_ticket(session: Session, ticket: Ticket) -> int:
    """Write a ticket row the way ingest does (deadlines from the SLA targets)."""
    target = POLICY.sla[ticket.urgency]
    row = ticket.to_dict()
    params = {
        **{k: row[k] for k in _COLUMNS},
        "received_at": ticket.received_at,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "message_id": ticket.message_id,
        "metadata": ticket.metadata.to_dict(),
        "response_due_at": ticket.received_at + target.response,
        "resolution_due_at": ticket.received_at + target.resolution,
    }
    return int(
        session.execute(
            TicketRow.__table__.insert().values(**params).returning(TicketRow.id)
        ).scalar_one()
    )


_COLUMNS = (
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
)


def create(engine: Engine, service: EscalationService, *tickets: Ticket) -> list[int]:
    """One creation transaction: rows plus the hook, as ingest does it."""
    with Session(engine) as session, session.begin():
        pks = [insert_ticket(session, t) for t in tickets]
        service.tickets_created(session, pks)
    return pks


def escalations(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT t.ticket_id, e.rule FROM escalations e JOIN tickets t"
                " ON t.id = e.ticket_pk ORDER BY e.id"
            )
        ).all()
    return [(r[0], r[1]) for r in rows]


def set_status(engine: Engine, pk: int, status: str, at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE tickets SET status = :s, updated_at = :at WHERE id = :pk"),
            {"s": status, "at": at, "pk": pk},
        )
