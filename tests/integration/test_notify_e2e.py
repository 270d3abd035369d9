"""A tenant email ends as the right messages at the SMTP peer: parsed by the real parser, tickets
stored, hooks writing outbox rows in the same transaction, delivered over SMTP."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from propdesk import app
from propdesk.core.message import InboundMessage
from propdesk.core.models import Subcategory, Ticket
from propdesk.ingest import Analysis, Result
from propdesk.mail.imap import FetchedMessage
from propdesk.mail.parse import parse_message
from propdesk.store.tables_outbox import outbox
from tests.integration.notify_support import NOW, notify_config, ticket
from tests.stack import SmtpPeer

DATA = Path(__file__).resolve().parent.parent / "data"


def receive(engine: Engine, peer: SmtpPeer, raw: bytes, tickets: list[Ticket]) -> Result:
    """The ingest service takes one message; the classifier's verdict is given (``tickets``).

    Tickets, events and the notification hook's outbox rows commit in one transaction.
    """
    config = notify_config(peer)

    def analyse(msg: InboundMessage, received_at: datetime, now: datetime) -> Analysis:
        return Analysis(tuple(tickets))

    service = app.ingest_service(config, engine, analyse=analyse)
    uid = next(_uids)
    result = service.process("INBOX", 1, FetchedMessage(uid, len(raw), NOW, raw))
    assert result.outcome == "ticketed", result
    return result


_uids = itertools.count(1)


def deliver(engine: Engine, peer: SmtpPeer, **settings: object) -> None:
    d = app.outbox_delivery(notify_config(peer, **settings), engine)
    d.run_once(limit=10_000)
    d.close()


def parts(msg: EmailMessage) -> tuple[str, str]:
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


def test_two_problem_email_gives_two_assignee_mails_and_one_acknowledgement(
    clean_db: Engine, smtp_peer: SmtpPeer
) -> None:
    raw = (DATA / "notify_two_problems.eml").read_bytes()
    toilet = ticket(1, short_description="Maintenance request: Toilet running in Unit 3B")
    heater = ticket(
        2,
        short_description="Maintenance request: Heater not working in Unit 3B",
        subcategory=Subcategory.HVAC,
        assigned_to="hvac@property.com",
    )
    receive(clean_db, smtp_peer, raw, [toilet, heater])
    deliver(clean_db, smtp_peer)

    got = {(m.rcpt_tos, m.message["Subject"]) for m in smtp_peer.received}
    assert got == {
        (
            ("plumber@property.com",),
            "New Ticket Assigned: [TKT-00000001] Maintenance request: Toilet running in Unit 3B",
        ),
        (
            ("hvac@property.com",),
            "New Ticket Assigned: [TKT-00000002] Maintenance request: Heater not working in "
            "Unit 3B",
        ),
        (
            ("john.tenant@example.com",),
            "Service Request Received: [TKT-00000001] [TKT-00000002]",
        ),
    }
    for m in smtp_peer.received:
        msg = m.message
        assert m.mail_from == "maintenance@property.com"
        assert msg.get_content_type() == "multipart/alternative"
        assert msg["X-Auto-Response-Suppress"] == "All"
        assert msg["X-Propdesk-Loop"] == "maintenance@property.com"
        assert msg["Reply-To"] == "maintenance@property.com"
        assert msg["Message-ID"].startswith("<propdesk.TKT-0000000")
        assert msg["Message-ID"].endswith("@mail.property.com>")
    ack = next(m.message for m in smtp_peer.received if "Received" in m.message["Subject"])
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == "<two-problems-1@mail.example.com>"
    assert ack["References"] == "<earlier-0@mail.example.com> <two-problems-1@mail.example.com>"
    text, html = parts(ack)
    assert "Hello John Tenant" in text and "TKT-00000001" in html and "TKT-00000002" in html
    assert "within 2 hours" in text  # the SLA target for urgency 2
    staff = next(m.message for m in smtp_peer.received if m.rcpt_tos == ("hvac@property.com",))
    assert staff["Auto-Submitted"] == "auto-generated" and staff["In-Reply-To"] is None


def test_crlf_bcc_in_tenant_subject_adds_no_header_or_recipient(
    clean_db: Engine, smtp_peer: SmtpPeer
) -> None:
    raw = (DATA / "notify_subject_injection.eml").read_bytes()
    parsed = parse_message(raw)
    assert "\n" in parsed.subject or "Bcc" in parsed.subject  # the decoded subject is hostile
    evil = ticket(
        1,
        short_description=parsed.subject,
        requested_for="eve@example.com",
        description=parsed.new_text,
    )
    receive(clean_db, smtp_peer, raw, [evil])
    deliver(clean_db, smtp_peer)
    assert sorted(m.rcpt_tos for m in smtp_peer.received) == [
        ("eve@example.com",),
        ("plumber@property.com",),
    ]
    for m in smtp_peer.received:
        assert m.message["Bcc"] is None and m.message["X-Evil"] is None
        head = m.raw.split(b"\r\n\r\n", 1)[0]
        assert b"\r\nBcc:" not in head and b"\r\nX-Evil:" not in head
        assert all("victim" not in r for r in m.rcpt_tos)


def test_auto_responder_tenant_gets_at_most_the_cap_and_mailer_daemon_nothing(
    clean_db: Engine, smtp_peer: SmtpPeer
) -> None:
    raw = (DATA / "notify_two_problems.eml").read_bytes()

    def mail(n: int, sender: str) -> bytes:
        return raw.replace(b"<two-problems-1@", f"<bot-{n}@".encode()).replace(
            b"john.tenant@example.com", sender.encode()
        )

    for n in range(1, 13):  # an auto-responder that keeps writing back (without saying so)
        bot = "bot@tenant.example"
        receive(clean_db, smtp_peer, mail(n, bot), [ticket(n, requested_for=bot)])
    # The parser already ignores mail from mailer-daemon; delivery refuses it even when a ticket
    # somehow names it (here: a forwarded bounce text whose ticket points at the daemon).
    daemon = "MAILER-DAEMON@mx.tenant.example"
    fwd = mail(20, "fwd@tenant.example")
    receive(clean_db, smtp_peer, fwd, [ticket(20, requested_for=daemon)])
    deliver(clean_db, smtp_peer, tenant_cap_per_hour=5)
    to_bot = [m for m in smtp_peer.received if m.rcpt_tos == ("bot@tenant.example",)]
    assert len(to_bot) == 5
    assert not [m for m in smtp_peer.received if "mailer-daemon" in m.rcpt_tos[0].lower()]
    staff = [m for m in smtp_peer.received if m.rcpt_tos == ("plumber@property.com",)]
    assert len(staff) == 13  # staff mail is never dropped by the cap
    with clean_db.connect() as conn:
        reasons = conn.execute(
            select(outbox.c.last_error).where(outbox.c.status == "suppressed")
        ).scalars()
        reasons = list(reasons)
    assert len(reasons) == 8
    assert sum("flood cap" in r for r in reasons) == 7
    assert sum("automated address" in r for r in reasons) == 1


def test_a_bounce_naming_our_message_id_marks_it_bounced(
    clean_db: Engine, smtp_peer: SmtpPeer
) -> None:
    raw = (DATA / "notify_two_problems.eml").read_bytes()
    receive(clean_db, smtp_peer, raw, [ticket(1, requested_for="gone@tenant.example")])
    deliver(clean_db, smtp_peer)
    ack = next(m for m in smtp_peer.received if m.rcpt_tos == ("gone@tenant.example",))
    ours = ack.message["Message-ID"]
    bounce = (DATA / "bounce_dsn_with_rfc822.eml").read_bytes()
    bounce = bounce.replace(b"<ticket-42-notify@property.example>", ours.encode())
    parsed = parse_message(bounce, own_addresses=["maintenance@property.com"])
    assert parsed.bounced_message_id == ours
    hooks = app.notification_hooks(notify_config(smtp_peer))
    with Session(clean_db) as s, s.begin():
        hooks.message_recorded(s, None, parsed)
        hooks.message_recorded(s, None, replace(parsed, bounced_message_id="<x@y>"))
    with clean_db.connect() as conn:
        rows = conn.execute(select(outbox.c.message_id, outbox.c.status)).all()
    assert {(mid, st) for mid, st in rows if mid == ours} == {(ours, "bounced")}
    assert sorted(st for _, st in rows) == ["bounced", "sent"]
