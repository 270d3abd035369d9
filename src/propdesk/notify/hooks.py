"""In-transaction hooks the ingest service calls: they write outbox rows in ITS transaction.

Why in the same transaction: a ticket committed without its notifications (or notifications for a
ticket that was rolled back) is exactly the inconsistency the outbox exists to prevent. The hooks
only insert rows; sending happens later in the delivery task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.core.message import InboundMessage, NotTicketReason
from propdesk.core.models import Ticket, Urgency
from propdesk.core.notifications import STAFF, Planned, Source, plan_created, plan_pages
from propdesk.core.policy import SlaTarget
from propdesk.core.safety import AdviceTexts, SafetyList, hazards_of, plan_advice
from propdesk.ingest import IngestHook
from propdesk.logging import get_logger
from propdesk.mail.compose import parse_message_id
from propdesk.store import incidents
from propdesk.store import outbox as repo
from propdesk.store.tickets import ticket_from_row

log = get_logger(__name__)


def source_of(message: InboundMessage) -> Source:
    """Threading and greeting data from the tenant's email."""
    name = message.sender.name if message.sender is not None else ""
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
        safety: SafetyList | None = None,
        advice: AdviceTexts | None = None,
        paging: bool = False,
    ) -> None:
        self._sla = sla
        self._domain = message_id_domain
        self._enabled = enabled
        self._clock = clock
        self._safety = safety or SafetyList()
        self._advice = advice
        self._paging = paging

    def tickets_created(
        self, session: Any, message: Any, parsed: InboundMessage, tickets: Sequence[Any]
    ) -> None:
        """Safety advice first (the outbox sends in id order), then an assignee mail per ticket
        and ONE acknowledgement per tenant for the whole email."""
        if not self._enabled or not tickets:
            return
        made = [t if isinstance(t, Ticket) else ticket_from_row(t) for t in tickets]
        source = source_of(parsed)
        found = (
            {}
            if self._advice is None
            else {t.ticket_id: [h for h in hazards_of(t, self._safety) if h.advice] for t in made}
        )
        planned = [] if self._advice is None else plan_advice(made, found, self._advice, source)
        if planned:
            log.info(
                "safety.advice_queued",
                tickets=[t.ticket_id for t in made],
                hazards=sorted({h.key for hs in found.values() for h in hs}),
            )
        sent = {tid: [h.name for h in hs] for tid, hs in found.items() if hs}
        planned += self._held(session, tickets, plan_created(made, source, self._sla, sent))
        if self._paging:
            planned += plan_pages(made)
        written = repo.add(session, planned, self._clock.now(), self._domain)
        log.debug("outbox.queued", count=len(written), tickets=[t.ticket_id for t in made])

    @staticmethod
    def _held(session: Any, rows: Sequence[Any], planned: list[Planned]) -> list[Planned]:
        """An incident's follower: its staff mail waits out the window (dropped if the incident
        forms) or, once the incident is open, is not sent at all (the incident was announced)."""
        pks = {getattr(r, "ticket_id", None): getattr(r, "id", None) for r in rows}
        holds = incidents.holds(session, [pk for pk in pks.values() if isinstance(pk, int)])
        if not holds:
            return planned
        out: list[Planned] = []
        for p in planned:
            hold = holds.get(pks.get(p.ticket_ids[0]) or -1) if p.audience == STAFF else None
            if hold is None:
                out.append(p)
            elif hold.until is not None:
                out.append(replace(p, not_before=hold.until))
        return out

    def comment_added(
        self, session: Any, message: Any, parsed: InboundMessage, ticket: Any, event: Any
    ) -> None:
        """A tenant's reply added to a ticket: no mail (the assignee sees it on the ticket).

        Deliberate: acknowledging every reply is what turns two auto-responders into a loop.
        """

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
