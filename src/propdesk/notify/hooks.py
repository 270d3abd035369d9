"""In-transaction hooks the ingest service calls: they write outbox rows in ITS transaction.

Why in the same transaction: a ticket committed without its notifications (or notifications for a
ticket that was rolled back) is exactly the inconsistency the outbox exists to prevent. The hooks
only insert rows; sending happens later in the delivery task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from propdesk.clock import SYSTEM_CLOCK, Clock
from propdesk.core import conversation_mail as mails
from propdesk.core.mail_facts import Photo, is_photo
from propdesk.core.message import Forwarded, InboundMessage, NotTicketReason
from propdesk.core.models import Ticket, TicketStatus, Urgency
from propdesk.core.notes import tenant_phone
from propdesk.core.notifications import (
    STAFF,
    AssignmentFacts,
    HeldMail,
    Planned,
    Source,
    plan_assigned,
    plan_created,
    plan_flood_notice,
    plan_pages,
    plan_status_change,
    thread_parent,
)
from propdesk.core.policy import SlaTarget
from propdesk.core.review import plan_review
from propdesk.core.safety import AdviceTexts, SafetyList, hazards_of, plan_advice
from propdesk.core.tenants import TenantRecord, greeting_name
from propdesk.ingest import IngestHook
from propdesk.ingest.stages import FLOOD_SENDER
from propdesk.ingest.types import ReplyEffects
from propdesk.logging import get_logger
from propdesk.mail.compose import parse_message_id
from propdesk.store import incidents
from propdesk.store import outbox as repo
from propdesk.store import tenants as directory
from propdesk.store.ingest_lookups import flood_key
from propdesk.store.tickets import ticket_from_row

log = get_logger(__name__)


def _requester_original(message: InboundMessage, requester: str) -> Forwarded | None:
    """The forwarded original a staff-forwarded request is for (None: the sender asked)."""
    sender = message.sender
    wanted = requester.lower()
    if not wanted or sender is None or wanted == sender.address.lower():
        return None
    for forwarded in message.forwarded:
        if forwarded.sender is not None and forwarded.sender.address.lower() == wanted:
            return forwarded
    return None


def source_of(
    message: InboundMessage,
    tenant: TenantRecord | None = None,
    tickets: Sequence[Ticket] = (),
    requester: str = "",
) -> Source:
    """Threading, greeting and contact data from the tenant's email and the directory.
    ``requester``: whom the tickets are for; a staff-forwarded request greets (and finds the
    phone of) the forwarded original's sender, not the staff member."""
    original = _requester_original(message, requester)
    who = original if original is not None else message
    display = who.sender.name if who.sender is not None else ""
    name = greeting_name(tenant, display)
    notes = tickets[0].notes if tickets else ()
    phone = (tenant.phone if tenant is not None else "") or tenant_phone(notes, who.signature)
    photos = tuple(
        Photo(a.filename, a.content_type, a.size, a.sha256, kept=a.content is not None)
        for a in message.attachments
        if is_photo(a.content_type, a.size, inline=a.inline)
    )
    return Source(
        # A message without a Message-ID gets a synthetic one from the parser: nothing to thread to.
        message_id=thread_parent(message.message_id),
        references=tuple(message.references),
        sender_name=name,
        attachments=tuple(a.filename for a in message.attachments if not a.inline),
        phone=phone or "",
        photos=photos,
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
        flood_notify: str = "",
        supervisor: str | None = None,
        digest_delay: timedelta = timedelta(minutes=5),
        tenant_status_updates: bool = True,
        timezone: str = "UTC",
        max_photo_bytes: int = 5 * 1024 * 1024,
        triage_address: str = "",
    ) -> None:
        self._sla = sla
        self._domain = message_id_domain
        self._enabled = enabled
        self._clock = clock
        self._safety = safety or SafetyList()
        self._advice = advice
        self._paging = paging
        self._flood_notify = flood_notify
        self._supervisor = supervisor
        self._digest_delay = digest_delay
        self._tenant_status_updates = tenant_status_updates
        self._timezone = timezone
        self._max_photo_bytes = max_photo_bytes
        self._triage_address = triage_address

    def tickets_created(
        self, session: Any, message: Any, parsed: InboundMessage, tickets: Sequence[Any]
    ) -> None:
        """Safety advice first (the outbox sends in id order), then an assignee mail per ticket,
        ONE acknowledgement per tenant for the whole email, and a triage mail per ticket that
        needs review (``[triage] address``)."""
        if not self._enabled or not tickets:
            return
        made = [t if isinstance(t, Ticket) else ticket_from_row(t) for t in tickets]
        requester = made[0].requested_for
        tenant = directory.find_by_email(session, requester) if requester else None
        source = source_of(parsed, tenant, made, requester)
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
        facts = AssignmentFacts(
            deadlines={
                t.ticket_id: (
                    getattr(t, "response_due_at", None),
                    getattr(t, "resolution_due_at", None),
                )
                for t in tickets
            },
            timezone=self._timezone,
            max_photo_bytes=self._max_photo_bytes,
        )
        created = plan_created(made, source, self._sla, facts, advice_sent=sent)
        planned += self._held(session, tickets, created)
        # Doubt: the triage address too, never held back by an incident (the doubt is this one's).
        planned += plan_review(made, self._triage_address, self._sla)
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

    def reply_handled(
        self, session: Any, message: Any, parsed: InboundMessage, effects: ReplyEffects
    ) -> None:
        """Who hears of a reply: the assignee (digest, or at once on a reopen), the tenant of a
        staff status change, a new assignee, the supervisor of a low rating, or the staff
        sender of a refused command."""
        if not self._enabled:
            return
        now = self._clock.now()
        plan, after = effects.plan, effects.after
        entry = mails.reply_entry(effects.sender, effects.at, plan.comment, plan.reason)
        reopened = (
            effects.before.status is TicketStatus.RESOLVED
            and after.status is TicketStatus.IN_PROGRESS
        )
        planned: list[Planned] = []
        if reopened:
            planned.append(mails.plan_reopened(after, self._sla, entry))
        elif plan.notify_assignee:
            digest = mails.plan_tenant_replied(after, self._sla, entry)
            repo.add_digest(session, digest, now, self._domain, self._digest_delay)
        if plan.kind == "commands":
            if plan.status is not None:
                planned += plan_status_change(
                    after,
                    self._sla,
                    note=plan.status_note,
                    tenant_status_updates=self._tenant_status_updates,
                    tenant_name=greeting_name(
                        directory.find_by_email(session, after.requested_for),
                        after.metadata.email_sender_name,
                    ),
                )
            if after.assigned_to != effects.before.assigned_to:
                planned += plan_assigned(after, self._sla)
        if plan.escalate and plan.rating is not None and self._supervisor:
            planned.append(
                mails.plan_low_rating(after, self._sla, self._supervisor, plan.rating, entry)
            )
        if plan.refusals:
            planned.append(
                mails.plan_command_refused(
                    after,
                    self._sla,
                    effects.sender,
                    plan.refusals,
                    plan.help,
                    in_reply_to=effects.message_id,
                )
            )
        written = repo.add(session, planned, now, self._domain)
        log.debug("outbox.queued", count=len(written), tickets=[after.ticket_id])

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
