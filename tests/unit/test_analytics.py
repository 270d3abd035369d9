"""Analytics aggregate what the tickets say, with decided SLA clocks only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from propdesk.core.analytics import summarise
from propdesk.core.models import Category, Subcategory, TicketStatus, Urgency
from propdesk.core.rules import load_rules
from tests.unit.helpers_core import RECEIVED, make_ticket

POLICY = load_rules().policy
NOW = RECEIVED + timedelta(days=2)


def test_empty_report_has_zeroes_and_no_invented_figures() -> None:
    report = summarise([], POLICY, NOW).to_dict()
    assert report["summary"]["total_tickets"] == 0
    assert report["summary"]["avg_resolution_time"] == 0
    assert report["performance"]["sla_compliance"] is None
    assert report["performance"]["tenant_satisfaction"] is None


def test_counts_resolution_times_and_sla() -> None:
    tickets = [
        # resolved in 2 h: urgency 1 target is 4 h -> met; started after 10 min -> response met
        make_ticket(
            ticket_id="TKT-00000001",
            status=TicketStatus.RESOLVED,
            started_at=RECEIVED + timedelta(minutes=10),
            resolved_at=RECEIVED + timedelta(hours=2),
        ),
        # resolved in 6 h -> resolution breached
        make_ticket(
            ticket_id="TKT-00000002",
            status=TicketStatus.RESOLVED,
            started_at=RECEIVED + timedelta(minutes=50),
            resolved_at=RECEIVED + timedelta(hours=6),
        ),
        # still New two days later, urgency 3 (targets 8 h / 72 h): response breached, open
        make_ticket(
            ticket_id="TKT-00000003",
            urgency=Urgency.LOW,
            category=Category.PAYMENT,
            subcategory=None,
            assigned_to="accounting@property.com",
        ),
    ]
    report = summarise(tickets, POLICY, NOW, escalated_ids={"TKT-00000002"}).to_dict()
    summary = report["summary"]
    assert (summary["total_tickets"], summary["open_tickets"], summary["closed_tickets"]) == (
        3,
        1,
        2,
    )
    assert summary["avg_resolution_time"] == 4.0
    assert summary["median_resolution_time"] == 4.0
    assert summary["open_breached"] == 1
    assert report["by_category"] == {"Maintenance": 2, "Payment": 1}
    assert report["by_subcategory"] == {Subcategory.PLUMBING.value: 2}
    assert report["by_urgency"] == {"1": 2, "3": 1}
    assert report["by_assignee"]["plumber@property.com"] == 2
    perf = report["performance"]
    assert perf["sla_compliance"] == 0.5  # two decided resolution clocks, one met
    assert perf["response_sla_compliance"] == round(1 / 3, 4)  # 10 min met; 50 min and New breached
    assert perf["escalation_rate"] == round(1 / 3, 4)
    assert report["trends"]["daily_creation"] == {"2025-06-17": 3}
    assert report["trends"]["resolution_rates"] == {"2025-06-17": round(2 / 3, 4)}


def test_days_are_counted_in_the_business_time_zone() -> None:
    late = datetime(2025, 6, 18, 2, 30, tzinfo=UTC)  # still 17 June in New York
    ticket = make_ticket(received_at=late, created_at=late, updated_at=late)
    report = summarise([ticket], POLICY, late, tz=ZoneInfo("America/New_York")).to_dict()
    assert report["trends"]["daily_creation"] == {"2025-06-17": 1}
