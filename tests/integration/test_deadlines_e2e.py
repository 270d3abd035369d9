"""Statutory deadlines end to end: a rules override names a law (the shipped WA example); a
no-heat mail gets its 24-hour deadline on the ticket and in the assignee's mail, and the breach
is escalated once at the SMTP peer, by the pass with the injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from propdesk import app
from propdesk.clock import Clock
from propdesk.config import parse_config
from propdesk.mail.imap import FetchedMessage
from propdesk.store import ticket_views
from propdesk.store.tables_escalation import EscalationRow
from tests.integration.notify_support import config_data
from tests.stack import SmtpPeer

pytestmark = pytest.mark.integration

LAW = """
[statutory_deadlines.US-WA-example]
citation = "EXAMPLE ONLY, not legal advice: RCW 59.18.070"
notify = "legal@property.com"
[[statutory_deadlines.US-WA-example.rules]]
name = "no heat: 24 hours"
situations = ["no heat", "no heat (stated)", "no heat (absent)"]
span = 24
unit = "hours"
[statutory_deadlines.US-WA-example.otherwise]
name = "other repairs: 10 days"
span = 10
unit = "days"
"""
# Saturday 31 Oct 2026, 14:00 in Seattle (PDT); DST ends the next night.
RECEIVED = datetime(2026, 10, 31, 21, 0, tzinfo=UTC)


def test_no_heat_gets_24_hours_and_a_breach_escalates_once(
    clean_db: Engine, smtp_peer: SmtpPeer, tmp_path: Path
) -> None:
    rules_file = tmp_path / "law.toml"
    rules_file.write_text(LAW, encoding="utf-8")
    data = config_data(smtp_peer)
    data["smtp"]["from_address"] = "tickets@property.com"
    data["intake"]["own_addresses"] = ["tickets@property.com"]
    data["rules"] = {"file": str(rules_file)}
    data["business_hours"] = {"timezone": "America/Los_Angeles"}
    config = parse_config(data)
    raw = (
        b"From: Ann <ann@example.org>\r\nTo: tickets@property.com\r\nSubject: no heat\r\n"
        b"Message-ID: <law-1@example.org>\r\n\r\nThere is no heat in my apartment, the "
        b"radiators are cold. Unit 7A.\r\n"
    )
    clock = Clock(now=lambda: RECEIVED)
    service = app.ingest_service(config, clean_db, clock=clock)
    (ticket_id,) = service.process(
        "INBOX", 1, FetchedMessage(1, len(raw), RECEIVED, raw)
    ).ticket_ids

    detail = ticket_views.detail(clean_db, ticket_id)
    assert detail is not None
    due = RECEIVED + timedelta(hours=24)  # elapsed hours, across the DST change
    assert detail.ticket["statutory_due_at"] == "2026-11-01T21:00:00Z"

    d = app.outbox_delivery(config, clean_db, clock=clock)
    d.run_once(limit=100)
    assigned = next(m for m in smtp_peer.received if m.message["Subject"].startswith("New Ticket"))
    text = str(assigned.message.get_body(("plain",)).get_content())
    assert "Legal deadline: by 2026-11-01 21:00 UTC (EXAMPLE ONLY, not legal advice: RCW" in text

    deadline = app.deadline_pass(config, clean_db)
    assert deadline.run_once(now=due - timedelta(minutes=1)) == "escalated 0"
    assert deadline.run_once(now=due + timedelta(minutes=1)) == "escalated 1"
    assert deadline.run_once(now=due + timedelta(hours=5)) == "escalated 0"  # once
    with clean_db.connect() as conn:
        rows = conn.execute(
            select(func.count()).where(EscalationRow.rule == "statutory_deadline")
        ).scalar_one()
    assert rows == 1
    d.close()
    later = app.outbox_delivery(config, clean_db, clock=Clock(now=lambda: due + timedelta(hours=6)))
    later.run_once(limit=100)
    later.close()
    legal = [m for m in smtp_peer.received if m.rcpt_tos == ("legal@property.com",)]
    assert len(legal) == 1 and legal[0].message["Subject"].startswith("Escalation: ")
