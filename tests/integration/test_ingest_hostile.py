"""Hostile and odd mail on the real stack: forwarded requests, header values of any length,
bytes that are not mail, senders without an address, unsafe attachment names.

Each shape is built here with our own sizes; outcomes are read from PostgreSQL and Dovecot.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from propdesk import app
from propdesk.config import Config, DatabaseConfig, MailboxConfig
from propdesk.core.pipeline import analyse_message
from propdesk.mail.parse import parse_message
from propdesk.store import repository as repo
from propdesk.store.tables import AttachmentRow, InboundMessageRow, TicketEventRow, TicketRow
from propdesk.store.tables_outbox import OutboxRow
from tests.integration.ingest_support import (
    FolderCounts,
    analyser,
    run_passes,
    tenant_mail,
    ticket_count,
)
from tests.stack import Dovecot, ImapUser

STAFF = "plumber@property.com"  # an assignee of the default rules: staff


def run_once(config: Config) -> dict[str, int]:
    """One pass with the real pipeline as the daemon wires it (staff forwards included)."""
    return run_passes(config)


@pytest.fixture
def cfg(clean_db: Engine, db_config: DatabaseConfig, mailbox_config: MailboxConfig) -> Config:
    return Config(database=db_config, mailboxes=[mailbox_config])


@pytest.fixture
def folders(dovecot: Dovecot, imap_user: ImapUser) -> dict[str, int]:
    return FolderCounts(dovecot, imap_user)


def _rows(engine: Engine) -> list[InboundMessageRow]:
    with Session(engine) as s:
        rows = list(s.scalars(select(InboundMessageRow).order_by(InboundMessageRow.id)))
        for r in rows:
            _ = r.raw  # load the deferred column before the session closes
        return rows


def _tickets(engine: Engine) -> list[TicketRow]:
    with Session(engine) as s:
        return list(s.scalars(select(TicketRow).order_by(TicketRow.id)))


def _mail(
    sender: str,
    subject: str,
    body: str,
    *,
    message_id: str | None = None,
    attach: Sequence[EmailMessage] = (),
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "maintenance@property.com"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or f"<hostile-{secrets.token_hex(6)}@example.org>"
    msg.set_content(body)
    for original in attach:
        msg.add_attachment(original, filename="original.eml")  # message/rfc822, 7bit
    return msg


TENANT_REQUEST = (
    "Hello,\n\nThe radiator in my bedroom is cold and the boiler shows error E119.\n\n"
    "Thanks,\nMaria Lopez\nUnit 7C\n"
)


# -- forwarded requests ---------------------------------------------------------------------------


def _attached_forward(forwarder: str, *, depth: int = 1, note: str = "") -> bytes:
    """``forwarder`` forwards (as an attachment) a tenant's request, ``depth`` levels deep."""
    inner = _mail("Maria Lopez <maria@tenant.example>", "Cold radiator", TENANT_REQUEST)
    for level in range(depth - 1):
        inner = _mail(f"Relay {level} <relay{level}@example.net>", "Fwd: x", "", attach=[inner])
    return bytes(_mail(forwarder, "Fwd: Cold radiator", note, attach=[inner]))


def _inline_forward(forwarder: str, marker: str) -> bytes:
    head = {
        "gmail": "---------- Forwarded message ---------",
        "apple": "Begin forwarded message:",
        "outlook": "-----Original Message-----",
    }[marker]
    body = (
        f"{head}\nFrom: Maria Lopez <maria@tenant.example>\nDate: Mon, 30 Nov 2026 08:12\n"
        f"Subject: Cold radiator\nTo: maintenance@property.com\n\n{TENANT_REQUEST}"
    )
    return bytes(_mail(forwarder, "Fwd: Cold radiator", body))


def test_forwarded_requests_become_tickets_for_the_right_requester(
    cfg: Config, clean_db: Engine, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    mails = {
        "attached by a tenant": _attached_forward("Sam Neighbour <sam@tenant.example>"),
        "attached with a note": _attached_forward("Sam <sam2@tenant.example>", note="FYI"),
        "attached by staff": _attached_forward(f"Plumber <{STAFF}>"),
        "nested twice by a tenant": _attached_forward("Kim <kim@tenant.example>", depth=2),
        "gmail inline by staff": _inline_forward(f"Plumber <{STAFF}>", "gmail"),
        "apple inline by a tenant": _inline_forward("Lee <lee@tenant.example>", "apple"),
        "outlook inline by staff": _inline_forward(f"Plumber <{STAFF}>", "outlook"),
    }
    dovecot.multiappend(imap_user, list(mails.values()))

    assert run_once(cfg) == {"ticketed": len(mails)}
    requesters = sorted(t.requested_for for t in _tickets(clean_db))
    assert requesters == sorted(
        [
            "sam@tenant.example",
            "sam2@tenant.example",
            "maria@tenant.example",  # staff forwarded: the original tenant asked
            "kim@tenant.example",
            "maria@tenant.example",
            "lee@tenant.example",
            "maria@tenant.example",
        ]
    )
    for t in _tickets(clean_db):
        assert t.subcategory == "hvac", (t.requested_for, t.short_description)
        assert "radiator" in t.description.lower()
    # The tenant is told, greeted by the name in the forwarded original (not the staff's).
    with Session(clean_db) as s:
        acks = s.scalars(select(OutboxRow).where(OutboxRow.kind == "ticket_created_tenant"))
        to_maria = [a for a in acks if a.recipient == "maria@tenant.example"]
    assert len(to_maria) == 3
    assert {a.context["tenant_name"] for a in to_maria} == {"Maria Lopez"}


def test_forwards_nested_deeper_than_the_limit_are_quarantined(
    cfg: Config, clean_db: Engine, dovecot: Dovecot, imap_user: ImapUser, folders: dict[str, int]
) -> None:
    dovecot.append(imap_user, _attached_forward("Kim <kim@tenant.example>", depth=5))
    dovecot.append(imap_user, _attached_forward("Kim <kim@tenant.example>", depth=3))

    assert run_once(cfg) == {"quarantined": 1, "ticketed": 1}
    (deep,) = [r for r in _rows(clean_db) if r.outcome == "quarantined"]
    assert deep.reason == "forward_too_deep"
    assert deep.error is not None and "3 forwards" in deep.error
    assert deep.raw is not None
    assert folders["Failed"] == 1


def test_classify_reads_the_forward_the_same_way() -> None:
    """``propdesk classify``'s pipeline (analyse_message) sees the forwarded request too."""
    config = Config()
    msg = parse_message(_attached_forward(f"Plumber <{STAFF}>"))
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    result = analyse_message(
        msg,
        rules=app.rules(config),
        business_hours=app.business_hours(config),
        received_at=now,
        now=now,
        new_id=secrets.token_bytes,
    )
    assert [t.requested_for for t in result.tickets] == ["maria@tenant.example"]
    assert result.location is not None and result.location.unit_number == "Unit 7C"


# -- header values of any length ------------------------------------------------------------------

LONG = 10_000


def _long_id(n: int) -> str:
    return f"<{'m' * LONG}{n}@example.org>"


def _long_headers(
    n: int, *, in_reply_to: str | None = None, subject: str | None = None, sender: int | None = None
) -> bytes:
    """Every header we store at 10k characters: Message-ID, In-Reply-To, References, subject,
    display names and the attachment's file name. ``sender``: whose mail (default ``n``'s)."""
    long_id = _long_id(n)
    msg = EmailMessage()
    msg["From"] = f"{'Tenant ' * (LONG // 7)} <tenant{n if sender is None else sender}@example.org>"
    msg["To"] = f"{'Desk ' * (LONG // 5)} <maintenance@property.com>"
    msg["Subject"] = subject or ("Leaking tap in unit 4B " + "x" * LONG)
    msg["Message-ID"] = long_id
    msg["In-Reply-To"] = in_reply_to or f"<{'r' * LONG}@example.org>"
    msg["References"] = " ".join(f"<{c * LONG}@example.org>" for c in "abc")
    msg.set_content("Hello,\n\nThe kitchen tap is leaking under the sink.\n\nTenant, Unit 4B\n")
    msg.add_attachment(b"\xff\xd8\xff" + b"j" * 100, maintype="image", subtype="jpeg",
                       filename="p" * LONG + ".jpg")  # fmt: skip
    return msg.as_bytes()


def test_every_header_at_10k_is_ticketed_and_replies_still_thread(
    cfg: Config, clean_db: Engine, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    first = _long_headers(1)
    dovecot.append(imap_user, first)
    assert run_once(cfg) == {"ticketed": 1}
    (row,) = _rows(clean_db)
    assert row.message_id is not None and row.message_id.startswith("<sha256.")
    assert len(row.message_id) < 100 and len(row.in_reply_to or "") < 100
    assert row.subject is not None and len(row.subject) <= 1000
    (ticket,) = _tickets(clean_db)
    with Session(clean_db) as s:
        (att,) = s.scalars(select(AttachmentRow))
        assert len(att.filename) <= 120 and att.filename.endswith(".jpg")

    # The same long Message-ID again (other bytes): the same hashed id, so a duplicate.
    again = first.replace(b"The kitchen tap", b"Again: the kitchen tap")
    # The requester's replies (conversations check the sender), every header at 10k characters:
    # one naming our acknowledgement, one whose only link is the tag in a 10k subject, and one
    # whose only link is the requester's own 10k Message-ID (hashed on both sides, so it matches).
    ours = f"<propdesk.{ticket.ticket_id}.created.1a2b@property.com>"
    reply = _long_headers(
        2, in_reply_to=ours, subject=f"Re: [{ticket.ticket_id}] " + "y" * LONG, sender=1
    )
    by_subject = _long_headers(
        3, subject=f"Re: Received [{ticket.ticket_id}] " + "z" * LONG, sender=1
    )
    by_long_id = _long_headers(5, in_reply_to=_long_id(1), subject="Re: the tap", sender=1)
    dovecot.multiappend(imap_user, [again, reply, by_subject, by_long_id])

    assert run_once(cfg) == {"duplicate": 1, "comment": 3}
    with Session(clean_db) as s:
        events = list(s.scalars(select(TicketEventRow).order_by(TicketEventRow.id)))
        assert [e.kind for e in events] == ["created", "comment", "comment", "comment"]
    assert ticket_count(clean_db) == 1


def test_reprocess_handles_a_long_header_message_quarantined_earlier(
    cfg: Config, clean_db: Engine
) -> None:
    """A message an earlier version quarantined (its bytes kept) is ticketed by reprocess."""
    raw = _long_headers(4)
    with Session(clean_db) as s, s.begin():
        row = InboundMessageRow(
            mailbox="main",
            uidvalidity=1,
            uid=1,
            size=len(raw),
            received_at=datetime(2026, 12, 1, 9, tzinfo=UTC),
            outcome="quarantined",
            reason="processing_error",
            error="DataError: index row size exceeds btree maximum",
            raw=raw,
        )
        s.add(row)
        s.flush()
        pk = row.id
    service = app.ingest_service(cfg, clean_db, analyse=analyser(cfg))
    assert [r.outcome for r in service.reprocess(pk)] == ["ticketed"]
    assert ticket_count(clean_db) == 1


# -- quarantine, never drop -----------------------------------------------------------------------

NOT_MAIL = {
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 20,
    "binary": bytes(range(256)) * 8,
    "prose": b"just some words typed into a file\nwith no headers at all\n" * 10,
}


def test_bytes_that_are_not_mail_go_to_failed_with_their_bytes(
    cfg: Config, clean_db: Engine, dovecot: Dovecot, imap_user: ImapUser, folders: dict[str, int]
) -> None:
    for raw in NOT_MAIL.values():
        dovecot.append(imap_user, raw)
    dovecot.append(imap_user, tenant_mail(1))

    assert run_once(cfg) == {"quarantined": 3, "ticketed": 1}
    assert folders["Failed"] == 3 and folders["Processed"] == 1 and folders["INBOX"] == 0
    bad = [r for r in _rows(clean_db) if r.outcome == "quarantined"]
    assert {r.reason for r in bad} == {"not_rfc822"}
    # The bytes kept are those IMAP served (Dovecot stores CRLF and replaces NUL bytes).
    kept = sorted(r.raw for r in bad if r.raw is not None)
    assert kept == sorted(m.raw for m in dovecot.messages(imap_user, "Failed"))
    assert NOT_MAIL["prose"] in {k.replace(b"\r\n", b"\n") for k in kept}


SENDERLESS = {
    "no From": b"To: maintenance@property.com\nSubject: Leak\n\nThe kitchen tap is leaking.\n",
    "empty From": b"From: \nSubject: Leak\n\nThe kitchen tap is leaking.\n",
    "name only": b"From: Maria Lopez\nSubject: Leak\n\nThe kitchen tap is leaking.\n",
    "group": b"From: undisclosed-recipients:;\nSubject: Leak\n\nThe kitchen tap is leaking.\n",
    "no at": b"From: Maria <maria.tenant.example>\nSubject: Leak\n\nThe kitchen tap leaks.\n",
    "300 chars": b"From: <" + b"a" * 300 + b"@example.org>\nSubject: Leak\n\nThe tap leaks.\n",
}


def test_a_sender_without_a_usable_address_is_quarantined_not_ticketed(
    cfg: Config, clean_db: Engine, dovecot: Dovecot, imap_user: ImapUser, folders: dict[str, int]
) -> None:
    for raw in SENDERLESS.values():
        dovecot.append(imap_user, raw)

    assert run_once(cfg) == {"quarantined": len(SENDERLESS)}
    assert ticket_count(clean_db) == 0
    rows = _rows(clean_db)
    assert {r.reason for r in rows} == {"no_sender_address"}
    assert all(r.raw is not None and r.sender is None for r in rows)
    assert folders["Failed"] == len(SENDERLESS)


# -- safe attachment names ------------------------------------------------------------------------

UNSAFE_NAMES = [
    "../../etc/passwd",
    "..\\..\\windows\\system32\\config",
    "CON.txt",
    "aux",
    "COM1.log",
    "LPT9.pdf",
    "a\\b",
    "bill\x01\x07\x1b.pdf",
    "/absolute/path.jpg",
    "....",
    "n" * 500 + ".png",
]


def test_attachment_names_are_stored_safe_and_shown_as_sent(
    cfg: Config, clean_db: Engine, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    msg = EmailMessage()
    msg["From"] = "Tenant <t@tenant.example>"
    msg["To"] = "maintenance@property.com"
    msg["Subject"] = "Leaking tap in 3B, photos attached"
    msg["Message-ID"] = "<names-1@tenant.example>"
    msg.set_content("The kitchen tap is leaking under the sink.\n\nUnit 3B\n")
    for name in UNSAFE_NAMES:
        msg.add_attachment(b"data", maintype="application", subtype="octet-stream", filename=name)
    dovecot.append(imap_user, msg.as_bytes())

    assert run_once(cfg) == {"ticketed": 1}
    with Session(clean_db) as s:
        atts = list(s.scalars(select(AttachmentRow).order_by(AttachmentRow.position)))
    assert len(atts) == len(UNSAFE_NAMES)
    reserved = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10))}
    reserved |= {f"lpt{i}" for i in range(10)}
    for att in atts:
        name = att.filename
        assert "/" not in name and "\\" not in name and ".." not in name, name
        assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in name), name
        assert name.split(".")[0].lower() not in reserved, name
        assert 0 < len(name) <= 120
    shown = [a.display_name for a in atts]
    assert shown[0] == "../../etc/passwd" and shown[2] == "CON.txt"
    with Session(clean_db) as s:
        (ticket,) = s.scalars(select(TicketRow))
        listed = repo.attachments_of_ticket(s, ticket)
    assert [a.filename for a in listed] == [a.filename for a in atts]
    assert [a.display_name for a in listed] == shown
