"""The core pipeline for one parsed message: not-a-ticket? -> action items -> classify ->
location -> tickets. Pure and deterministic (clock and randomness are parameters), so the
ingest daemon and ``propdesk classify`` decide exactly the same way.

"Not a ticket" is said in one place, ``not_ticket_reason``: the ingest chain asks it in its own
stage (before threading replies) and then calls ``analyse_items``; ``analyse_message`` is both
steps for callers without a chain (``propdesk classify``).
"""

from __future__ import annotations

from collections.abc import Collection
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
from propdesk.core.triage import triage

NO_ACTION_ITEMS = "no_action_items"
#: No request found in the forwards read, and more were nested than the parser reads.
FORWARD_TOO_DEEP = "forward_too_deep"
_DESCRIPTION_MAX = 4000


_CUT_BACK_MAX = 200  # a cut moves back this far at most to fall between words


@dataclass(frozen=True)
class MessageAnalysis:
    """What the pipeline decided for one message: tickets, or why there are none."""

    tickets: tuple[Ticket, ...]
    ignored_reason: str | None
    items: tuple[Classification, ...] = ()
    location: Location | None = None
    cut: str | None = None  # the new text was longer than analysed (also in matched_rules)

    @property
    def ignored(self) -> str | None:
        return self.ignored_reason


def bounded(text: str, limit: int) -> str:
    """The first ``limit`` characters of ``text``, cut between words where one is near.

    Why: analysis costs grow with the text, and what a tenant asks for is said in the first
    pages; the whole body is still stored with the message (``[thresholds] max_analysed_chars``).
    """
    if len(text) <= limit:
        return text
    space = max(text.rfind(" ", 0, limit + 1), text.rfind("\n", 0, limit + 1))
    return text[:space] if space >= limit - _CUT_BACK_MAX else text[:limit]


def cut_note(text: str, rules: Rules) -> str | None:
    """The matched_rules entry saying the new text was cut for analysis, or None."""
    limit = rules.vocabulary.decisions.thresholds.max_analysed_chars
    if len(text) <= limit:
        return None
    return f"intake:analysed first {len(bounded(text, limit))} of {len(text)} characters"


def classify_message(msg: InboundMessage, rules: Rules) -> tuple[list[Classification], Location]:
    """Action items and location of a message, before any ticket is built.

    When the outer mail has no request of its own, the forwarded originals are read in turn
    (outermost first) and the first with action items is the request.
    """
    vocab = rules.vocabulary
    limit = vocab.decisions.thresholds.max_analysed_chars
    subject, new_text = bounded(msg.subject, limit), bounded(msg.new_text, limit)
    items = classify_text(subject, new_text, vocab)
    location = extract_location(subject, new_text, bounded(msg.signature, limit), vocab)
    for forwarded in () if items else msg.forwarded:
        fwd_subject = forwarded.subject or msg.subject
        fwd_text = bounded(forwarded.new_text, limit)
        items = classify_text(fwd_subject, fwd_text, vocab)
        if items:
            found = extract_location(fwd_subject, fwd_text, forwarded.signature, vocab)
            location = found if found.unit_number != UNIT_NOT_SPECIFIED else location
            subject, new_text = fwd_subject, fwd_text
            break
    items = triage(items, subject, new_text, vocab, rules.triage)
    return items, location


def rule_addresses(rules: Rules) -> frozenset[str]:
    """Every address the rules send work to (assignees, specialists, escalation targets): staff."""
    policy = rules.policy
    found = {a.assignee for a in policy.assignment.values()}
    found |= set(policy.specialists.values())
    found.add(policy.default_assignment.assignee)
    found |= {e.target for e in policy.escalations}
    return frozenset(a.lower() for a in found if "@" in a)


def requester_of(msg: InboundMessage, staff: Collection[str]) -> str:
    """Who asked: the sender, unless the sender is staff forwarding a tenant's mail, then the
    first forwarded original's sender who is not staff. "" when there is no sender."""
    sender = msg.sender.address if msg.sender is not None else ""
    lowered = {a.lower() for a in staff}
    if sender.lower() not in lowered:
        return sender
    for forwarded in msg.forwarded:
        if forwarded.sender is not None and forwarded.sender.address.lower() not in lowered:
            return forwarded.sender.address
    return sender


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
    staff: Collection[str] | None = None,
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
        staff=staff,
    )


def analyse_items(
    msg: InboundMessage,
    *,
    rules: Rules,
    business_hours: BusinessHours,
    received_at: datetime,
    now: datetime,
    new_id: RandomBytes,
    staff: Collection[str] | None = None,
) -> MessageAnalysis:
    """Tickets for every action item of ``msg``, which ``not_ticket_reason`` let through.

    ``staff``: addresses whose forwards are made for the original sender (default: the rules'
    addresses, see ``rule_addresses``).
    """
    items, location = classify_message(msg, rules)
    cut = cut_note(msg.new_text, rules)
    if not items:
        why = FORWARD_TOO_DEEP if msg.forward_truncated else NO_ACTION_ITEMS
        return MessageAnalysis((), why, (), location, cut)
    sender = requester_of(msg, rule_addresses(rules) if staff is None else staff)
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
            matched_rules=(*item.matched_rules, *location.evidence, *([cut] if cut else [])),
            notes=notes,
            sender_name=msg.sender.name if msg.sender is not None else "",
            triage_confidence=item.confidence,
            unsure=item.unsure,
        )
        for item in items
    )
    return MessageAnalysis(tickets, None, tuple(items), location, cut)
