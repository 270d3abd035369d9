"""The auto-close pass: Resolved tickets nobody answered close after N days.

A periodic task of the daemon loop (like the escalation pass), on the injected clock. Each
ticket is locked ``FOR UPDATE SKIP LOCKED`` and moved through the core lifecycle
(``propdesk.store.tickets.change_status``) in one transaction per batch, with a ``closed``
event whose note says why; a reply that is being ingested holds the lock and wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.core.models import TicketStatus
from propdesk.logging import get_logger
from propdesk.store import conversations, tickets
from propdesk.store.db import Database, transaction

log = get_logger(__name__)


@dataclass(frozen=True)
class CloseStats:
    """What one auto-close pass did."""

    closed: list[str] = field(default_factory=list)

    @property
    def idle(self) -> bool:
        return not self.closed

    def summary(self) -> str:
        return f"closed {len(self.closed)}"


@dataclass(frozen=True)
class AutoClose:
    """Closes Resolved tickets with no reply for ``days`` days."""

    db: Database
    days: int
    clock: Clock = SYSTEM_CLOCK
    batch_size: int = 500
    name: str = "auto_close"
    description: str = "close Resolved tickets nobody answered for N days"

    def run_once(self) -> CloseStats:
        stats = CloseStats()
        if self.days <= 0:
            return stats
        now = self.clock.now()
        note = f"no reply for {self.days} days after it was resolved"
        with transaction(self.db) as tx:
            for locked in conversations.stale_resolved(
                tx, now - timedelta(days=self.days), self.batch_size
            ):
                tickets.change_status(
                    tx, locked, TicketStatus.CLOSED, by="propdesk", at=now, note=note
                )
                stats.closed.append(locked.ticket.ticket_id)
        if stats.closed:
            log.info("conversation.auto_closed", tickets=stats.closed, days=self.days)
        return stats
