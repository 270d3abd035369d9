"""The whole way, in the daemon: a tenant email in the IMAP inbox -> the real parser and
classification pipeline -> tickets + outbox rows -> the delivery task -> mail at the SMTP peer.
One daemon turn polls first, then runs the periodic tasks, so the mail goes out in that turn."""

from __future__ import annotations

import time
from email.message import EmailMessage

from sqlalchemy import Engine, select

from propdesk import app
from propdesk.config import (
    BusinessHoursConfig,
    Config,
    DatabaseConfig,
    MailboxConfig,
    NotificationsConfig,
)
from propdesk.store.tables import InboundMessageRow, TicketRow
from tests.stack import Dovecot, ImapUser, SmtpPeer

ALWAYS_OPEN = BusinessHoursConfig(
    hours=dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "00:00-24:00")
)


def two_problem_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Maria Lopez <maria.lopez@example.org>"
    msg["To"] = "maintenance@property.com"
    msg["Subject"] = "Unit 4C: kitchen sink clogged and bedroom heater dead"
    msg["Message-ID"] = "<daemon-two-problems@example.org>"
    msg.set_content(
        "Hello,\n\nThe kitchen sink in Unit 4C is clogged and will not drain.\n\n"
        "Also, the heater in the bedroom does not turn on at all, the room is cold.\n\n"
        "Thanks,\nMaria\n"
    )
    return bytes(msg)


def test_daemon_turn_mails_assignees_and_acknowledges_once(
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
        # Open all day, every day: the mail's receive time is the wall clock's, and after hours
        # the emergency coordinator would be mailed too (this test must pass at any hour).
        business_hours=ALWAYS_OPEN,
    )
    dovecot.append(imap_user, two_problem_mail())
    daemon = app.daemon(config)
    quits_before = smtp_peer.quits
    try:
        report = daemon.loop.run_once()
    finally:
        daemon.close()
    assert report.ok, report
    assert smtp_peer.quits == quits_before + 1  # shutdown said QUIT on the kept connection
    with clean_db.connect() as conn:
        tickets = conn.execute(select(TicketRow.ticket_id, TicketRow.assigned_to)).all()
    assert len(tickets) >= 1
    got = smtp_peer.wait_for(len(tickets) + 1)
    to_tenant = [m for m in got if m.rcpt_tos == ("maria.lopez@example.org",)]
    assert len(to_tenant) == 1  # one acknowledgement for the whole email
    ack = to_tenant[0].message
    assert ack["In-Reply-To"] == "<daemon-two-problems@example.org>"
    assert ack["Subject"].startswith("Service Request Received: ")
    for tid, _ in tickets:
        assert f"[{tid}]" in ack["Subject"]
    staff = sorted((m.rcpt_tos[0], m.message["Subject"]) for m in got if m not in to_tenant)
    assert [r for r, _ in staff] == sorted(a for _, a in tickets)
    assert all(s.startswith("New Ticket Assigned: [TKT-") for _, s in staff)
    assert all(m.mail_from == config.smtp.from_address for m in got)


def test_smtp_outage_does_not_stop_ingestion_and_mail_follows(
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
        smtp=smtp_peer.smtp_config(),
        notifications=NotificationsConfig(retry_base_seconds=0.2, retry_max_seconds=0.2),
    )
    smtp_peer.stop()
    dovecot.append(imap_user, two_problem_mail())
    daemon = app.daemon(config)
    try:
        first = daemon.loop.run_once()  # ingests; delivery fails fast and is rescheduled
        assert first.ok, first
        with clean_db.connect() as conn:
            assert conn.execute(select(TicketRow.ticket_id)).all()
        smtp_peer.start()
        time.sleep(0.3)
        daemon.loop.run_once()
    finally:
        daemon.close()
    got = smtp_peer.wait_for(2)
    ids = [m.message["Message-ID"] for m in got]
    assert len(ids) == len(set(ids))
    assert sum(m.rcpt_tos == ("maria.lopez@example.org",) for m in got) == 1


def test_replies_and_auto_replies_to_our_mail_start_no_loop(
    clean_db: Engine,
    db_config: DatabaseConfig,
    mailbox_config: MailboxConfig,
    dovecot: Dovecot,
    imap_user: ImapUser,
    smtp_peer: SmtpPeer,
) -> None:
    config = Config(database=db_config, mailboxes=[mailbox_config], smtp=smtp_peer.smtp_config())
    dovecot.append(imap_user, two_problem_mail())
    daemon = app.daemon(config)
    try:
        daemon.loop.run_once()
        ack = next(m for m in smtp_peer.wait_for(2) if m.rcpt_tos == ("maria.lopez@example.org",))
        before = len(smtp_peer.received)
        ours = ack.message["Message-ID"]
        reply = EmailMessage()
        reply["From"] = "Maria Lopez <maria.lopez@example.org>"
        reply["To"] = "maintenance@property.com"
        reply["Subject"] = f"Re: {ack.message['Subject']}"
        reply["Message-ID"] = "<maria-reply-1@example.org>"
        reply["In-Reply-To"] = ours
        reply["References"] = ours
        reply.set_content("Thanks! The plumber can come in any time tomorrow.\n")
        vacation = EmailMessage()
        vacation["From"] = "Maria Lopez <maria.lopez@example.org>"
        vacation["To"] = "maintenance@property.com"
        vacation["Subject"] = f"Out of office: {ack.message['Subject']}"
        vacation["Message-ID"] = "<maria-ooo-1@example.org>"
        vacation["Auto-Submitted"] = "auto-replied"
        vacation["In-Reply-To"] = ours
        vacation.set_content("I am away until Monday.\n")
        dovecot.append(imap_user, bytes(reply))
        dovecot.append(imap_user, bytes(vacation))
        daemon.loop.run_once()
        daemon.loop.run_once()
    finally:
        daemon.close()
    assert len(smtp_peer.received) == before  # a comment and an ignored auto-reply: no mail
    with clean_db.connect() as conn:
        outcomes = dict(
            conn.execute(select(InboundMessageRow.message_id, InboundMessageRow.outcome)).all()
        )
    assert outcomes["<maria-reply-1@example.org>"] == "comment"
    assert outcomes["<maria-ooo-1@example.org>"] == "ignored"
