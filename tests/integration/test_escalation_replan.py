"""A status or urgency change re-plans the ticket's escalations at the next pass: a raised
urgency does not wait for the old, later escalation time, a reopened ticket breaches again, and
Resolved/Closed tickets are never due (real PostgreSQL, clock injected)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from propdesk import app
from propdesk.config import Config, DatabaseConfig, EscalationConfig, SmtpConfig
from propdesk.core.models import Urgency
from propdesk.core.sla import sla_deadlines
from propdesk.escalation_service import EscalationService
from propdesk.store import tickets
from propdesk.store.tables import TicketRow
from tests.integration.escalation_support import POLICY, T0, Clock, create, make_ticket, set_status

pytestmark = pytest.mark.integration


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def service(
    clean_db: Engine, db_config: DatabaseConfig, smtp_config: SmtpConfig, clock: Clock
) -> EscalationService:
    config = Config(database=db_config, smtp=smtp_config, escalation=EscalationConfig())
    return app.escalation_service(config, clean_db, clock=clock.clock)


def _next_at(engine: Engine, ticket_id: str) -> object:
    with Session(engine) as s:
        return s.scalar(
            select(TicketRow.next_escalation_at).where(TicketRow.ticket_id == ticket_id)
        )


def test_raised_urgency_escalates_on_the_new_deadline_not_the_old_one(
    clean_db: Engine, service: EscalationService, clock: Clock
) -> None:
    ticket = make_ticket(T0, urgency="3")
    create(clean_db, service, ticket)
    old_next = _next_at(clean_db, ticket.ticket_id)
    assert old_next is not None and old_next > T0 + timedelta(hours=2)

    changed_at = T0 + timedelta(minutes=5)
    with Session(clean_db) as s, s.begin():
        locked = tickets.lock(s, ticket.ticket_id)
        assert locked is not None
        after = replace(locked.ticket, urgency=Urgency.HIGH, updated_at=changed_at)
        due = sla_deadlines(after, POLICY)
        tickets.save_urgency(
            s, locked.pk, before=locked.ticket, after=after, by="staff@property.com",
            due=(due.response_due, due.resolution_due),
        )  # fmt: skip
    assert _next_at(clean_db, ticket.ticket_id) == changed_at

    clock.now = changed_at
    service.run_pass()  # re-planned from urgency 1: the supervisor 30 min after receipt
    assert _next_at(clean_db, ticket.ticket_id) == T0 + timedelta(minutes=30)
    clock.now = T0 + timedelta(minutes=31)
    report = service.run_pass()
    assert [e.rule for e in report.escalated] == ["supervisor"]


def test_reopened_ticket_is_due_at_once_and_a_resolved_one_never(
    clean_db: Engine, service: EscalationService, clock: Clock
) -> None:
    ticket = make_ticket(T0, urgency="1")
    create(clean_db, service, ticket)
    set_status(clean_db, ticket.ticket_id, "Resolved", T0 + timedelta(minutes=10))
    assert _next_at(clean_db, ticket.ticket_id) is None

    reopened_at = T0 + timedelta(hours=5)
    set_status(clean_db, ticket.ticket_id, "In Progress", reopened_at)
    assert _next_at(clean_db, ticket.ticket_id) == reopened_at
    clock.now = reopened_at
    report = service.run_pass()
    assert report.examined == 1
    # resolved within its SLA, reopened after the 4 h resolution deadline: it breaches now
    assert [(b.ticket_id, b.kind) for b in report.breached] == [(ticket.ticket_id, "resolution")]
