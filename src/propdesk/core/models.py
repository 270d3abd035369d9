"""The ticket model and its vocabularies, as plain frozen data.

Why frozen dataclasses and StrEnums: the core decides, the store persists. A frozen ``Ticket`` can
only change through ``dataclasses.replace`` (``propdesk.core.lifecycle`` does that), so no stage
mutates a ticket behind another's back, and StrEnums compare equal to the spec's plain strings.

All datetimes are tz-aware and normalised to UTC on construction; a naive datetime is a bug in
the caller and raises ``ValueError`` at once rather than producing the spec's naive/aware mix-ups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from propdesk.core.utc import ensure_utc, iso_utc, parse_iso_utc


class Category(StrEnum):
    """The spec's seven primary categories."""

    MAINTENANCE = "Maintenance"
    UTILITIES = "Utilities"
    LEASE = "Lease"
    MOVE_IN_OUT = "Move-in/out"
    COMPLAINT = "Complaint"
    PAYMENT = "Payment"
    AMENITY = "Amenity"


class Subcategory(StrEnum):
    """Subcategories; lower-case values as the corpus labels use them (the spec's JSON shows
    "Plumbing", its code and the corpus use "plumbing": the corpus wins)."""

    PLUMBING = "plumbing"
    ELECTRICAL = "electrical"
    HVAC = "hvac"
    APPLIANCE = "appliance"
    CLEANING = "cleaning"
    GENERAL_REPAIR = "general_repair"
    NOISE_COMPLAINT = "noise_complaint"
    NEIGHBOR_DISPUTE = "neighbor_dispute"
    PARKING = "parking"
    SECURITY = "security"


#: Which subcategories belong to which category (the others have none).
SUBCATEGORIES_OF: dict[Category, frozenset[Subcategory]] = {
    Category.MAINTENANCE: frozenset(
        {
            Subcategory.PLUMBING,
            Subcategory.ELECTRICAL,
            Subcategory.HVAC,
            Subcategory.APPLIANCE,
            Subcategory.CLEANING,
            Subcategory.GENERAL_REPAIR,
        }
    ),
    Category.COMPLAINT: frozenset(
        {
            Subcategory.NOISE_COMPLAINT,
            Subcategory.NEIGHBOR_DISPUTE,
            Subcategory.PARKING,
            Subcategory.SECURITY,
        }
    ),
}


class Urgency(StrEnum):
    """1 = emergency, 2 = broken/needs repair, 3 = question/request (strings, as in the spec)."""

    HIGH = "1"
    MEDIUM = "2"
    LOW = "3"


class Priority(StrEnum):
    """Work priority; equals the urgency unless a rule says otherwise (``derive.priority_for``)."""

    HIGH = "1"
    MEDIUM = "2"
    LOW = "3"


class TicketStatus(StrEnum):
    """The spec's lifecycle states (transitions live in ``propdesk.core.lifecycle``)."""

    NEW = "New"
    IN_PROGRESS = "In Progress"
    PENDING = "Pending"
    RESOLVED = "Resolved"
    CLOSED = "Closed"


#: Statuses in which the ticket still needs work (the spec's "open" set for analytics and SLA).
OPEN_STATUSES: frozenset[TicketStatus] = frozenset(
    {TicketStatus.NEW, TicketStatus.IN_PROGRESS, TicketStatus.PENDING}
)


class RequestType(StrEnum):
    """What the tenant is asking for; chosen from the rules' request_types table."""

    REPAIR = "Repair"
    REQUEST = "Request"
    INQUIRY = "Inquiry"
    COMPLAINT = "Complaint"
    BILLING = "Billing"


class EstimatedCost(StrEnum):
    """A rough cost band, from the subcategory and whether an outside contractor is needed."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


TICKET_ID_RE = re.compile(r"^TKT-[0-9A-F]{8}$")


@dataclass(frozen=True, slots=True)
class TicketMetadata:
    """The spec's ``metadata`` object plus the location details and the rules that matched."""

    email_subject: str
    email_sender: str
    requires_contractor: bool = False
    after_hours: bool = False
    estimated_cost: EstimatedCost = EstimatedCost.LOW
    building: str | None = None
    floor: str | None = None
    section: str | None = None
    matched_rules: tuple[str, ...] = ()
    recurring: int = 0  # n-th report of this unit's subcategory within [report] recurring_days
    recurs_after: str | None = None  # the ticket it repeats (the latest earlier one)
    # the repair deadline a law sets (propdesk.core.deadlines): jurisdiction, citation, rule,
    # due_at (ISO UTC), notify
    statutory: dict[str, Any] | None = None
    email_sender_name: str = ""  # the From display name: tenant mails greet by it
    # how sure triage is of this ticket (0-1; None: decided by the rules alone) and which of
    # its decisions were unsure ("ticket", "category", "urgency", "contractor"): needs review
    triage_confidence: float | None = None
    unsure: tuple[str, ...] = ()

    @property
    def needs_review(self) -> bool:
        return bool(self.unsure)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict in the spec's shape (extra keys after the spec's five)."""
        out = self._spec_dict()
        if self.recurring:
            out["recurring"] = self.recurring
            out["recurs_after"] = self.recurs_after
        if self.statutory:
            out["statutory"] = dict(self.statutory)
        return out

    def _spec_dict(self) -> dict[str, Any]:
        return {
            "email_subject": self.email_subject,
            "email_sender": self.email_sender,
            "requires_contractor": self.requires_contractor,
            "after_hours": self.after_hours,
            "estimated_cost": self.estimated_cost.value,
            "building": self.building,
            "floor": self.floor,
            "section": self.section,
            "matched_rules": list(self.matched_rules),
            "email_sender_name": self.email_sender_name,
            "triage_confidence": self.triage_confidence,
            "needs_review": self.needs_review,
            "unsure": list(self.unsure),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TicketMetadata:
        """Rebuild from ``to_dict`` output (e.g. a JSONB column)."""
        return cls(
            email_subject=str(data["email_subject"]),
            email_sender=str(data["email_sender"]),
            requires_contractor=bool(data.get("requires_contractor", False)),
            after_hours=bool(data.get("after_hours", False)),
            estimated_cost=EstimatedCost(data.get("estimated_cost", "low")),
            building=data.get("building"),
            floor=data.get("floor"),
            section=data.get("section"),
            matched_rules=tuple(data.get("matched_rules", ())),
            recurring=int(data.get("recurring", 0)),
            recurs_after=data.get("recurs_after"),
            statutory=dict(data["statutory"]) if data.get("statutory") else None,
            email_sender_name=str(data.get("email_sender_name", "")),
            triage_confidence=data.get("triage_confidence"),
            unsure=tuple(data.get("unsure", ())),
        )


@dataclass(frozen=True, slots=True)
class TicketNote:
    """A sentence for the whole email (access, pets, phone, availability): on every ticket of
    the email, never a ticket of its own (``propdesk.core.notes``)."""

    kind: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "text": self.text}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TicketNote:
        return cls(str(data["kind"]), str(data["text"]))


_ENUM_FIELDS: tuple[tuple[str, type[StrEnum]], ...] = (
    ("category", Category),
    ("subcategory", Subcategory),
    ("request_type", RequestType),
    ("urgency", Urgency),
    ("priority", Priority),
    ("status", TicketStatus),
)

_DATETIME_FIELDS = (
    "received_at",
    "created_at",
    "updated_at",
    "started_at",
    "resolved_at",
    "closed_at",
)


@dataclass(frozen=True, slots=True)
class Ticket:
    """One maintenance ticket, with every field of the spec's schema.

    ``received_at`` is when *our mail server* received the message (SLA clocks and after-hours
    start there, never at the Date header); ``created_at`` is when propdesk made the ticket.
    ``message_id`` is the source email reference (the spec's ``email_id``).
    """

    ticket_id: str
    short_description: str
    description: str
    category: Category
    subcategory: Subcategory | None
    request_type: RequestType
    urgency: Urgency
    priority: Priority
    property_id: str
    unit_number: str | None
    requested_for: str
    assignment_group: str
    assigned_to: str
    status: TicketStatus
    received_at: datetime
    created_at: datetime
    updated_at: datetime
    message_id: str
    metadata: TicketMetadata
    started_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    status_notes: str | None = None
    notes: tuple[TicketNote, ...] = ()

    def __post_init__(self) -> None:
        if not TICKET_ID_RE.match(self.ticket_id):
            raise ValueError(f"ticket_id {self.ticket_id!r} is not TKT- + 8 upper-case hex")
        # Accept the plain strings a database row or JSON carries; store the enum members.
        for name, enum in _ENUM_FIELDS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, enum):
                object.__setattr__(self, name, enum(value))
        for name in _DATETIME_FIELDS:
            value = getattr(self, name)
            if value is not None:
                # frozen + slots: object.__setattr__ is the sanctioned way to normalise in init.
                object.__setattr__(self, name, ensure_utc(value, name))

    @property
    def is_open(self) -> bool:
        """New, In Progress or Pending."""
        return self.status in OPEN_STATUSES

    def age(self, now: datetime) -> timedelta:
        """Time since the mail server received the message."""
        return ensure_utc(now, "now") - self.received_at

    def to_dict(self) -> dict[str, Any]:
        """The spec's JSON shape; datetimes as ISO UTC strings, enums as their values.

        Keys beyond the spec's example (received_at, started_at, resolved_at, closed_at,
        status_notes, message_id) are added after; ``email_id`` carries the message id.
        """
        return {
            "ticket_id": self.ticket_id,
            "short_description": self.short_description,
            "description": self.description,
            "category": self.category.value,
            "subcategory": None if self.subcategory is None else self.subcategory.value,
            "request_type": self.request_type.value,
            "urgency": self.urgency.value,
            "priority": self.priority.value,
            "property_id": self.property_id,
            "unit_number": self.unit_number,
            "requested_for": self.requested_for,
            "assignment_group": self.assignment_group,
            "assigned_to": self.assigned_to,
            "status": self.status.value,
            "created_at": iso_utc(self.created_at),
            "updated_at": iso_utc(self.updated_at),
            "email_id": self.message_id,
            "metadata": self.metadata.to_dict(),
            "received_at": iso_utc(self.received_at),
            "started_at": iso_utc(self.started_at),
            "resolved_at": iso_utc(self.resolved_at),
            "closed_at": iso_utc(self.closed_at),
            "status_notes": self.status_notes,
            "notes": [n.to_dict() for n in self.notes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ticket:
        """Rebuild a ticket from ``to_dict`` output."""
        sub = data.get("subcategory")

        def when(key: str) -> datetime:
            value = parse_iso_utc(data[key])
            assert value is not None
            return value

        return cls(
            ticket_id=data["ticket_id"],
            short_description=data["short_description"],
            description=data["description"],
            category=Category(data["category"]),
            subcategory=None if sub is None else Subcategory(sub),
            request_type=RequestType(data["request_type"]),
            urgency=Urgency(data["urgency"]),
            priority=Priority(data["priority"]),
            property_id=data["property_id"],
            unit_number=data.get("unit_number"),
            requested_for=data["requested_for"],
            assignment_group=data["assignment_group"],
            assigned_to=data["assigned_to"],
            status=TicketStatus(data["status"]),
            received_at=when("received_at"),
            created_at=when("created_at"),
            updated_at=when("updated_at"),
            message_id=data["email_id"],
            metadata=TicketMetadata.from_dict(data["metadata"]),
            started_at=parse_iso_utc(data.get("started_at")),
            resolved_at=parse_iso_utc(data.get("resolved_at")),
            closed_at=parse_iso_utc(data.get("closed_at")),
            status_notes=data.get("status_notes"),
            notes=tuple(TicketNote.from_dict(n) for n in data.get("notes", ())),
        )


__all__ = [
    "OPEN_STATUSES",
    "SUBCATEGORIES_OF",
    "TICKET_ID_RE",
    "Category",
    "EstimatedCost",
    "Priority",
    "RequestType",
    "Subcategory",
    "Ticket",
    "TicketMetadata",
    "TicketNote",
    "TicketStatus",
    "Urgency",
    "ensure_utc",
    "iso_utc",
    "parse_iso_utc",
]
