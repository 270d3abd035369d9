"""Test support for the escalation tests: tickets written as ingest writes them, a clock."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import Session

from propdesk import app
from propdesk.config import Config
from propdesk.core.models import Priority, Ticket, TicketStatus, Urgency
from propdesk.core.rules import load_rules
from propdesk.core.sla import sla_deadlines
from propdesk.escalation_service import EscalationHook, EscalationService
from propdesk.store.tables import TicketRow
from propdesk.store.tickets import ticket_values
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


def create(engine: Engine, service: EscalationService, *tickets: Ticket) -> list[int]:
    """One creation transaction as ingest runs it: its ``ticket_row`` (with the SLA deadlines),
    then the escalation hook, in the same session."""
    with Session(engine) as session, session.begin():
        rows = []
        for t in tickets:
            due = sla_deadlines(t, POLICY)
            values = ticket_values(t, (due.response_due, due.resolution_due))
            rows.append(
                session.scalars(insert(TicketRow).values(**values).returning(TicketRow)).one()
            )
        EscalationHook(service).tickets_created(session, None, None, rows)
        return [r.id for r in rows]


def escalations(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT t.ticket_id, e.rule FROM escalations e JOIN tickets t"
                " ON t.id = e.ticket_pk ORDER BY e.id"
            )
        ).all()
    return [(r[0], r[1]) for r in rows]


def set_status(engine: Engine, ticket_id: str, status: str, at: datetime) -> None:
    """Move a ticket as staff do (``propdesk tickets set-status``: the core's lifecycle, its
    timestamps, events and tenant mail); Resolved from New goes through In Progress."""
    staff = app.status_change_service(Config(), engine)
    if status == TicketStatus.RESOLVED:
        staff.set_status(ticket_id, TicketStatus.IN_PROGRESS, now=at, by="test")
    staff.set_status(ticket_id, TicketStatus(status), now=at, by="test")
