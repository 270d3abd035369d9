"""Turn one classified action item plus the facts of its message into a new ``Ticket``.

This is the single place where the derived fields meet: assignment, priority, request type,
estimated cost, property id, after-hours. The classification pipeline calls it once per action
item; the store persists the result (and on an id clash asks ``ids.new_ticket_id`` again).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from propdesk.core.assign import assign
from propdesk.core.derive import (
    estimated_cost_for,
    priority_for,
    property_id_for,
    request_type_for,
    unit_number,
)
from propdesk.core.hours import BusinessHours, is_after_hours
from propdesk.core.ids import RandomBytes, new_ticket_id
from propdesk.core.models import (
    SUBCATEGORIES_OF,
    Category,
    Subcategory,
    Ticket,
    TicketMetadata,
    TicketNote,
    TicketStatus,
    Urgency,
    ensure_utc,
)
from propdesk.core.rules import Rules


def build_ticket(
    *,
    category: Category,
    subcategory: Subcategory | None,
    urgency: Urgency,
    requires_contractor: bool,
    short_description: str,
    description: str,
    sender: str,
    subject: str,
    message_id: str,
    received_at: datetime,
    rules: Rules,
    hours: BusinessHours,
    now: datetime,
    random_bytes: RandomBytes,
    unit: str | None = None,
    building: str | None = None,
    floor: str | None = None,
    section: str | None = None,
    matched_rules: Sequence[str] = (),
    notes: Sequence[TicketNote] = (),
    sender_name: str = "",
    triage_confidence: float | None = None,
    unsure: Sequence[str] = (),
) -> Ticket:
    """A New ticket for one action item.

    Classification: ``category``, ``subcategory`` (None for categories without one; must belong
    to the category), ``urgency``, ``requires_contractor``, location (``unit`` as "Unit 4C" or
    "4C", ``building``, ``floor``, ``section``), the texts and ``matched_rules`` (rule names, kept
    in metadata so a ticket can explain itself); ``notes``: the email's per-email notes.
    Message facts: ``sender`` address (becomes ``requested_for``) and ``sender_name``,
    ``subject``, ``message_id`` and ``received_at``, the time our mail server received it (SLA
    and after-hours start there). ``now`` becomes created_at/updated_at;
    ``random_bytes`` (e.g. ``secrets.token_bytes``) feeds the ticket id.
    Raises ``ValueError`` on a subcategory of another category or a naive datetime.
    """
    category = Category(category)
    subcategory = None if subcategory is None else Subcategory(subcategory)
    urgency = Urgency(urgency)
    if subcategory is not None and subcategory not in SUBCATEGORIES_OF.get(category, ()):
        raise ValueError(f"subcategory {subcategory.value!r} is not part of {category.value!r}")
    policy = rules.policy
    received_at = ensure_utc(received_at, "received_at")
    now = ensure_utc(now, "now")
    assignment = assign(category, subcategory, policy)
    return Ticket(
        ticket_id=new_ticket_id(random_bytes),
        short_description=short_description,
        description=description,
        category=category,
        subcategory=subcategory,
        request_type=request_type_for(category, subcategory, policy),
        urgency=urgency,
        priority=priority_for(category, subcategory, urgency, policy),
        property_id=property_id_for(unit, building, policy),
        unit_number=unit_number(unit),
        requested_for=sender.strip().lower(),
        assignment_group=assignment.group,
        assigned_to=assignment.assignee,
        status=TicketStatus.NEW,
        received_at=received_at,
        created_at=now,
        updated_at=now,
        message_id=message_id,
        metadata=TicketMetadata(
            email_subject=subject,
            email_sender=sender.strip().lower(),
            requires_contractor=requires_contractor,
            after_hours=is_after_hours(received_at, hours),
            estimated_cost=estimated_cost_for(subcategory, requires_contractor, policy),
            building=None if building is None else building.strip().upper(),
            floor=floor,
            section=section,
            matched_rules=tuple(matched_rules),
            email_sender_name=" ".join(sender_name.split())[:200],
            triage_confidence=triage_confidence,
            unsure=tuple(unsure),
        ),
        notes=tuple(notes),
    )
