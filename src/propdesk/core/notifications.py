"""Which events mail whom (the spec's ``send_ticket_notifications``, plus what users expect).

Pure planning: tickets and events in, ``Planned`` notifications out; the services store them as
outbox rows in their own transaction (``propdesk.store.outbox.add``). Deviations from the naive
spec, on purpose:
- one email that became several tickets gets ONE tenant acknowledgement listing them all (the
  spec's per-ticket loop would send the tenant one mail per ticket);
- each assignee still gets one mail per ticket (each is separate work, maybe for separate people);
- In Progress / Pending updates to the tenant are switchable (``tenant_status_updates``);
- tenant mails about a ticket (status, completion) thread to the tenant's own email (In-Reply-To
  and References carry its Message-ID, as the acknowledgement does) and greet by name.

THE TENANT CAP, one rule (``[notifications] tenant_cap_per_hour``): at most N acknowledgements of
new mail (``ticket_created_tenant``) go to one tenant address per hour; more are recorded
``suppressed``. It exists against floods (a tenant's mail loop, a script writing every minute).
Every other tenant mail (safety advice, status updates, completion, reopen, and any kind added
later) is about work on a ticket the tenant is waiting for: it is NEVER suppressed by the cap
and does not count towards it. Staff mail is never capped either. ``capped(kind)`` is the rule;
delivery applies it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from propdesk.core.doubt import review_reasons
from propdesk.core.mail_facts import Photo, local_time, plan_photos, urgency_reason
from propdesk.core.models import Ticket, TicketStatus, Urgency
from propdesk.core.policy import SlaTarget

URGENCY_LABELS = {Urgency.HIGH: "High", Urgency.MEDIUM: "Medium", Urgency.LOW: "Low"}
STAFF = "staff"
TENANT = "tenant"
#: The safety advice mail (``propdesk.core.safety``): tenant mail, not an acknowledgement,
#: so the cap never holds it back (``capped``).
ADVICE_KIND = "safety_advice"
#: The after-hours page (``propdesk.notify.pager``): an outbox row delivered to the paging hook,
#: not over SMTP; its recipient is a placeholder.
PAGE_KIND = "page"
PAGE_RECIPIENT = "pager@paging.invalid"
#: The acknowledgement of new mail: the only kind the tenant cap applies to (see above).
ACKNOWLEDGEMENT_KIND = "ticket_created_tenant"
#: Parsers give a message without a Message-ID one of these: nothing to thread to.
SYNTHETIC_MESSAGE_ID_SUFFIX = "@propdesk.invalid>"


def capped(kind: str) -> bool:
    """Whether the per-tenant hourly cap applies to a mail of ``kind``: acknowledgements only."""
    return kind == ACKNOWLEDGEMENT_KIND


def thread_parent(message_id: str | None) -> str | None:
    """The tenant's Message-ID to reply to, or None for a synthetic one."""
    if not message_id or message_id.endswith(SYNTHETIC_MESSAGE_ID_SUFFIX):
        return None
    return message_id


@dataclass(frozen=True)
class Planned:
    """One notification to store in the outbox."""

    kind: str
    audience: str  # "tenant" (flood-capped) or "staff" (never dropped by the cap)
    recipient: str
    ticket_ids: tuple[str, ...]
    context: Mapping[str, Any]
    in_reply_to: str | None = None
    references: tuple[str, ...] = field(default_factory=tuple)
    not_before: datetime | None = None  # held until then (an incident follower's staff mail)
    coalesce_key: str | None = None  # pending rows with one key are one mail (digests)
    dedupe_key: str | None = None  # at most one row ever per key (a ticket's triage mail)


def describe_span(span: timedelta) -> str:
    """``within 30 minutes`` / ``within 4 hours`` / ``within 3 days`` for templates."""
    minutes = int(span.total_seconds() // 60)
    if minutes < 120 and minutes % 60:
        return f"within {minutes} minutes"
    hours = minutes // 60
    if hours < 48 or hours % 24:
        return f"within {hours} hour{'s' if hours != 1 else ''}"
    days = hours // 24
    return f"within {days} days"


def ticket_context(ticket: Ticket, sla: Mapping[Urgency, SlaTarget]) -> dict[str, Any]:
    """The JSON-ready fields templates may use for one ticket."""
    target, meta = sla.get(ticket.urgency), ticket.metadata
    return {
        "ticket_id": ticket.ticket_id,
        "short_description": ticket.short_description,
        "description": ticket.description,
        "category": ticket.category.value,
        "subcategory": ticket.subcategory.value if ticket.subcategory else "",
        "urgency": ticket.urgency.value,
        "urgency_label": URGENCY_LABELS.get(ticket.urgency, ticket.urgency.value),
        "unit_number": ticket.unit_number or "not specified",
        "building": ticket.metadata.building or "",
        "floor": ticket.metadata.floor or "",
        "urgency_reason": urgency_reason(ticket),
        "notes": [n.to_dict() for n in ticket.notes],
        "requested_for": ticket.requested_for,
        "assignment_group": ticket.assignment_group,
        "assigned_to": ticket.assigned_to,
        "status": ticket.status.value,
        "created_at": ticket.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        "after_hours": ticket.metadata.after_hours,
        "requires_contractor": ticket.metadata.requires_contractor,
        "sla_response": describe_span(target.response) if target else "as soon as we can",
        "sla_resolution": describe_span(target.resolution) if target else "as soon as we can",
        "recurring": ticket.metadata.recurring,
        "recurs_after": ticket.metadata.recurs_after or "",
        "statutory": _statutory(ticket),
        "response_due": "",  # the deadlines themselves, where the caller knows them
        "resolution_due": "",
        "needs_review": meta.needs_review,  # triage was unsure of a decision (core.review)
        "triage_confidence": meta.triage_confidence,
        "review_reasons": list(review_reasons(meta.unsure, meta.matched_rules)),
    }


def _statutory(ticket: Ticket) -> str:
    """``by 2026-12-05 18:00 UTC (EXAMPLE: RCW 59.18.070: ...)`` or empty."""
    law = ticket.metadata.statutory
    if not law:
        return ""
    due = datetime.fromisoformat(str(law["due_at"]).replace("Z", "+00:00"))
    return f"by {due:%Y-%m-%d %H:%M} UTC ({law['citation']}: {law['rule']})"


@dataclass(frozen=True)
class Source:
    """What we know about the email that created tickets (for threading and the greeting).

    ``sender_name``: whom to greet (the directory's name, else the From display name);
    ``phone``: the tenant's (directory, phone note or signature); ``photos``: their images.
    """

    message_id: str | None
    references: tuple[str, ...] = ()
    sender_name: str = ""
    attachments: tuple[str, ...] = ()
    phone: str = ""
    photos: tuple[Photo, ...] = ()


@dataclass(frozen=True)
class AssignmentFacts:
    """What only the ingest side knows for the assignment mail: each ticket's deadlines (ticket
    id -> (response due, resolution due)), the business time zone, the photo size cap."""

    deadlines: Mapping[str, tuple[datetime | None, datetime | None]] = field(default_factory=dict)
    timezone: str = "UTC"
    max_photo_bytes: int = 5 * 1024 * 1024


def plan_created(
    tickets: Sequence[Ticket],
    source: Source,
    sla: Mapping[Urgency, SlaTarget],
    facts: AssignmentFacts | None = None,
    advice_sent: Mapping[str, Sequence[str]] | None = None,
) -> list[Planned]:
    """One mail per ticket to its assignee, one acknowledgement per tenant listing all tickets.

    ``advice_sent``: ticket id -> the hazards whose safety advice went to the tenant first (the
    assignee's mail says so)."""
    facts = facts or AssignmentFacts()
    out: list[Planned] = []
    contexts = [ticket_context(t, sla) for t in tickets]
    for ticket, ctx in zip(tickets, contexts, strict=True):
        ctx["safety_advice"] = list((advice_sent or {}).get(ticket.ticket_id, ()))
        out.append(_assignment(ticket, ctx, source, facts))
    by_tenant: dict[str, list[int]] = {}
    for i, ticket in enumerate(tickets):
        by_tenant.setdefault(ticket.requested_for.lower(), []).append(i)
    for tenant, idx in by_tenant.items():
        out.append(
            Planned(
                kind="ticket_created_tenant",
                audience=TENANT,
                recipient=tenant,
                ticket_ids=tuple(tickets[i].ticket_id for i in idx),
                context={"tickets": [contexts[i] for i in idx], "tenant_name": source.sender_name},
                in_reply_to=source.message_id,
                references=source.references,
            )
        )
    return out


def plan_pages(tickets: Sequence[Ticket]) -> list[Planned]:
    """One page per urgency-1 ticket received after hours (the paging hook gets its JSON)."""
    return [
        Planned(
            kind=PAGE_KIND,
            audience=STAFF,
            recipient=PAGE_RECIPIENT,
            ticket_ids=(t.ticket_id,),
            context={"ticket": t.to_dict()},
        )
        for t in tickets
        if t.urgency is Urgency.HIGH and t.metadata.after_hours
    ]


def plan_status_change(
    ticket: Ticket,
    sla: Mapping[Urgency, SlaTarget],
    *,
    note: str | None = None,
    tenant_status_updates: bool = True,
    tenant_name: str = "",
) -> list[Planned]:
    """Resolved: the completion mail; In Progress / Pending: an update if switched on. Both
    thread to the tenant's original email and greet ``tenant_name`` when known."""
    ctx = ticket_context(ticket, sla)
    base: dict[str, Any] = {
        "tickets": [ctx],
        "note": note or "",
        "status": ticket.status.value,
        "tenant_name": tenant_name,
    }
    parent = thread_parent(ticket.message_id)
    if ticket.status is TicketStatus.RESOLVED:
        kind = "ticket_resolved_tenant"
    elif ticket.status in (TicketStatus.IN_PROGRESS, TicketStatus.PENDING):
        if not tenant_status_updates:
            return []
        kind = "ticket_status_tenant"
    else:
        return []
    return [
        Planned(
            kind=kind,
            audience=TENANT,
            recipient=ticket.requested_for.lower(),
            ticket_ids=(ticket.ticket_id,),
            context=base,
            in_reply_to=parent,
            references=() if parent is None else (parent,),
        )
    ]


def plan_assigned(
    ticket: Ticket,
    sla: Mapping[Urgency, SlaTarget],
    source: Source | None = None,
    facts: AssignmentFacts | None = None,
) -> list[Planned]:
    """A re-assignment tells the new assignee, with the same mail a new ticket gets."""
    ctx = ticket_context(ticket, sla)
    return [_assignment(ticket, ctx, source or Source(None), facts or AssignmentFacts())]


def _assignment(
    ticket: Ticket, ctx: Mapping[str, Any], source: Source, facts: AssignmentFacts
) -> Planned:
    """The assignee's mail for one ticket: its facts, deadlines, the tenant and the photos."""
    response, resolution = facts.deadlines.get(ticket.ticket_id, (None, None))
    photos, commands = plan_photos(source.photos, ticket.ticket_id, facts.max_photo_bytes)
    return Planned(
        kind="ticket_assigned",
        audience=STAFF,
        recipient=ticket.assigned_to,
        ticket_ids=(ticket.ticket_id,),
        context={
            "tickets": [
                {
                    **ctx,
                    "response_due": local_time(response, facts.timezone),
                    "resolution_due": local_time(resolution, facts.timezone),
                }
            ],
            "attachments": list(source.attachments),
            "tenant_name": source.sender_name,
            "tenant_phone": source.phone,
            "photos": photos,
            "photo_commands": commands,
        },
    )


#: Outbox kinds of the escalation service (templates ``mail/templates/<kind>.txt|.html``).
ESCALATION_KIND = "escalation"
WARNING_KIND = "sla_warning"


def span(delta: timedelta) -> str:
    """``2 h 05 min`` / ``31 min`` / ``3 d 4 h``: an age or time left, for people."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins:02d} min"
    return f"{mins} min"


@dataclass(frozen=True)
class EscalationMail:
    """One escalation (or near-breach warning) to mail: which rule, to whom, due since when.

    ``deadline`` is set for a warning only: the resolution deadline it warns about.
    """

    rule: str
    description: str
    target: str
    due_at: datetime
    deadline: datetime | None = None


def plan_escalation(
    ticket: Ticket, mail: EscalationMail, now: datetime, sla: Mapping[Urgency, SlaTarget]
) -> Planned:
    """The outbox row for one escalation: what the templates ``escalation`` and
    ``sla_warning`` show (which rule, the ticket's age and urgency, text and unit)."""
    escalation: dict[str, Any] = {
        "rule": mail.rule,
        "description": mail.description,
        "age": span(ticket.age(now)),
        "received_at": ticket.received_at.strftime("%Y-%m-%d %H:%M UTC"),
        "status": ticket.status.value,
        "due_at": mail.due_at.strftime("%Y-%m-%d %H:%M UTC"),
        "deadline": "",
        "remaining": "",
    }
    if mail.deadline is not None:
        escalation["deadline"] = mail.deadline.strftime("%Y-%m-%d %H:%M UTC")
        escalation["remaining"] = span(mail.deadline - now)
    return Planned(
        kind=WARNING_KIND if mail.deadline is not None else ESCALATION_KIND,
        audience=STAFF,
        recipient=mail.target,
        ticket_ids=(ticket.ticket_id,),
        context={"tickets": [ticket_context(ticket, sla)], "escalation": escalation},
    )


#: The staff notice about mail held by a flood limit (no ticket: ``ticket_ids`` is empty).
FLOOD_NOTICE = "flood_held"


@dataclass(frozen=True)
class HeldMail:
    """What staff are told about the first message a flood limit held this hour."""

    key: str  # whose flood: ``sender:<address>`` or ``mailbox:<name>``
    reason: str  # flood_sender | flood_mailbox
    detail: str
    sender: str
    mailbox: str
    subject: str
    message_pk: int
    received_at: datetime


def plan_flood_notice(recipient: str, held: HeldMail) -> Planned:
    """ONE staff mail per flood and window: later holds of the same window are silent."""
    return Planned(
        kind=FLOOD_NOTICE,
        audience=STAFF,
        recipient=recipient,
        ticket_ids=(),
        context={
            "flood_key": held.key,
            "summary": f"mail from {held.sender or held.mailbox} held",
            "flood": {
                "reason": held.reason,
                "detail": held.detail,
                "sender": held.sender,
                "mailbox": held.mailbox,
                "subject": held.subject,
                "message_pk": held.message_pk,
                "received_at": held.received_at.strftime("%Y-%m-%d %H:%M UTC"),
            },
        },
    )
