"""Recurring problems end to end: the third leak under the same sink within 30 days shows
``recurring: 3`` on the ticket's JSON and in the assignee's mail at the SMTP peer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from propdesk import app
from propdesk.clock import Clock
from propdesk.mail.imap import FetchedMessage
from propdesk.store import ticket_views
from tests.integration.notify_support import NOW
from tests.integration.test_safety_e2e import safety_config
from tests.stack import SmtpPeer

pytestmark = pytest.mark.integration


def leak(engine: Engine, peer: SmtpPeer, uid: int, days: int, unit: str = "3B") -> str:
    at = NOW + timedelta(days=days)
    raw = (
        f"From: Sam <sam@example.org>\r\nTo: tickets@property.com\r\nSubject: leak again\r\n"
        f"Message-ID: <leak-{uid}@example.org>\r\n\r\nThere is a leak under the kitchen sink "
        f"in unit {unit}.\r\n"
    ).encode()
    service = app.ingest_service(safety_config(peer), engine, clock=Clock(now=lambda: at))
    (ticket_id,) = service.process("INBOX", 1, FetchedMessage(uid, len(raw), at, raw)).ticket_ids
    return ticket_id


def test_third_leak_in_30_days_is_recurring_3(clean_db: Engine, smtp_peer: SmtpPeer) -> None:
    first = leak(clean_db, smtp_peer, 1, 0)
    second = leak(clean_db, smtp_peer, 2, 12)
    other_unit = leak(clean_db, smtp_peer, 3, 20, unit="4C")
    third = leak(clean_db, smtp_peer, 4, 25)
    much_later = leak(clean_db, smtp_peer, 5, 90)  # nothing within 30 days before it

    def shown(ticket_id: str) -> dict[str, object]:
        detail = ticket_views.detail(clean_db, ticket_id)
        assert detail is not None
        return detail.ticket

    assert shown(first)["recurring"] == 0
    assert shown(second)["recurring"] == 2
    assert shown(other_unit)["recurring"] == 0
    third_json = shown(third)
    assert third_json["recurring"] == 3
    assert third_json["metadata"]["recurs_after"] == second  # type: ignore[index]
    assert shown(much_later)["recurring"] == 0

    d = app.outbox_delivery(
        safety_config(smtp_peer), clean_db, clock=Clock(now=lambda: NOW + timedelta(days=91))
    )
    d.run_once(limit=1000)
    d.close()
    mail = next(
        m
        for m in smtp_peer.received
        if m.message["Subject"].startswith("New Ticket") and third in m.message["Subject"]
    )
    text = str(mail.message.get_body(("plain",)).get_content())
    assert f"Recurring:   3 reports of this for this unit (previous: {second})" in text
    first_mail = next(
        m
        for m in smtp_peer.received
        if m.message["Subject"].startswith("New Ticket") and first in m.message["Subject"]
    )
    assert "Recurring" not in str(first_mail.message.get_body(("plain",)).get_content())
