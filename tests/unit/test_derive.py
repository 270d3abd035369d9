"""Assignment and derived fields, and build_ticket putting them together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from propdesk.core.assign import assign
from propdesk.core.build import build_ticket
from propdesk.core.derive import (
    estimated_cost_for,
    priority_for,
    property_id_for,
    request_type_for,
    unit_number,
)
from propdesk.core.hours import BusinessHours
from propdesk.core.models import (
    Category,
    EstimatedCost,
    Priority,
    RequestType,
    Subcategory,
    Ticket,
    TicketStatus,
    Urgency,
)
from propdesk.core.policy import Assignment
from propdesk.core.rules import load_rules, rules_from_text

RULES = load_rules()
POLICY = RULES.policy
MAINT = "Property Maintenance"
MONDAY_NOON = datetime(2025, 6, 16, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("category", "subcategory", "expected"),
    [
        (Category.MAINTENANCE, Subcategory.PLUMBING, (MAINT, "plumber@property.com")),
        (Category.MAINTENANCE, Subcategory.HVAC, (MAINT, "hvac@property.com")),
        (Category.MAINTENANCE, Subcategory.CLEANING, (MAINT, "maintenance@property.com")),
        (Category.MAINTENANCE, None, (MAINT, "maintenance@property.com")),
        (Category.COMPLAINT, Subcategory.PARKING, ("Property Management", "manager@property.com")),
        (Category.PAYMENT, None, ("Accounting", "accounting@property.com")),
        (Category.LEASE, None, ("Leasing Office", "leasing@property.com")),
        (Category.MOVE_IN_OUT, None, ("Leasing Office", "leasing@property.com")),
        (Category.UTILITIES, None, (MAINT, "maintenance@property.com")),
        (Category.AMENITY, None, ("Property Management", "manager@property.com")),
    ],
)  # fmt: skip
def test_assignment(
    category: Category, subcategory: Subcategory | None, expected: tuple[str, str]
) -> None:
    assert assign(category, subcategory, POLICY) == Assignment(*expected)


def test_category_missing_from_an_override_falls_back_to_general_support() -> None:
    policy = rules_from_text(
        '[assignment.Payment]\ngroup = "Accounting"\nassignee = "a@property.com"\n'
    ).policy
    assert assign(Category.LEASE, None, policy) == Assignment(
        "General Support", "support@property.com"
    )
    assert assign(Category.MAINTENANCE, Subcategory.PLUMBING, policy) == Assignment(
        "General Support", "plumber@property.com"
    )


@pytest.mark.parametrize("urgency", list(Urgency))
def test_priority_equals_urgency_by_default(urgency: Urgency) -> None:
    assert priority_for(Category.MAINTENANCE, None, urgency, POLICY).value == urgency.value


def test_priority_override_applies_only_where_it_matches() -> None:
    policy = rules_from_text(
        '[[priority.overrides]]\nsubcategory = "security"\nurgency = "2"\npriority = "1"\n'
    ).policy
    assert priority_for(Category.COMPLAINT, Subcategory.SECURITY, Urgency.MEDIUM, policy) == "1"
    assert priority_for(Category.COMPLAINT, Subcategory.SECURITY, Urgency.LOW, policy) == "3"
    assert priority_for(Category.COMPLAINT, Subcategory.PARKING, Urgency.MEDIUM, policy) == "2"


def test_request_type() -> None:
    assert request_type_for(Category.MAINTENANCE, Subcategory.PLUMBING, POLICY) == "Repair"
    assert request_type_for(Category.MAINTENANCE, Subcategory.CLEANING, POLICY) == "Request"
    assert request_type_for(Category.PAYMENT, None, POLICY) is RequestType.BILLING
    assert request_type_for(Category.LEASE, None, POLICY) is RequestType.INQUIRY
    assert request_type_for(Category.COMPLAINT, Subcategory.PARKING, POLICY) == "Complaint"


def test_estimated_cost() -> None:
    assert estimated_cost_for(Subcategory.PLUMBING, False, POLICY) is EstimatedCost.MEDIUM
    assert estimated_cost_for(Subcategory.CLEANING, False, POLICY) is EstimatedCost.LOW
    assert estimated_cost_for(Subcategory.GENERAL_REPAIR, True, POLICY) is EstimatedCost.HIGH
    assert estimated_cost_for(None, False, POLICY) is EstimatedCost.LOW


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("Unit 3B", "P03B"),
        ("3b", "P03B"),
        ("Unit 12", "P012"),
        ("Unit 1204", "P120"),
        ("Unit 7", "P007"),
        (None, "P000"),
        ("Unit not specified", "P000"),
        ("  ", "P000"),
    ],
)
def test_property_id_follows_the_spec_code(unit: str | None, expected: str) -> None:
    assert property_id_for(unit, None, POLICY) == expected


def test_building_map_wins_over_the_unit() -> None:
    policy = rules_from_text('[properties]\nMAPLE = "P-MAPLE"\n').policy
    assert property_id_for("Unit 3B", "maple", policy) == "P-MAPLE"
    assert property_id_for("Unit 3B", "C", policy) == "P03B"


def test_unit_number_is_normalised() -> None:
    assert unit_number("4c") == "Unit 4C"
    assert unit_number("Unit 4c") == "Unit 4C"
    assert unit_number(None) is None


def build(**changes: object) -> Ticket:
    args: dict[str, object] = {
        "category": Category.MAINTENANCE,
        "subcategory": Subcategory.PLUMBING,
        "urgency": Urgency.HIGH,
        "requires_contractor": False,
        "short_description": "Maintenance request: toilet overflowing in Unit 3B",
        "description": "The toilet is overflowing.",
        "sender": "John.Tenant@Example.com",
        "subject": "Toilet!!",
        "message_id": "<m1@example.com>",
        "received_at": MONDAY_NOON,
        "rules": RULES,
        "hours": BusinessHours(),
        "now": MONDAY_NOON + timedelta(seconds=3),
        "random_bytes": lambda n: b"\xde\xad\xbe\xef"[:n],
        "unit": "Unit 3B",
        "building": "maple",
        "floor": "3",
        "matched_rules": ["urgency:toilet overflow"],
    }
    args.update(changes)
    return build_ticket(**args)  # type: ignore[arg-type]


def test_build_ticket_fills_every_field() -> None:
    ticket = build()
    data = ticket.to_dict()
    assert data["ticket_id"] == "TKT-DEADBEEF"
    assert data["status"] == TicketStatus.NEW
    assert data["priority"] == Priority.HIGH
    assert data["request_type"] == "Repair"
    assert data["property_id"] == "P03B"
    assert data["unit_number"] == "Unit 3B"
    assert data["requested_for"] == "john.tenant@example.com"
    assert data["assignment_group"] == "Property Maintenance"
    assert data["assigned_to"] == "plumber@property.com"
    assert data["received_at"] == "2025-06-16T12:00:00Z"
    assert data["created_at"] == data["updated_at"] == "2025-06-16T12:00:03Z"
    assert data["email_id"] == "<m1@example.com>"
    assert data["metadata"] == {
        "email_subject": "Toilet!!",
        "email_sender": "john.tenant@example.com",
        "requires_contractor": False,
        "after_hours": False,
        "estimated_cost": "medium",
        "building": "MAPLE",
        "floor": "3",
        "section": None,
        "matched_rules": ["urgency:toilet overflow"],
        "email_sender_name": "",
        "triage_confidence": None,
        "needs_review": False,
        "unsure": [],
    }


def test_build_ticket_after_hours_comes_from_received_at_only() -> None:
    saturday = datetime(2025, 6, 21, 12, 0, tzinfo=UTC)
    ticket = build(received_at=saturday, urgency=Urgency.LOW, now=MONDAY_NOON)
    assert ticket.metadata.after_hours is True


def test_build_ticket_refuses_a_foreign_subcategory() -> None:
    with pytest.raises(ValueError, match="not part of 'Payment'"):
        build(category=Category.PAYMENT, subcategory=Subcategory.PLUMBING)


def test_build_ticket_accepts_plain_strings() -> None:
    ticket = build(category="Complaint", subcategory="parking", urgency="2", unit=None)
    assert ticket.category is Category.COMPLAINT
    assert ticket.property_id == "P000"
