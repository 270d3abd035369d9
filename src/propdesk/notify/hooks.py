"""In-transaction hooks the ingest service calls: they write outbox rows in ITS transaction.

Why in the same transaction: a ticket committed without its notifications (or notifications for a
ticket that was rolled back) is exactly the inconsistency the outbox exists to prevent. The hooks
only insert rows; sending happens later in the delivery task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.core.message import InboundMessage, NotTicketReason
from propdesk.core.models import Ticket, Urgency
from propdesk.core.notifications import HeldMail, Source, plan_created, plan_flood_notice
from propdesk.core.policy import SlaTarget
from propdesk.ingest import IngestHook
from propdesk.ingest.stages import FLOOD_SENDER
from propdesk.logging import get_logger
from propdesk.mail.compose import parse_message_id
from propdesk.store import outbox as repo
from propdesk.store.ingest_repo import flood_key
from propdesk.store.tickets import ticket_from_row

log = get_logger(__name__)


def source_of(message: InboundMessage, requester: str = "") -> Source:
    """Threading and greeting data from the tenant's email. ``requester``: whom the tickets are
    for; a staff-forwarded request greets the forwarded original's sender, not the staff."""
    sender = message.sender
    name = sender.name if sender is not None else ""
    if requester and sender is not None and requester != sender.address:
        for forwarded in message.forwarded:
            if forwarded.sender is not None and forwarded.sender.address == requester:
                name = forwarded.sender.name
                break
    # A message without a Message-ID gets a synthetic one from the parser: nothing to thread to.
    parent = None if message.message_id.endswith("@propdesk.invalid>") else message.message_id
    return Source(
        message_id=parent,
        references=tuple(message.references),
        sender_name=name,
        attachments=tuple(a.filename for a in message.attachments if not a.inline),
    )


class NotificationHooks(IngestHook):
    """The notification side of ingest: created tickets -> outbox rows; bounces -> bounced."""

    def __init__(
        self,
        sla: Mapping[Urgency, SlaTarget],
        message_id_domain: str,
        *,
        enabled: bool = True,
        clock: Clock = SYSTEM_CLOCK,
        flood_notify: str = "",
    ) -> None:
        self._sla = sla
        self._domain = message_id_domain
        self._enabled = enabled
        self._clock = clock
        self._flood_notify = flood_notify

    def tickets_created(
        self, session: Any, message: Any, parsed: InboundMessage, tickets: Sequence[Any]
    ) -> None:
        """Assignee mail per ticket and ONE acknowledgement per tenant for the whole email."""
        if not self._enabled or not tickets:
            return
        made = [t if isinstance(t, Ticket) else ticket_from_row(t) for t in tickets]
        planned = plan_created(made, source_of(parsed, made[0].requested_for), self._sla)
        written = repo.add(session, planned, self._clock.now(), self._domain)
        log.debug("outbox.queued", count=len(written), tickets=[t.ticket_id for t in made])

    def comment_added(
        self, session: Any, message: Any, parsed: InboundMessage, ticket: Any, event: Any
    ) -> None:
        """A tenant's reply added to a ticket: no mail (the assignee sees it on the ticket).

        Deliberate: acknowledging every reply is what turns two auto-responders into a loop.
        """

    def message_held(
        self, session: Any, message: Any, parsed: InboundMessage, *, notify: bool
    ) -> None:
        """The first hold of a flood this hour: one staff notice (later holds stay silent)."""
        if not (self._enabled and notify and self._flood_notify):
            return
        by_sender = message.reason == FLOOD_SENDER
        held = HeldMail(
            key=flood_key(sender=message.sender)
            if by_sender
            else flood_key(mailbox=message.mailbox),
            reason=str(message.reason),
            detail=str(message.error or ""),
            sender=str(message.sender or ""),
            mailbox=str(message.mailbox),
            subject=str(message.subject or ""),
            message_pk=int(message.id),
            received_at=message.received_at,
        )
        repo.add(
            session, [plan_flood_notice(self._flood_notify, held)], self._clock.now(), self._domain
        )
        log.warning("ingest.flood_notice", key=held.key, recipient=self._flood_notify)

    def message_recorded(self, session: Any, message: Any, parsed: InboundMessage) -> None:
        """A bounce that names one of our Message-IDs marks that notification bounced."""
        bounced = parsed.bounced_message_id
        if parsed.not_ticket is not NotTicketReason.BOUNCE or not bounced:
            return
        if parse_message_id(bounced) is None:
            return
        detail = f"bounce {parsed.message_id}: {parsed.subject}"[:1000]
        row_id = repo.mark_bounced(session, bounced, self._clock.now(), detail)
        if row_id is not None:
            log.warning("outbox.bounced", outbox_id=row_id, message_id=bounced)
