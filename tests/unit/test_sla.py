"""SLA clocks: deadlines from received_at, the <= boundary, near breach, compliance."""

from __future__ import annotations

from datetime import timedelta

from propdesk.core.models import TicketStatus, Urgency
from propdesk.core.rules import load_rules
from propdesk.core.sla import (
    SlaState,
    check_sla_compliance,
    sla_deadlines,
    sla_status,
    tickets_at_risk,
)
from tests.unit.helpers_core import RECEIVED, make_ticket

POLICY = load_rules().policy
MIN = timedelta(minutes=1)
SEC = timedelta(seconds=1)


def test_deadlines_per_urgency_from_received_at() -> None:
    created_later = RECEIVED + 5 * MIN
    for urgency, response, resolution in [
        (Urgency.HIGH, 30, 240),
        (Urgency.MEDIUM, 120, 1440),
        (Urgency.LOW, 480, 4320),
    ]:
        ticket = make_ticket(urgency=urgency, created_at=created_later)
        deadlines = sla_deadlines(ticket, POLICY)
        assert deadlines.response_due == RECEIVED + response * MIN
        assert deadlines.resolution_due == RECEIVED + resolution * MIN


def test_response_clock_boundaries() -> None:
    ticket = make_ticket()  # urgency 1: 30 min response
    assert sla_status(ticket, POLICY, RECEIVED + 23 * MIN).response is SlaState.OK
    assert sla_status(ticket, POLICY, RECEIVED + 24 * MIN).response is SlaState.NEAR_BREACH
    assert sla_status(ticket, POLICY, RECEIVED + 30 * MIN).response is SlaState.NEAR_BREACH
    assert sla_status(ticket, POLICY, RECEIVED + 30 * MIN + SEC).response is SlaState.BREACHED


def test_started_exactly_at_the_deadline_meets_it() -> None:
    on_time = make_ticket(status=TicketStatus.IN_PROGRESS, started_at=RECEIVED + 30 * MIN)
    late = make_ticket(status=TicketStatus.IN_PROGRESS, started_at=RECEIVED + 30 * MIN + SEC)
    later = RECEIVED + 60 * MIN
    assert sla_status(on_time, POLICY, later).response is SlaState.MET
    assert sla_status(late, POLICY, later).response is SlaState.BREACHED
    assert check_sla_compliance(on_time, POLICY, later).response_time_met
    assert not check_sla_compliance(late, POLICY, later).response_time_met


def test_compliance_as_the_spec_intends() -> None:
    new = make_ticket()
    within = check_sla_compliance(new, POLICY, RECEIVED + 10 * MIN)
    assert not within.response_time_met  # not started yet: not met (spec)
    assert within.resolution_time_met  # open and inside the 4 h window
    assert not check_sla_compliance(new, POLICY, RECEIVED + 241 * MIN).resolution_time_met
    resolved = make_ticket(
        status=TicketStatus.RESOLVED,
        started_at=RECEIVED + 5 * MIN,
        resolved_at=RECEIVED + 240 * MIN,
    )
    much_later = RECEIVED + timedelta(days=9)
    assert check_sla_compliance(resolved, POLICY, much_later) == check_sla_compliance(
        resolved, POLICY, RECEIVED + 241 * MIN
    )
    assert check_sla_compliance(resolved, POLICY, much_later).resolution_time_met
    closed_unresolved = make_ticket(status=TicketStatus.CLOSED, closed_at=RECEIVED + MIN)
    assert not check_sla_compliance(closed_unresolved, POLICY, much_later).resolution_time_met


def test_tickets_at_risk_lists_only_open_risky_tickets() -> None:
    now = RECEIVED + 25 * MIN
    near = make_ticket(ticket_id="TKT-00000001")
    fine = make_ticket(ticket_id="TKT-00000002", urgency=Urgency.LOW)
    done = make_ticket(
        ticket_id="TKT-00000003", status=TicketStatus.RESOLVED, resolved_at=RECEIVED + MIN
    )
    breached = make_ticket(ticket_id="TKT-00000004", received_at=RECEIVED - 60 * MIN)
    risky = tickets_at_risk([near, fine, done, breached], POLICY, now)
    assert [s.ticket_id for s in risky] == ["TKT-00000004", "TKT-00000001"]
    assert risky[0].response is SlaState.BREACHED
    assert risky[1].response is SlaState.NEAR_BREACH
