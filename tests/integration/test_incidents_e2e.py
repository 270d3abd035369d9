"""Incidents the whole way: tenants' mails in Dovecot -> the daemon (real parser, classifier,
hooks) -> PostgreSQL -> the SMTP peer. Five units of one building without heat are one incident:
staff hear of the first ticket and of the incident once, one ticket escalates, and resolving the
incident tells all five tenants. Another building's tenant, and two units alone, stay apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import Engine, select

from propdesk import app
from propdesk.clock import Clock
from propdesk.config import Config, DatabaseConfig, MailboxConfig
from propdesk.core.models import TicketStatus
from propdesk.store.tables import TicketRow
from propdesk.store.tables_escalation import EscalationRow
from propdesk.store.tables_incidents import IncidentRow, IncidentTicketRow
from propdesk.store.tables_outbox import outbox
from tests.integration.test_notify_daemon import ALWAYS_OPEN
from tests.stack import Dovecot, ImapUser, SmtpPeer

pytestmark = pytest.mark.integration


def no_heat(n: int, building: str, unit: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Tenant {n} <tenant{n}@example.org>"
    msg["To"] = "maintenance@property.com"
    msg["Subject"] = "No heat"
    msg["Message-ID"] = f"<no-heat-{n}@example.org>"
    msg.set_content(
        f"Hello,\n\nThere is no heat in my apartment since this morning, the radiators are "
        f"cold. Building {building}, unit {unit}.\n\nThanks\n"
    )
    return bytes(msg)


def delivered(config: Config) -> None:
    d = app.outbox_delivery(config, app.engine(config))
    try:
        d.run_once(limit=10_000)
    finally:
        d.close()


def test_five_units_without_heat_are_one_incident(
    clean_db: Engine,
    db_config: DatabaseConfig,
    mailbox_config: MailboxConfig,
    dovecot: Dovecot,
    imap_user: ImapUser,
    smtp_peer: SmtpPeer,
) -> None:
    config = Config(
        database=db_config,
        mailboxes=[mailbox_config],
        smtp=smtp_peer.smtp_config(message_id_domain="mail.property.com"),
        business_hours=ALWAYS_OPEN,
    )
    a_units = ["101", "102", "103", "104", "105"]
    for n, unit in enumerate(a_units, 1):
        dovecot.append(imap_user, no_heat(n, "A", unit))
    dovecot.append(imap_user, no_heat(6, "B", "201"))  # another building: its own ticket
    dovecot.append(imap_user, no_heat(7, "C", "301"))  # two units alone: no incident
    dovecot.append(imap_user, no_heat(8, "C", "302"))
    daemon = app.daemon(config)
    try:
        report = daemon.loop.run_once()
    finally:
        daemon.close()
    assert report.ok, report
    delivered(config)

    with clean_db.connect() as conn:
        tickets = {
            r.requested_for: (r.id, r.ticket_id, r.unit_number)
            for r in conn.execute(select(TicketRow))
        }
        incidents = conn.execute(select(IncidentRow)).all()
        links = conn.execute(select(IncidentTicketRow)).all()
        escalated = conn.execute(select(EscalationRow.ticket_pk, EscalationRow.rule)).all()
    assert len(tickets) == 8
    formed = [i for i in incidents if i.formed_at is not None]
    assert len(formed) == 1 and formed[0].building == "A" and formed[0].system == "heat"
    a_pks = {tickets[f"tenant{n}@example.org"][0] for n in range(1, 6)}
    assert {lk.ticket_pk for lk in links if lk.incident_pk == formed[0].id} == a_pks
    lead_pk = tickets["tenant1@example.org"][0]
    assert formed[0].lead_ticket_pk == lead_pk
    # building B is alone; building C has two units: forming, never formed
    assert {i.building: i.status for i in incidents if i.formed_at is None} == {
        "B": "forming",
        "C": "forming",
    }

    got = smtp_peer.received
    a_ids = {tickets[f"tenant{n}@example.org"][1] for n in range(1, 6)}
    staff_a = [
        m
        for m in got
        if not m.rcpt_tos[0].startswith("tenant")
        and set(m.message["X-Propdesk-Ticket"].split()) & a_ids
    ]
    subjects = sorted(m.message["Subject"].split(":")[0] for m in staff_a)
    assert subjects == ["Building Incident", "New Ticket Assigned"], subjects
    assigned = next(m for m in staff_a if m.message["Subject"].startswith("New Ticket"))
    assert tickets["tenant1@example.org"][1] in assigned.message["Subject"]
    announce = next(m for m in staff_a if m.message["Subject"].startswith("Building Incident"))
    text = str(announce.message.get_body(("plain",)).get_content())
    assert (
        "heating in building A" in text and "3 tickets from 3 units" in text
    )  # announced as it forms
    acks = [m for m in got if m.message["Subject"].startswith("Service Request Received")]
    assert len(acks) == 8  # every tenant keeps its own ticket and acknowledgement
    b_id = tickets["tenant6@example.org"][1]
    assert any(
        m.message["Subject"].startswith("New Ticket") and b_id in m.message["Subject"] for m in got
    )

    # The supervisor rule (urgency 1 still New after 30 minutes): the incident escalates once.
    later = datetime.now(UTC) + timedelta(minutes=45)
    app.escalation_service(config, clean_db).run_pass(now=later)
    with clean_db.connect() as conn:
        escalated = conn.execute(select(EscalationRow.ticket_pk, EscalationRow.rule)).all()
    a_escalations = [(pk, rule) for pk, rule in escalated if pk in a_pks]
    assert [pk for pk, _ in a_escalations] == [lead_pk] * len(a_escalations), a_escalations
    assert [rule for _, rule in a_escalations].count("supervisor") == 1
    c_lead, c_second = (tickets[f"tenant{n}@example.org"] for n in (7, 8))
    supervised = {pk for pk, rule in escalated if rule == "supervisor"}
    assert c_lead[0] in supervised and c_second[0] not in supervised  # held for the window

    # Two units alone: after the window the second ticket is handled as its own (mail, escalation).
    after_window = datetime.now(UTC) + timedelta(minutes=65)
    app.escalation_service(config, clean_db).run_pass(now=after_window)
    with clean_db.connect() as conn:
        escalated = conn.execute(select(EscalationRow.ticket_pk, EscalationRow.rule)).all()
    assert (c_second[0], "supervisor") in escalated
    assert [pk for pk, _ in escalated if pk in a_pks] == [lead_pk] * len(a_escalations)
    d = app.outbox_delivery(config, clean_db, clock=Clock(now=lambda: after_window))
    d.run_once(limit=10_000)
    d.close()
    assert any(
        m.message["Subject"].startswith("New Ticket") and c_second[1] in m.message["Subject"]
        for m in smtp_peer.received
    )

    # Resolving the incident mails all five tenants.
    before = len(smtp_peer.received)
    service = app.incident_service(config, clean_db)
    ref = f"INC-{formed[0].id}"
    service.set_status(ref, TicketStatus.IN_PROGRESS, by="test", note="Boiler engineer on site")
    moved = service.set_status(ref, TicketStatus.RESOLVED, by="test", note="Boiler repaired")
    assert sorted(moved) == sorted(a_ids)
    delivered(config)
    done = [
        m
        for m in smtp_peer.received[before:]
        if m.message["Subject"].startswith("Service Request Completed")
    ]
    assert sorted(m.rcpt_tos[0] for m in done) == [f"tenant{n}@example.org" for n in range(1, 6)]
    with clean_db.connect() as conn:
        held = conn.execute(
            select(outbox.c.status).where(outbox.c.kind == "ticket_assigned")
        ).scalars()
        assert sorted(held).count("suppressed") == 1  # the second ticket's held mail, dropped
