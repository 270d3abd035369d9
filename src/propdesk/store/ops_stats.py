"""What ops ask the database: counts by outcome, category, status; the outbox's backlog.

One read (a handful of GROUP BY queries) serves both ``/metrics`` (a collector that asks at
scrape time, so the numbers are the database's, across restarts and across daemons) and
``propdesk status``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from propdesk.store.tables import InboundMessageRow, MailboxStateRow, TicketRow
from propdesk.store.tables_escalation import EscalationRow, SlaBreachRow
from propdesk.store.tables_outbox import OutboxRow


@dataclass(frozen=True)
class OpsSnapshot:
    """Counts keyed by their label values (tuples), plus the outbox's oldest pending age."""

    messages: dict[tuple[str, str], int] = field(default_factory=dict)  # (mailbox, outcome)
    tickets: dict[tuple[str, str], int] = field(default_factory=dict)  # (category, urgency)
    ticket_status: dict[str, int] = field(default_factory=dict)
    notifications: dict[str, int] = field(default_factory=dict)  # outbox status
    escalations: dict[str, int] = field(default_factory=dict)  # rule
    breaches: dict[str, int] = field(default_factory=dict)  # kind
    oldest_pending_seconds: float = 0.0
    last_recorded: dict[str, datetime] = field(default_factory=dict)  # mailbox -> newest row

    @property
    def quarantined(self) -> int:
        return sum(n for (_mb, outcome), n in self.messages.items() if outcome == "quarantined")


def snapshot(session: Session, now: datetime) -> OpsSnapshot:
    """Everything in one read-only session."""
    msg = InboundMessageRow
    messages = {
        (str(mb), str(outcome)): int(n)
        for mb, outcome, n in session.execute(
            select(msg.mailbox, msg.outcome, func.count()).group_by(msg.mailbox, msg.outcome)
        )
    }
    tickets = {
        (str(c), str(u)): int(n)
        for c, u, n in session.execute(
            select(TicketRow.category, TicketRow.urgency, func.count()).group_by(
                TicketRow.category, TicketRow.urgency
            )
        )
    }
    status = _by(session, TicketRow.status)
    notifications = _by(session, OutboxRow.status)
    escalations = _by(session, EscalationRow.rule)
    breaches = _by(session, SlaBreachRow.kind)
    oldest = session.scalar(
        select(func.min(OutboxRow.created_at)).where(OutboxRow.status == "pending")
    )
    last = {
        str(mb): at
        for mb, at in session.execute(
            select(msg.mailbox, func.max(msg.recorded_at)).group_by(msg.mailbox)
        )
    }
    for state in session.scalars(select(MailboxStateRow)):
        last.setdefault(state.mailbox, state.updated_at)
    return OpsSnapshot(
        messages=messages,
        tickets=tickets,
        ticket_status=status,
        notifications=notifications,
        escalations=escalations,
        breaches=breaches,
        oldest_pending_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        last_recorded=last,
    )


def _by(session: Session, column: object) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).group_by(column))  # type: ignore[call-overload]
    return {str(k): int(n) for k, n in rows}
