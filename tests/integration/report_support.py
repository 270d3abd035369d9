"""A seeded database for the report tests: nine tickets with known times, statuses, events,
escalations and ratings, and the figures they must give (computed by hand, below).

The clock reads NOW = Friday 2026-03-20 12:00 UTC; the window is 2026-03-14 .. 2026-03-20
(``--since 2026-03-14 --until 2026-03-21``). SLA targets are the default rules': urgency 1
30 min / 4 h, urgency 2 2 h / 24 h, urgency 3 8 h / 72 h.

    id  received     u  category/sub   assignee     status       start  resolved  unit/bldg
    T0  03-10 09:00  3  Maint/plumbing plumber      New          -      -         3B/A (before)
    T1  03-14 09:00  1  Maint/plumbing plumber      Resolved     +10m   +2h       3B/A
    T2  03-14 10:00  1  Maint/plumbing plumber      Resolved     +50m   +6h       3B/A
    T3  03-15 08:00  2  Maint/electric electrician  Closed       +1h    +10h      4C/A (closed +20h)
    T4  03-16 12:00  2  Maint/hvac     hvac         Resolved     +3h    +30h      5D/B
    T5  03-17 07:00  3  Payment        accounting   New          -      -         6F/-
    T6  03-19 09:00  2  Maint/plumbing plumber      In Progress  +1h    -         3B/A
    T7  03-20 11:00  1  Maint/plumbing plumber      New          -      -         7E/B
    T8  03-18 09:00  3  Lease          leasing      Resolved     +1h    +4h       2A/- (reopened)

Resolution hours 2, 4, 6, 10, 30: mean 10.4, median 6, p90 = 10 + 0.6 * (30 - 10) = 22
(``percentile_cont``: position 0.9 * (5 - 1) = 3.6), max 30.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import Session

from propdesk.core.models import Category, Priority, Subcategory, TicketStatus, Urgency
from propdesk.core.rules import load_rules
from propdesk.core.sla import sla_deadlines
from propdesk.store.tables import TicketRow
from propdesk.store.tickets import ticket_values
from tests.unit.helpers_core import make_ticket

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
SINCE, UNTIL = "2026-03-14", "2026-03-21"
POLICY = load_rules().policy
H = timedelta(hours=1)
M = timedelta(minutes=1)

PLUMBER, ELECTRICIAN, HVAC = "plumber@property.com", "electrician@property.com", "hvac@property.com"
ACCOUNTING, LEASING = "accounting@property.com", "leasing@property.com"


def _at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


# (name, received, urgency, category, subcategory, assignee, status, started, resolved, closed,
#  unit, building, property, short description)
SEED: list[tuple[Any, ...]] = [
    ("T0", _at(10, 9), "3", "Maintenance", "plumbing", PLUMBER, "New", None, None, None,
     "Unit 3B", "A", "PA01", "Drip under the sink"),
    ("T1", _at(14, 9), "1", "Maintenance", "plumbing", PLUMBER, "Resolved", 10 * M, 2 * H, None,
     "Unit 3B", "A", "PA01", "Leak under the sink"),
    ("T2", _at(14, 10), "1", "Maintenance", "plumbing", PLUMBER, "Resolved", 50 * M, 6 * H, None,
     "Unit 3B", "A", "PA01", "=HYPERLINK(\"http://evil.example\",\"click\")"),
    ("T3", _at(15, 8), "2", "Maintenance", "electrical", ELECTRICIAN, "Closed", H, 10 * H, 20 * H,
     "Unit 4C", "A", "PA01", "Outlet dead"),
    ("T4", _at(16, 12), "2", "Maintenance", "hvac", HVAC, "Resolved", 3 * H, 30 * H, None,
     "Unit 5D", "B", "PB01", "No cooling"),
    ("T5", _at(17, 7), "3", "Payment", None, ACCOUNTING, "New", None, None, None,
     "Unit 6F", None, "PA01", "-5 EUR charged twice"),
    ("T6", _at(19, 9), "2", "Maintenance", "plumbing", PLUMBER, "In Progress", H, None, None,
     "Unit 3B", "A", "PA01", "+ the sink leaks again"),
    ("T7", _at(20, 11), "1", "Maintenance", "plumbing", PLUMBER, "New", None, None, None,
     "Unit 7E", "B", "PB01", "@ceiling water coming through"),
    ("T8", _at(18, 9), "3", "Lease", None, LEASING, "Resolved", H, 4 * H, None,
     "Unit 2A", None, "PC01", "Lease renewal question"),
]  # fmt: skip


def seed(engine: Engine) -> dict[str, int]:
    """Insert the tickets, their events, escalations and ratings; returns name -> pk."""
    pks: dict[str, int] = {}
    with Session(engine) as session, session.begin():
        for i, row in enumerate(SEED):
            name, received, urg, cat, sub, who, status, started, resolved, closed = row[:10]
            unit, building, prop, short = row[10:]
            ticket = make_ticket(
                ticket_id=f"TKT-{i:08X}",
                short_description=short,
                description=f"{short} (seeded {name})",
                category=Category(cat),
                subcategory=Subcategory(sub) if sub else None,
                urgency=Urgency(urg),
                priority=Priority(urg),
                property_id=prop,
                unit_number=unit,
                assigned_to=who,
                status=TicketStatus(status),
                received_at=received,
                created_at=received,
                updated_at=received,
                started_at=received + started if started else None,
                resolved_at=received + resolved if resolved else None,
                closed_at=received + closed if closed else None,
                metadata_building=building,
            )
            due = sla_deadlines(ticket, POLICY)
            values = ticket_values(ticket, (due.response_due, due.resolution_due))
            pks[name] = session.scalars(
                insert(TicketRow).values(**values).returning(TicketRow.id)
            ).one()
        events = [
            ("T8", "reopened", _at(18, 14), {"from": "Resolved", "to": "In Progress"}),
            ("T1", "rating", _at(14, 12), {"rating": "2"}),
            ("T1", "rating", _at(14, 13), {"rating": "5"}),  # latest wins
            ("T3", "rating", _at(16, 8), {"rating": "4"}),
            ("T4", "comment", _at(17, 8), {"rating": "1"}),  # not a rating event
        ]
        for name, kind, at, data in events:
            session.execute(
                text(
                    "INSERT INTO ticket_events (ticket_pk, kind, actor, at, data) "
                    "VALUES (:pk, :kind, 'tenant', :at, CAST(:data AS jsonb))"
                ),
                {"pk": pks[name], "kind": kind, "at": at, "data": _json(data)},
            )
        for name, rule in (("T2", "supervisor"), ("T7", "sla_warning")):
            session.execute(
                text(
                    "INSERT INTO escalations (ticket_pk, rule, due_at, escalated_at, target) "
                    "VALUES (:pk, :rule, :at, :at, 'supervisor@property.com')"
                ),
                {"pk": pks[name], "rule": rule, "at": NOW - H},
            )
    return pks


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data)


#: The whole window's figures, by hand from the table above.
EXPECTED_SUMMARY = {
    "total_tickets": 8,
    "open_tickets": 3,
    "closed_tickets": 5,
    "resolved_tickets": 5,
    "avg_resolution_time": 10.4,
    "median_resolution_time": 6.0,
    "p90_resolution_time": 22.0,
    "max_resolution_time": 30.0,
    "open_breached": 3,  # T5 (both clocks), T6 (resolution), T7 (response)
}
EXPECTED_SLA = {
    "1": {"response": 0.3333, "response_decided": 3, "resolution": 0.5, "resolution_decided": 2},
    "2": {"response": 0.6667, "response_decided": 3, "resolution": 0.3333, "resolution_decided": 3},
    "3": {"response": 0.5, "response_decided": 2, "resolution": 0.5, "resolution_decided": 2},
}
EXPECTED_PERFORMANCE = {
    "sla_compliance": 0.4286,  # 3 of 7 decided resolution clocks
    "response_sla_compliance": 0.5,  # 4 of 8
    "escalation_rate": 0.125,  # T2 (the T7 warning does not count)
    "escalated_tickets": 1,
    "reopen_rate": 0.2,  # T8 of the 5 resolved at least once
    "reopened_tickets": 1,
    "tenant_satisfaction": 4.5,  # T1 (latest 5) and T3 (4)
    "satisfaction_count": 2,
}
EXPECTED_DAILY_CREATED = [2, 1, 1, 1, 1, 1, 1]  # 03-14 .. 03-20
EXPECTED_DAILY_RESOLVED = [2, 1, 0, 1, 1, 0, 0]
EXPECTED_BACKLOG = {"< 1 day": 1, "1-3 days": 1, "3-7 days": 1, "7-30 days": 1, "> 30 days": 0}
EXPECTED_CATEGORY = {"Maintenance": 6, "Lease": 1, "Payment": 1}
EXPECTED_ASSIGNEES = [
    # assignee, received in window, open now (T0 counts: still open), resolved, median hours
    (PLUMBER, 4, 3, 2, 4.0),
    (ACCOUNTING, 1, 1, 0, None),
    (ELECTRICIAN, 1, 0, 1, 10.0),
    (HVAC, 1, 0, 1, 30.0),
    (LEASING, 1, 0, 1, 4.0),
]
EXPECTED_RECURRING = [
    # T1 (after T0), T2 (after T1), T6 (after T2): same unit, plumbing, within 30 days
    {"property_id": "PA01", "unit_number": "Unit 3B", "building": "A", "tickets": 3, "repeats": 3}
]
