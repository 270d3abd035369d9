"""Escalations known at creation, through the real ingest service and its registered hooks.

An urgency-1 email received outside business hours: the emergency coordinator's escalation is
recorded and its mail queued in the same transaction as the ticket (not a pass later), exactly
once even when the same message is processed again; the supervisor rule follows at 30 minutes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select

from propdesk import app
from propdesk.clock import Clock
from propdesk.config import BusinessHoursConfig, Config, DatabaseConfig, SmtpConfig
from propdesk.core.message import InboundMessage
from propdesk.core.models import Priority, Urgency
from propdesk.ingest import Analyse, Analysis
from propdesk.mail.imap import FetchedMessage
from propdesk.store.tables_outbox import outbox
from tests.integration.escalation_support import create, escalations, make_ticket
from tests.integration.ingest_support import analyser, tenant_mail
from tests.stack import SmtpPeer


def emergency_analyser(config: Config) -> Analyse:
    """The real pipeline with every ticket raised to urgency 1 and no contractor, so exactly
    the after-hours emergency rule is due at creation (classification is not under test here;
    after_hours is still computed by the core from the receive time)."""
    base = analyser(config)

    def analyse(msg: InboundMessage, received_at: datetime, now: datetime) -> Analysis:
        found = base(msg, received_at, now)
        high = [
            replace(
                t,
                urgency=Urgency.HIGH,
                priority=Priority.HIGH,
                metadata=replace(t.metadata, requires_contractor=False),
            )
            for t in found.tickets
        ]
        return Analysis(tuple(high), found.ignored_reason)

    return analyse


def test_after_hours_emergency_is_escalated_in_the_creation_transaction_once(
    clean_db: Engine, db_config: DatabaseConfig, smtp_config: SmtpConfig, smtp_peer: SmtpPeer
) -> None:
    # No opening hours at all: every moment is after hours, whatever the wall clock says.
    config = Config(
        database=db_config, smtp=smtp_config, business_hours=BusinessHoursConfig(hours={})
    )
    ingest = app.ingest_service(config, clean_db, analyse=emergency_analyser(config))
    received = datetime.now(UTC) - timedelta(minutes=1)
    raw = tenant_mail(1, "Water is flooding the bathroom from the ceiling, please come now!")
    fetched = FetchedMessage(uid=1, size=len(raw), received_at=received, raw=raw)

    result = ingest.process("INBOX", 7, fetched)
    (ticket_id,) = result.ticket_ids
    assert escalations(clean_db) == [(ticket_id, "emergency_coordinator")]

    delivery = app.outbox_delivery(config, clean_db)
    try:
        delivery.run_once()
    finally:
        delivery.close()
    rcpts = sorted(r for mail in smtp_peer.received for r in mail.rcpt_tos)
    assert "emergency_coordinator@property.com" in rcpts
    assert rcpts.count("emergency_coordinator@property.com") == 1

    # The same message again (a replay after a crash): nothing new, no second mail.
    again = ingest.process("INBOX", 7, fetched)
    assert again.already
    with clean_db.connect() as conn:
        queued = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
    assert queued == len(smtp_peer.received)
    assert escalations(clean_db) == [(ticket_id, "emergency_coordinator")]

    # The pass picks the ticket up at its stored next time: the supervisor rule at 30 min.
    service = app.escalation_service(config, clean_db)
    assert service.run_pass(received + timedelta(minutes=29)).escalated == []
    report = service.run_pass(received + timedelta(minutes=31))
    assert [(e.ticket_id, e.rule) for e in report.escalated] == [(ticket_id, "supervisor")]


def test_daemon_turn_runs_the_pass_and_delivers_its_mail(
    clean_db: Engine, db_config: DatabaseConfig, smtp_config: SmtpConfig, smtp_peer: SmtpPeer
) -> None:
    now = datetime.now(UTC)
    config = Config(database=db_config, smtp=smtp_config)
    service = app.escalation_service(
        config, clean_db, clock=Clock(now=lambda: now - timedelta(minutes=45))
    )
    (ticket,) = [make_ticket(now - timedelta(minutes=45), urgency="1")]
    create(clean_db, service, ticket)
    daemon = app.daemon(config, mailboxes=[], analyse=analyser(config))
    try:
        report = daemon.loop.run_once()  # what `propdesk run --once` does: tasks in order
    finally:
        daemon.close()
    assert report.task_errors == []
    assert (ticket.ticket_id, "supervisor") in escalations(clean_db)
    # The outbox task ran before the escalation task in this turn: the mail goes next turn.
    daemon = app.daemon(config, mailboxes=[], analyse=analyser(config))
    try:
        daemon.loop.run_once()
    finally:
        daemon.close()
    assert [m.rcpt_tos for m in smtp_peer.received] == [("supervisor@property.com",)]
