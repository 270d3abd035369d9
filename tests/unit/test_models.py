"""Ticket model: enums match the spec, datetimes are UTC, to_dict has the spec's JSON shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from propdesk.core.ids import new_ticket_id
from propdesk.core.models import (
    Category,
    EstimatedCost,
    Subcategory,
    Ticket,
    TicketMetadata,
    TicketStatus,
    Urgency,
    iso_utc,
)
from tests.unit.helpers_core import RECEIVED, make_ticket


def test_enum_values_are_the_spec_strings() -> None:
    assert [c.value for c in Category] == [
        "Maintenance",
        "Utilities",
        "Lease",
        "Move-in/out",
        "Complaint",
        "Payment",
        "Amenity",
    ]
    assert len(Subcategory) == 10
    assert [u.value for u in Urgency] == ["1", "2", "3"]
    assert [s.value for s in TicketStatus] == [
        "New",
        "In Progress",
        "Pending",
        "Resolved",
        "Closed",
    ]
    assert Category("Move-in/out") is Category.MOVE_IN_OUT


def test_to_dict_has_the_spec_shape() -> None:
    data = make_ticket().to_dict()
    assert data["ticket_id"] == "TKT-A1B2C3D4"
    assert data["category"] == "Maintenance"
    assert data["subcategory"] == "plumbing"
    assert data["urgency"] == "1"
    assert data["priority"] == "1"
    assert data["status"] == "New"
    assert data["created_at"] == "2025-06-17T10:30:00Z"
    assert data["email_id"] == "<email_123@example.com>"
    assert data["started_at"] is None
    assert data["metadata"] == {
        "email_subject": "Broken toilet in Unit 3B",
        "email_sender": "john.tenant@example.com",
        "requires_contractor": False,
        "after_hours": False,
        "estimated_cost": "low",
        "building": None,
        "floor": None,
        "section": None,
        "matched_rules": [],
        "email_sender_name": "",
        "triage_confidence": None,
        "needs_review": False,
        "unsure": [],
    }


def test_round_trip_through_dict() -> None:
    ticket = make_ticket(
        subcategory=None,
        started_at=RECEIVED + timedelta(minutes=5),
        status=TicketStatus.IN_PROGRESS,
        metadata=TicketMetadata(
            email_subject="s",
            email_sender="a@b.c",
            requires_contractor=True,
            after_hours=True,
            estimated_cost=EstimatedCost.HIGH,
            building="MAPLE",
            floor="3",
            matched_rules=("urgency:flooding",),
        ),
    )
    assert Ticket.from_dict(ticket.to_dict()) == ticket


def test_datetimes_are_normalised_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    ticket = make_ticket(created_at=datetime(2025, 6, 17, 12, 30, tzinfo=plus_two))
    assert ticket.created_at == RECEIVED
    assert ticket.created_at.tzinfo is UTC
    assert iso_utc(ticket.created_at) == "2025-06-17T10:30:00Z"


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="received_at must be timezone-aware"):
        make_ticket(received_at=datetime(2025, 6, 17, 10, 30))


def test_bad_ticket_id_is_refused() -> None:
    with pytest.raises(ValueError, match="TKT-"):
        make_ticket(ticket_id="TKT-a1b2c3d4")


def test_ticket_id_comes_from_the_injected_source() -> None:
    assert new_ticket_id(lambda n: bytes([0xA1, 0xB2, 0xC3, 0xD4][:n])) == "TKT-A1B2C3D4"
    with pytest.raises(ValueError, match="expected 4"):
        new_ticket_id(lambda n: b"\x00")


def test_is_open() -> None:
    assert make_ticket().is_open
    assert not make_ticket(status=TicketStatus.RESOLVED).is_open


def test_plain_strings_become_enum_members() -> None:
    ticket = make_ticket(category="Complaint", subcategory="parking", status="Pending")
    assert ticket.category is Category.COMPLAINT
    assert ticket.subcategory is Subcategory.PARKING
    assert ticket.status is TicketStatus.PENDING
    with pytest.raises(ValueError, match="'Roofing' is not a valid Category"):
        make_ticket(category="Roofing")
