"""Escalation: the spec's three rules, independently, once each, never for finished tickets."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from propdesk.core.escalation import (
    AfterHours,
    OlderThan,
    RequiresContractor,
    UrgencyIn,
    due_escalations,
    next_escalation_time,
)
from propdesk.core.models import Ticket, TicketStatus, Urgency
from propdesk.core.rules import load_rules, rules_from_text
from tests.unit.helpers_core import RECEIVED, make_ticket

RULES = load_rules()
MIN = timedelta(minutes=1)
SEC = timedelta(seconds=1)


def names(ticket: Ticket, now: datetime, applied: frozenset[str] = frozenset()) -> list[str]:
    return [d.rule for d in due_escalations(ticket, now, RULES, applied)]


def test_supervisor_boundary_29_59_vs_30_01() -> None:
    ticket = make_ticket()  # urgency 1, New, in hours, no contractor
    assert names(ticket, RECEIVED + 29 * MIN + 59 * SEC) == []
    assert names(ticket, RECEIVED + 30 * MIN + SEC) == ["supervisor"]
    (due,) = due_escalations(ticket, RECEIVED + 30 * MIN + SEC, RULES)
    assert due.target == "supervisor@property.com"
    assert due.due_at == RECEIVED + 30 * MIN
    assert due.ticket_id == ticket.ticket_id
    assert "30 minutes" in due.description


def test_supervisor_clock_starts_at_receipt_not_creation() -> None:
    ticket = make_ticket(created_at=RECEIVED + 10 * MIN, updated_at=RECEIVED + 10 * MIN)
    assert names(ticket, RECEIVED + 30 * MIN + SEC) == ["supervisor"]


@pytest.mark.parametrize("status", [TicketStatus.IN_PROGRESS, TicketStatus.PENDING])
def test_supervisor_only_while_new(status: TicketStatus) -> None:
    ticket = make_ticket(status=status, started_at=RECEIVED + MIN)
    assert names(ticket, RECEIVED + timedelta(hours=5)) == []
    assert next_escalation_time(ticket, RULES) is None


@pytest.mark.parametrize("urgency", [Urgency.MEDIUM, Urgency.LOW])
def test_supervisor_only_for_urgency_1(urgency: Urgency) -> None:
    assert names(make_ticket(urgency=urgency), RECEIVED + timedelta(days=3)) == []


def test_contractor_is_due_at_once_in_any_open_status() -> None:
    for status in (TicketStatus.NEW, TicketStatus.IN_PROGRESS, TicketStatus.PENDING):
        ticket = make_ticket(urgency=Urgency.LOW, status=status, metadata_requires_contractor=True)
        (due,) = due_escalations(ticket, RECEIVED, RULES)
        assert (due.rule, due.target) == (
            "contractor_coordinator",
            "contractor_coordinator@property.com",
        )
        assert due.due_at == RECEIVED


def test_after_hours_emergency_needs_both_after_hours_and_urgency_1() -> None:
    assert names(make_ticket(metadata_after_hours=True), RECEIVED) == ["emergency_coordinator"]
    assert names(make_ticket(metadata_after_hours=True, urgency=Urgency.MEDIUM), RECEIVED) == []
    assert names(make_ticket(), RECEIVED) == []


def test_a_ticket_can_be_due_for_all_three_and_each_applies_once() -> None:
    ticket = make_ticket(metadata_after_hours=True, metadata_requires_contractor=True)
    now = RECEIVED + 31 * MIN
    assert names(ticket, now) == ["supervisor", "contractor_coordinator", "emergency_coordinator"]
    applied = frozenset({"contractor_coordinator", "emergency_coordinator"})
    assert names(ticket, now, applied) == ["supervisor"]
    assert names(ticket, now, applied | {"supervisor"}) == []


@pytest.mark.parametrize("status", [TicketStatus.RESOLVED, TicketStatus.CLOSED])
def test_finished_tickets_never_escalate(status: TicketStatus) -> None:
    ticket = make_ticket(
        status=status, metadata_after_hours=True, metadata_requires_contractor=True
    )
    assert names(ticket, RECEIVED + timedelta(days=30)) == []
    assert next_escalation_time(ticket, RULES) is None


def test_next_escalation_time() -> None:
    plain = make_ticket()
    assert next_escalation_time(plain, RULES) == RECEIVED + 30 * MIN
    assert next_escalation_time(plain, RULES, {"supervisor"}) is None
    contractor = make_ticket(metadata_requires_contractor=True)
    assert next_escalation_time(contractor, RULES) == RECEIVED  # due now
    assert next_escalation_time(contractor, RULES, {"contractor_coordinator"}) == (
        RECEIVED + 30 * MIN
    )
    assert next_escalation_time(make_ticket(urgency=Urgency.LOW), RULES) is None


def test_conditions_compose_with_and_or() -> None:
    ticket = make_ticket(urgency=Urgency.MEDIUM, metadata_after_hours=True)
    late = OlderThan(10 * MIN)
    assert (AfterHours() & late).since(ticket) == RECEIVED + 10 * MIN
    assert (AfterHours() | late).since(ticket) == RECEIVED
    assert (UrgencyIn(frozenset({Urgency.HIGH})) & late).since(ticket) is None
    assert (RequiresContractor() | late).holds(ticket, RECEIVED + 10 * MIN)
    assert not (RequiresContractor() | late).holds(ticket, RECEIVED + 9 * MIN)


def test_rules_come_from_the_override() -> None:
    rules = rules_from_text(
        """
        [escalation.slow_medium]
        description = "Urgency-2 ticket not started within 2 hours"
        target = "manager@property.com"
        urgency = ["2"]
        status = ["New"]
        after_minutes = 120
        """
    )
    ticket = make_ticket(urgency=Urgency.MEDIUM)
    due = due_escalations(ticket, RECEIVED + 121 * MIN, rules)
    assert [(d.rule, d.target) for d in due] == [("slow_medium", "manager@property.com")]
    assert next_escalation_time(make_ticket(), rules) is None  # defaults replaced wholesale
