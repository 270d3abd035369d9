"""The core pipeline for one parsed message: not-a-ticket? -> action items -> classify ->
location -> tickets. Pure and deterministic (clock and randomness are parameters), so the
ingest daemon and ``propdesk classify`` decide exactly the same way.

"Not a ticket" is said in one place, ``not_ticket_reason``: the ingest chain asks it in its own
stage (before threading replies) and then calls ``analyse_items``; ``analyse_message`` is both
steps for callers without a chain (``propdesk classify``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from propdesk.core.build import build_ticket
from propdesk.core.classify import Classification, classify_text
from propdesk.core.hours import BusinessHours
from propdesk.core.ids import RandomBytes
from propdesk.core.location import UNIT_NOT_SPECIFIED, Location, extract_location
from propdesk.core.message import InboundMessage
from propdesk.core.models import Category, Subcategory, Ticket, Urgency
from propdesk.core.notes import email_notes
from propdesk.core.rules import Rules

NO_ACTION_ITEMS = "no_action_items"
_DESCRIPTION_MAX = 4000


@dataclass(frozen=True)
class MessageAnalysis:
    """What the pipeline decided for one message: tickets, or why there are none."""

    tickets: tuple[Ticket, ...]
    ignored_reason: str | None
    items: tuple[Classification, ...] = ()
    location: Location | None = None

    @property
    def ignored(self) -> str | None:
        return self.ignored_reason


def classify_message(msg: InboundMessage, rules: Rules) -> tuple[list[Classification], Location]:
    """Action items and location of a message, before any ticket is built."""
    vocab = rules.vocabulary
    items = classify_text(msg.subject, msg.new_text, vocab)
    location = extract_location(msg.subject, msg.new_text, msg.signature, vocab)
    return items, location


def not_ticket_reason(msg: InboundMessage, *, detail: bool = True) -> str | None:
    """Why ``msg`` is no ticket at all (auto-reply, bounce, loop, ...), or None if it may be one.

    The parser's filters found the facts; this is where they become the decision. ``detail``
    adds what decided it (e.g. the header), as ingest records it.
    """
    if msg.not_ticket is None:
        return None
    reason = str(msg.not_ticket.value)
    return f"{reason}: {msg.not_ticket_detail}" if detail and msg.not_ticket_detail else reason


def analyse_message(
    msg: InboundMessage,
    *,
    rules: Rules,
    business_hours: BusinessHours,
    received_at: datetime,
    now: datetime,
    new_id: RandomBytes,
) -> MessageAnalysis:
    """Tickets for every action item of ``msg`` (or the reason it yields none)."""
    reason = not_ticket_reason(msg, detail=False)
    if reason is not None:
        return MessageAnalysis((), reason)
    return analyse_items(
        msg,
        rules=rules,
        business_hours=business_hours,
        received_at=received_at,
        now=now,
        new_id=new_id,
    )


def analyse_items(
    msg: InboundMessage,
    *,
    rules: Rules,
    business_hours: BusinessHours,
    received_at: datetime,
    now: datetime,
    new_id: RandomBytes,
) -> MessageAnalysis:
    """Tickets for every action item of ``msg``, which ``not_ticket_reason`` let through."""
    items, location = classify_message(msg, rules)
    if not items:
        return MessageAnalysis((), NO_ACTION_ITEMS, (), location)
    sender = msg.sender.address if msg.sender is not None else ""
    unit = None if location.unit_number == UNIT_NOT_SPECIFIED else location.unit_number
    notes = email_notes(msg.new_text, rules.vocabulary)  # the same on every ticket
    tickets = tuple(
        build_ticket(
            category=Category(item.category),
            subcategory=None if item.subcategory is None else Subcategory(item.subcategory),
            urgency=Urgency(item.urgency),
            requires_contractor=item.requires_contractor,
            short_description=item.summary,
            description=item.text[:_DESCRIPTION_MAX],
            sender=sender,
            subject=msg.subject,
            message_id=msg.message_id,
            received_at=received_at,
            rules=rules,
            hours=business_hours,
            now=now,
            random_bytes=new_id,
            unit=unit,
            building=location.building,
            floor=location.floor,
            section=location.section,
            matched_rules=(*item.matched_rules, *location.evidence),
            notes=notes,
            sender_name=msg.sender.name if msg.sender is not None else "",
        )
        for item in items
    )
    return MessageAnalysis(tickets, None, tuple(items), location)
