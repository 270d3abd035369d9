"""The status-change service: staff move a ticket through its lifecycle or re-assign it.

The ticket update, its events and its outbox rows are written in ONE transaction with the ticket
row locked: either the tenant is told and the change is recorded, or neither happens. The move
itself is decided by the core (``propdesk.core.lifecycle.apply_status_change``), which refuses
invalid moves listing the allowed ones; who is mailed is the core's too
(``propdesk.core.notifications``). Rows are the store's (``propdesk.store.tickets``, ``outbox``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.core.models import Ticket, TicketStatus, Urgency
from propdesk.core.notes import tenant_phone
from propdesk.core.notifications import AssignmentFacts, Source, plan_assigned, plan_status_change
from propdesk.core.policy import SlaTarget
from propdesk.core.tenants import greeting_name
from propdesk.errors import PropdeskError
from propdesk.mail.compose import valid_address
from propdesk.store import outbox, tenants, tickets
from propdesk.store.db import Database, Executor, transaction


class TicketNotFound(PropdeskError):
    """No ticket has that id."""


class BadAddress(PropdeskError):
    """An address given on the command line is not a plain ``local@domain``."""


@dataclass(frozen=True)
class ChangeResult:
    """What a staff action did: the ticket after it and the outbox rows it queued."""

    ticket: Ticket
    previous: str
    queued: list[outbox.Written]


@dataclass(frozen=True)
class StatusChangeService:
    """``set-status`` and ``assign``, for the CLI (and any later staff interface).

    ``now`` defaults to the injected clock's; a caller replaying history may pass its own.
    """

    db: Database
    sla: Mapping[Urgency, SlaTarget]
    message_id_domain: str
    tenant_status_updates: bool = True
    notifications_enabled: bool = True
    clock: Clock = field(default=SYSTEM_CLOCK)
    timezone: str = "UTC"  # the business time zone the assignee's deadlines are shown in
    max_photo_bytes: int = 5 * 1024 * 1024

    def set_status(
        self,
        ticket_id: str,
        status: TicketStatus,
        *,
        by: str,
        note: str | None = None,
        now: datetime | None = None,
    ) -> ChangeResult:
        """Move a ticket through the core lifecycle; raises ``InvalidTransition`` if refused."""
        at = now if now is not None else self.clock.now()
        with transaction(self.db) as tx:
            locked = self._locked(tx, ticket_id)
            before = locked.ticket
            after = tickets.change_status(tx, locked, status, by=by, at=at, note=note)
            planned = (
                plan_status_change(
                    after,
                    self.sla,
                    note=note,
                    tenant_status_updates=self.tenant_status_updates,
                    tenant_name=greeting_name(
                        tenants.find_by_email(tx, after.requested_for),
                        after.metadata.email_sender_name,
                    ),
                )
                if self.notifications_enabled
                else []
            )
            queued = outbox.add(tx, planned, at, self.message_id_domain)
        return ChangeResult(after, before.status.value, queued)

    def assign(
        self, ticket_id: str, address: str, *, by: str, now: datetime | None = None
    ) -> ChangeResult:
        """Give a ticket to another assignee and tell them."""
        address = address.strip().lower()
        if not valid_address(address):
            raise BadAddress(f"not a plain email address: {address!r}")
        at = now if now is not None else self.clock.now()
        with transaction(self.db) as tx:
            locked = self._locked(tx, ticket_id)
            before = locked.ticket
            after = replace(before, assigned_to=address, updated_at=at)
            tickets.save_assignee(tx, locked.pk, before=before.assigned_to, after=after, by=by)
            planned = (
                plan_assigned(after, self.sla, *self._assignment_facts(tx, locked))
                if self.notifications_enabled
                else []
            )
            queued = outbox.add(tx, planned, at, self.message_id_domain)
        return ChangeResult(after, before.assigned_to, queued)

    def _assignment_facts(
        self, tx: Executor, locked: tickets.LockedTicket
    ) -> tuple[Source, AssignmentFacts]:
        """What the new assignee needs: the tenant (directory, else the From name), the photos
        of the email and the deadlines, as the first assignee got them."""
        ticket = locked.ticket
        tenant = tenants.find_by_email(tx, ticket.requested_for)
        phone = (tenant.phone if tenant is not None else "") or tenant_phone(ticket.notes, "")
        source = Source(
            None,
            sender_name=greeting_name(tenant, ticket.metadata.email_sender_name),
            phone=phone or "",
            photos=tuple(tickets.photos_of(tx, locked.pk)),
        )
        facts = AssignmentFacts(
            deadlines={ticket.ticket_id: (locked.response_due_at, locked.resolution_due_at)},
            timezone=self.timezone,
            max_photo_bytes=self.max_photo_bytes,
        )
        return source, facts

    def mark_reviewed(
        self, ticket_id: str, *, by: str, note: str | None = None, now: datetime | None = None
    ) -> list[str] | None:
        """Staff checked a ticket triage was unsure of: it leaves ``tickets list --needs-review``.
        The reasons it had; None when it needed no review (nothing written). No mail."""
        at = now if now is not None else self.clock.now()
        with transaction(self.db) as tx:
            locked = self._locked(tx, ticket_id)
            return tickets.save_reviewed(tx, locked.pk, by=by, at=at, note=note)

    @staticmethod
    def _locked(tx: Executor, ticket_id: str) -> tickets.LockedTicket:
        locked = tickets.lock(tx, ticket_id)
        if locked is None:
            raise TicketNotFound(f"no ticket {ticket_id}")
        return locked
