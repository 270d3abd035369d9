"""Escalation passes and SLA tracking against real PostgreSQL and the SMTP peer, clock injected.

Tickets are written the way ingest writes them (a row in ``tickets`` plus the creation hook in
the same transaction); mail is what the outbox delivery hands to the recording SMTP peer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, text

from propdesk import app
from propdesk.clock import Clock as SystemClock
from propdesk.config import Config, DatabaseConfig, EscalationConfig, SmtpConfig
from propdesk.escalation_service import EscalationService, PassReport
from propdesk.store.tables_escalation import EscalationRow, SlaBreachRow
from propdesk.store.tables_outbox import outbox
from tests.integration.escalation_support import (
    NIGHT,
    T0,
    Clock,
    create,
    escalations,
    make_ticket,
    set_status,
)
from tests.stack import SmtpPeer


@pytest.fixture
def config(db_config: DatabaseConfig, smtp_config: SmtpConfig) -> Config:
    return Config(
        database=db_config,
        smtp=smtp_config,
        escalation=EscalationConfig(warn_before_resolution_minutes=30, batch_size=50),
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def service(clean_db: Engine, config: Config, clock: Clock) -> EscalationService:
    return app.escalation_service(config, clean_db, clock=clock.clock)


@pytest.fixture
def deliver(
    clean_db: Engine, config: Config, clock: Clock, smtp_peer: SmtpPeer
) -> Iterator[Callable[[], int]]:
    """Run the outbox delivery once (as the loop would) and return how many it sent."""
    delivery = app.outbox_delivery(config, clean_db, clock=clock.clock)
    try:
        yield lambda: delivery.run_once().sent
    finally:
        delivery.close()


def queued_kinds(engine: Engine) -> set[str]:
    """The kinds of every outbox row written so far."""
    with engine.connect() as conn:
        return set(conn.execute(select(outbox.c.kind)).scalars())


def rcpts(peer: SmtpPeer) -> list[str]:
    return [r for mail in peer.received for r in mail.rcpt_tos]


def test_urgency_1_new_escalates_to_supervisor_after_30_minutes_once(
    clean_db: Engine,
    service: EscalationService,
    clock: Clock,
    deliver: Callable[[], int],
    smtp_peer: SmtpPeer,
) -> None:
    ticket = make_ticket(T0)
    create(clean_db, service, ticket)

    clock.now = T0 + timedelta(minutes=29)
    report = service.run_pass()
    assert report.escalated == []
    assert deliver() == 0

    clock.now = T0 + timedelta(minutes=31)
    report = service.run_pass()
    assert [(e.ticket_id, e.rule, e.target) for e in report.escalated] == [
        (ticket.ticket_id, "supervisor", "supervisor@property.com")
    ]
    assert report.examined == 1
    assert deliver() == 1
    mail = smtp_peer.received[0]
    assert mail.rcpt_tos == ("supervisor@property.com",)
    assert f"[{ticket.ticket_id}]" in str(mail.message["Subject"])
    body = mail.message.get_body(preferencelist=("plain",))
    assert body is not None
    content = body.get_content()
    assert "supervisor" in content
    assert "31 min" in content
    assert "Unit 3B" in content
    assert "Water is pouring through the ceiling" in content
    assert "High (1)" in content

    # The response deadline (30 min for urgency 1) passed with the ticket still New.
    assert [(b.ticket_id, b.kind) for b in report.breached] == [(ticket.ticket_id, "response")]

    clock.now = T0 + timedelta(minutes=32)
    report = service.run_pass()
    assert report.escalated == [] and report.breached == []
    assert deliver() == 0
    assert escalations(clean_db) == [(ticket.ticket_id, "supervisor")]
    assert len(smtp_peer.received) == 1


def test_boundary_29_59_vs_30_01(clean_db: Engine, service: EscalationService) -> None:
    create(clean_db, service, make_ticket(T0))
    assert service.run_pass(T0 + timedelta(minutes=29, seconds=59)).escalated == []
    assert len(service.run_pass(T0 + timedelta(minutes=30, seconds=1)).escalated) == 1


def test_contractor_and_after_hours_emergency_mail_at_creation_once(
    clean_db: Engine,
    service: EscalationService,
    clock: Clock,
    deliver: Callable[[], int],
    smtp_peer: SmtpPeer,
) -> None:
    clock.now = NIGHT
    contractor = make_ticket(NIGHT, urgency="2", requires_contractor=True)
    emergency = make_ticket(NIGHT, urgency="1", after_hours=True)
    create(clean_db, service, contractor, emergency)

    # Recorded in the creation transaction, before any pass ran.
    assert sorted(escalations(clean_db)) == sorted(
        [
            (contractor.ticket_id, "contractor_coordinator"),
            (emergency.ticket_id, "emergency_coordinator"),
        ]
    )
    with clean_db.connect() as conn:
        linked = conn.execute(
            select(func.count())
            .select_from(EscalationRow)
            .where(EscalationRow.outbox_id.is_not(None))
        ).scalar_one()
    assert linked == 2
    assert deliver() == 2
    assert sorted(rcpts(smtp_peer)) == [
        "contractor_coordinator@property.com",
        "emergency_coordinator@property.com",
    ]

    # Later passes do not repeat them (the supervisor rule is a different one, at 30 min).
    clock.now = NIGHT + timedelta(minutes=5)
    assert service.run_pass().escalated == []
    assert deliver() == 0
    clock.now = NIGHT + timedelta(minutes=31)
    report = service.run_pass()
    assert [(e.ticket_id, e.rule) for e in report.escalated] == [
        (emergency.ticket_id, "supervisor")
    ]
    assert deliver() == 1
    assert len(smtp_peer.received) == 3


def test_in_progress_at_20_minutes_never_escalates(
    clean_db: Engine,
    service: EscalationService,
    deliver: Callable[[], int],
    smtp_peer: SmtpPeer,
) -> None:
    ticket = make_ticket(T0)
    create(clean_db, service, ticket)
    set_status(clean_db, ticket.ticket_id, "In Progress", T0 + timedelta(minutes=20))
    for minutes in (31, 60, 200):
        report = service.run_pass(T0 + timedelta(minutes=minutes))
        assert report.escalated == []
        assert report.breached == []  # work started within the 30-minute response target
    assert escalations(clean_db) == []
    assert queued_kinds(clean_db) == {"ticket_status_tenant"}  # the tenant's update, no more


@pytest.mark.parametrize("status", ["Resolved", "Closed"])
def test_resolved_and_closed_never_escalate_nor_breach(
    clean_db: Engine,
    service: EscalationService,
    deliver: Callable[[], int],
    status: str,
) -> None:
    ticket = make_ticket(T0)
    create(clean_db, service, ticket)
    set_status(clean_db, ticket.ticket_id, status, T0 + timedelta(minutes=10))
    for minutes in (31, 300, 5000):
        report = service.run_pass(T0 + timedelta(minutes=minutes))
        assert report.examined == 0
        assert report.escalated == [] and report.breached == [] and report.warned == []
    assert escalations(clean_db) == []
    assert queued_kinds(clean_db) <= {"ticket_status_tenant", "ticket_resolved_tenant"}


def test_resolution_breach_and_near_breach_warning_to_assignee(
    clean_db: Engine,
    service: EscalationService,
    clock: Clock,
    deliver: Callable[[], int],
    smtp_peer: SmtpPeer,
) -> None:
    ticket = make_ticket(T0, urgency="2")  # respond within 2 h, resolve within 24 h
    (pk,) = create(clean_db, service, ticket)
    set_status(clean_db, ticket.ticket_id, "In Progress", T0 + timedelta(minutes=60))

    clock.now = T0 + timedelta(hours=23, minutes=20)
    assert service.run_pass().warned == []
    clock.now = T0 + timedelta(hours=23, minutes=31)
    report = service.run_pass()
    assert [(w.ticket_id, w.target) for w in report.warned] == [
        (ticket.ticket_id, "plumber@property.com")
    ]
    deliver()
    assert sorted(rcpts(smtp_peer)) == sorted([ticket.requested_for, "plumber@property.com"])

    report = service.run_pass(T0 + timedelta(hours=24, minutes=1))
    assert [(b.ticket_id, b.kind) for b in report.breached] == [(ticket.ticket_id, "resolution")]
    assert report.warned == []
    assert service.run_pass(T0 + timedelta(hours=30)).breached == []
    with clean_db.connect() as conn:
        kinds = conn.execute(select(SlaBreachRow.kind)).scalars().all()
        next_at = conn.execute(
            text("SELECT next_escalation_at FROM tickets WHERE id = :pk"), {"pk": pk}
        ).scalar_one()
    assert kinds == ["resolution"]  # never New past its response deadline: no response breach
    assert next_at is None  # nothing left that could happen to it


def test_two_passes_at_once_escalate_each_ticket_once(
    clean_db: Engine, config: Config, service: EscalationService
) -> None:
    n = 120
    create(clean_db, service, *(make_ticket(T0) for _ in range(n)))
    now = T0 + timedelta(minutes=45)
    barrier = threading.Barrier(2)
    reports: list[PassReport] = []
    errors: list[BaseException] = []

    def one() -> None:
        eng = app.engine(config)
        try:
            svc = app.escalation_service(config, eng, clock=SystemClock(now=lambda: now))
            barrier.wait()
            reports.append(svc.run_pass())
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            eng.dispose()

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert sum(len(r.escalated) for r in reports) == n
    assert sum(len(r.breached) for r in reports) == n
    rows = escalations(clean_db)
    assert len(rows) == n == len(set(rows))
    with clean_db.connect() as conn:
        mails = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
    assert mails == n


def test_pass_uses_the_next_escalation_index(clean_db: Engine, service: EscalationService) -> None:
    with clean_db.connect() as conn:
        # The table is tiny here; tell the planner that scans are expensive, as at 100k rows.
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                text(
                    "EXPLAIN SELECT * FROM tickets WHERE next_escalation_at <= :now"
                    " AND status IN ('New', 'In Progress', 'Pending')"
                    " ORDER BY next_escalation_at LIMIT 50 FOR UPDATE SKIP LOCKED"
                ),
                {"now": T0},
            )
        )
    assert "ix_tickets_next_escalation_open" in plan


def test_one_ticket_due_for_all_three_rules_gets_each_once(
    clean_db: Engine, service: EscalationService, clock: Clock
) -> None:
    clock.now = NIGHT
    ticket = make_ticket(NIGHT, urgency="1", requires_contractor=True, after_hours=True)
    create(clean_db, service, ticket)
    for minutes in (10, 31, 45, 215, 300):  # the warning is 30 min before the 4 h deadline
        service.run_pass(NIGHT + timedelta(minutes=minutes))
    assert sorted(rule for _, rule in escalations(clean_db)) == [
        "contractor_coordinator",
        "emergency_coordinator",
        "sla_warning",
        "supervisor",
    ]


def test_work_started_after_the_response_deadline_is_a_response_breach(
    clean_db: Engine, service: EscalationService
) -> None:
    """No pass ran between 30 and 40 minutes: the late start is still recorded (the core's
    clock stopped late), and the supervisor rule no longer applies (it is not New any more)."""
    ticket = make_ticket(T0)
    create(clean_db, service, ticket)
    set_status(clean_db, ticket.ticket_id, "In Progress", T0 + timedelta(minutes=40))
    report = service.run_pass(T0 + timedelta(minutes=41))
    assert [(b.ticket_id, b.kind) for b in report.breached] == [(ticket.ticket_id, "response")]
    assert report.escalated == []
