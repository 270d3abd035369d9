"""Read-side queries for analytics: stream tickets without loading them all at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from propdesk.core.escalation import SLA_WARNING_RULE
from propdesk.core.models import Ticket
from propdesk.store.tables import TicketRow
from propdesk.store.tables_escalation import EscalationRow
from propdesk.store.tickets import ticket_from_row

_CHUNK = 2000


def iter_tickets(
    session: Session, since: datetime | None = None, until: datetime | None = None
) -> Iterator[Ticket]:
    """Tickets received in [since, until), as core tickets, fetched in server-side chunks."""
    query = select(TicketRow).order_by(TicketRow.id).execution_options(yield_per=_CHUNK)
    if since is not None:
        query = query.where(TicketRow.received_at >= since)
    if until is not None:
        query = query.where(TicketRow.received_at < until)
    for row in session.scalars(query):
        yield ticket_from_row(row)
        session.expunge(row)  # keep the identity map from growing with the whole table


def escalated_ticket_ids(
    session: Session, since: datetime | None = None, until: datetime | None = None
) -> set[str]:
    """Tickets with at least one real escalation (near-breach warnings do not count)."""
    query = (
        select(TicketRow.ticket_id)
        .join(EscalationRow, EscalationRow.ticket_pk == TicketRow.id)
        .where(EscalationRow.rule != SLA_WARNING_RULE)
        .distinct()
    )
    if since is not None:
        query = query.where(TicketRow.received_at >= since)
    if until is not None:
        query = query.where(TicketRow.received_at < until)
    return set(session.scalars(query))
