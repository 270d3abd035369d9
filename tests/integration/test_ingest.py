"""Ingest end to end on real Dovecot + PostgreSQL: tickets, moves, replies, quarantine, skip."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from propdesk import app
from propdesk.config import Config, DatabaseConfig, MailboxConfig
from propdesk.core.message import InboundMessage
from propdesk.daemon.metrics import Metrics
from propdesk.ingest import Analysis, IngestHook
from propdesk.mail.imap import FetchedMessage
from propdesk.store import repository as repo
from propdesk.store.tables import InboundMessageRow, TicketEventRow, TicketRow
from tests.integration.ingest_support import (
    FolderCounts,
    analyser,
    outcomes,
    run_passes,
    tenant_mail,
    ticket_count,
    tickets_per_message_id,
)
from tests.stack import Dovecot, ImapUser


def _config(db: DatabaseConfig, mailbox: MailboxConfig) -> Config:
    return Config(database=db, mailboxes=[mailbox])


def run_once(config: Config, hooks: Sequence[IngestHook] = ()) -> dict[str, int]:
    """One pass over every mailbox (in-process), returning the summed counts."""
    return run_passes(config, hooks, analyse=analyser(config))


@pytest.fixture
def cfg(clean_db: Engine, db_config: DatabaseConfig, mailbox_config: MailboxConfig) -> Config:
    return _config(db_config, mailbox_config)


@pytest.fixture
def folders(dovecot: Dovecot, imap_user: ImapUser) -> dict[str, int]:
    """Message counts per folder, read fresh each time it is indexed."""
    return FolderCounts(dovecot, imap_user)


def test_tenant_mail_becomes_tickets_and_moves_once(
    cfg: Config, clean_db: Engine, dovecot: Dovecot, imap_user: ImapUser, folders: dict[str, int]
) -> None:
    mails = [tenant_mail(n) for n in range(1, 6)]
    dovecot.multiappend(imap_user, mails)

    counts = run_once(cfg)

    assert counts == {"ticketed": 5}
    assert ticket_count(clean_db) == 5
    assert folders["INBOX"] == 0
    assert folders["Processed"] == 5
    processed = dovecot.messages(imap_user, "Processed")
    assert all("\\Seen" not in m.flags for m in processed)  # read with BODY.PEEK[]
    with Session(clean_db) as s:
        t = s.scalars(select(TicketRow)).first()
        assert t is not None
        assert t.status == "New"
        assert t.response_due_at is not None and t.resolution_due_at is not None
        msg = s.scalars(select(InboundMessageRow)).first()
        assert msg is not None and msg.raw is None  # raw bytes only kept for quarantine
        kinds = {e.kind for e in s.scalars(select(TicketEventRow))}
        assert kinds == {"created"}

    assert run_once(cfg) == {}
    assert ticket_count(clean_db) == 5


def test_received_at_is_internaldate_not_date_header(
    cfg: Config, clean_db: Engine, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    internal = datetime(2026, 11, 20, 22, 15, tzinfo=UTC)
    raw = tenant_mail(1, date=datetime(2020, 1, 1, 9, 0, tzinfo=UTC))
    dovecot.append(imap_user, raw, msg_time=internal)
    run_once(cfg)
    with Session(clean_db) as s:
        t = s.scalars(select(TicketRow)).one()
        assert t.received_at == internal
        m = s.scalars(select(InboundMessageRow)).one()
        assert m.received_at == internal


def test_replies_become_comments_not_tickets(
    cfg: Config, clean_db: Engine, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    dovecot.append(imap_user, tenant_mail(1))
    run_once(cfg)
    with Session(clean_db) as s:
        tid = s.scalars(select(TicketRow.ticket_id)).one()

    by_subject = tenant_mail(1, "Still dripping, any news?", subject=f"Re: Received [{tid}]")
    by_header = tenant_mail(
        2,
        "Thanks, the plumber can come in.",
        subject="Re: your request",
        sender="Tenant 1 <tenant1@example.org>",  # the requester: strangers get no comment
        extra_headers={"In-Reply-To": f"<propdesk.{tid}.created.1a2b@property.com>"},
    )
    unknown = tenant_mail(3, "New leak under the sink.", subject="Re: [TKT-00000000]")
    dovecot.multiappend(imap_user, [by_subject, by_header, unknown])

    counts = run_once(cfg)

    assert counts == {"comment": 2, "ticketed": 1}
    with Session(clean_db) as s:
        ticket = repo.find_ticket(s, tid)
        assert ticket is not None
        events = repo.events_of_ticket(s, ticket)
        assert [e.kind for e in events] == ["created", "comment", "comment"]
        assert "Still dripping" in events[1].data["text"]
        assert len(repo.messages_of_ticket(s, ticket)) == 3


def test_staff_mail_and_auto_replies_are_ignored(
    cfg: Config, clean_db: Engine, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    staff = tenant_mail(1, "Fixed the tap in 3B.", sender="Plumber <plumber@property.com>")
    auto = tenant_mail(
        2, "I am out of office until Monday.", extra_headers={"Auto-Submitted": "auto-replied"}
    )
    dovecot.multiappend(imap_user, [staff, auto])

    assert run_once(cfg) == {"ignored": 2}
    assert ticket_count(clean_db) == 0
    with Session(clean_db) as s:
        reasons = sorted(str(r) for r in s.scalars(select(InboundMessageRow.reason)))
    assert reasons[0].startswith("auto_reply")
    assert reasons[1].startswith("staff_address")


def test_old_mail_on_first_start_is_skipped(
    clean_db: Engine,
    db_config: DatabaseConfig,
    dovecot: Dovecot,
    imap_user: ImapUser,
) -> None:
    now = datetime.now(UTC)
    dovecot.append(imap_user, tenant_mail(1), msg_time=now - timedelta(days=400))
    dovecot.append(imap_user, tenant_mail(2), msg_time=now - timedelta(days=20))
    dovecot.append(imap_user, tenant_mail(3), msg_time=now - timedelta(hours=1))
    since = date.today() - timedelta(days=365)
    mb = dovecot.mailbox_config(imap_user, since=since, max_age_days=30)
    cfg = _config(db_config, mb)

    assert run_once(cfg) == {"skipped": 1, "ticketed": 2}

    mb = dovecot.mailbox_config(imap_user, max_age_days=7)
    dovecot.append(imap_user, tenant_mail(4), msg_time=now - timedelta(days=10))
    # The cutoff was fixed at the first start (30 days), so 10-day-old mail now is ticketed.
    assert run_once(_config(db_config, mb)) == {"ticketed": 1}
    assert ticket_count(clean_db) == 3


class _PoisonHook(IngestHook):
    """Raises for one subject: a stand-in for any bug that hits one message."""

    def tickets_created(
        self,
        session: Session,
        message: InboundMessageRow,
        parsed: InboundMessage,
        tickets: Sequence[TicketRow],
    ) -> None:
        if "POISON" in parsed.subject:
            raise RuntimeError("poison pill")


def test_oversized_and_poison_are_quarantined_and_later_mail_flows(
    clean_db: Engine,
    db_config: DatabaseConfig,
    dovecot: Dovecot,
    imap_user: ImapUser,
    folders: dict[str, int],
) -> None:
    internal = datetime(2026, 11, 2, 3, 4, 5, tzinfo=UTC)
    big = tenant_mail(1, "x" * 50_000)
    poison = tenant_mail(2, subject="POISON leaking tap")
    nul = tenant_mail(3, "Leak\x00 under the sink").replace(b"Leak", b"Leak\x00")
    dovecot.append(imap_user, big)
    dovecot.append(imap_user, poison, msg_time=internal)
    dovecot.append(imap_user, nul)
    dovecot.append(imap_user, tenant_mail(4))
    mb = dovecot.mailbox_config(imap_user, max_message_bytes=20_000)
    cfg = _config(db_config, mb)

    counts = run_once(cfg, hooks=[_PoisonHook()])

    assert counts == {"quarantined": 2, "ticketed": 2}
    assert folders["Failed"] == 2
    assert folders["Processed"] == 2
    assert folders["INBOX"] == 0
    with Session(clean_db) as s:
        q = {
            r.reason: r
            for r in s.scalars(
                select(InboundMessageRow).where(InboundMessageRow.outcome == "quarantined")
            )
        }
        assert any(k and k.startswith("oversized") for k in q)
        bad = q["processing_error"]
        assert bad.error is not None and "poison pill" in bad.error
        assert bad.raw is not None
        bad_id = bad.id
    assert ticket_count(clean_db) == 2  # the poison's ticket rolled back with it

    # After the "fix" (no poison hook), reprocess tickets it with the original receive time.
    service = app.ingest_service(cfg, clean_db, analyse=analyser(cfg))
    results = service.reprocess(bad_id)
    assert [r.outcome for r in results] == ["ticketed"]
    with Session(clean_db) as s:
        row = s.get(InboundMessageRow, bad_id)
        assert row is not None and row.outcome == "ticketed" and row.raw is None
        t = repo.find_ticket(s, results[0].ticket_ids[0])
        assert t is not None and t.received_at == internal
    left = service.reprocess()  # only the oversized one stays: its bytes were never read
    assert [(r.outcome, "never read" in (r.reason or "")) for r in left] == [("quarantined", True)]


def test_same_message_id_in_two_mailboxes_is_one_ticket(
    clean_db: Engine, db_config: DatabaseConfig, dovecot: Dovecot
) -> None:
    a, b = dovecot.add_user(), dovecot.add_user()
    raw = tenant_mail(1)
    dovecot.append(a, raw)
    dovecot.append(b, raw.replace(b"To: maintenance@", b"To: repairs@"))
    cfg = Config(
        database=db_config,
        mailboxes=[dovecot.mailbox_config(a, "first"), dovecot.mailbox_config(b, "second")],
    )
    assert run_once(cfg) == {"ticketed": 1, "duplicate": 1}
    assert tickets_per_message_id(clean_db) == {next(iter(tickets_per_message_id(clean_db))): 1}


def test_attachments_stored_once_and_not_loaded_by_listings(
    cfg: Config, clean_db: Engine, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    photo = b"\xff\xd8\xff" + b"photo" * 1000
    dovecot.append(imap_user, tenant_mail(1, attachment=("leak.jpg", photo)))
    dovecot.append(imap_user, tenant_mail(2, attachment=("same.jpg", photo)))
    assert run_once(cfg) == {"ticketed": 2}
    with Session(clean_db) as s:
        tickets = repo.list_tickets(s)
        infos = repo.attachments_of_ticket(s, tickets[0])
        assert [(i.filename, i.size, i.stored) for i in infos] == [("leak.jpg", len(photo), True)]
        assert repo.attachment_bytes(s, infos[0].sha256) == photo
        blobs = s.execute(select(repo.AttachmentBlobRow.sha256)).all()
        assert len(blobs) == 1


def test_locked_mailbox_is_skipped(
    cfg: Config, clean_db: Engine, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    dovecot.append(imap_user, tenant_mail(1))
    lock_engine = app.engine(cfg, pooled=False)
    try:
        with repo.mailbox_lock(lock_engine, cfg.mailboxes[0].name) as held:
            assert held
            assert run_once(cfg) == {}
            assert ticket_count(clean_db) == 0
        assert run_once(cfg) == {"ticketed": 1}
    finally:
        lock_engine.dispose()


def test_pass_metrics(cfg: Config, clean_db: Engine, dovecot: Dovecot, imap_user: ImapUser) -> None:
    dovecot.multiappend(imap_user, [tenant_mail(1), tenant_mail(2)])
    metrics = Metrics()
    daemon = app.daemon(cfg, analyse=analyser(cfg), metrics=metrics)
    try:
        daemon.loop.run_once()
    finally:
        daemon.close()
    value = metrics.registry.get_sample_value
    assert value("propdesk_messages_total", {"mailbox": "main", "outcome": "ticketed"}) == 2
    assert value("propdesk_mailbox_up", {"mailbox": "main"}) == 1
    assert (value("propdesk_last_successful_poll_timestamp_seconds", {"mailbox": "main"}) or 0) > 0


def test_ticket_id_clash_retries_with_a_fresh_id(
    cfg: Config, clean_db: Engine, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    real = analyser(cfg)

    def same_id(msg: InboundMessage, received_at: datetime, now: datetime) -> Analysis:
        result = real(msg, received_at, now)
        return Analysis(tuple(replace(t, ticket_id="TKT-0000C1A5") for t in result.tickets))

    dovecot.multiappend(imap_user, [tenant_mail(1), tenant_mail(2)])
    daemon = app.daemon(cfg, analyse=same_id)
    try:
        report = daemon.loop.run_once()
    finally:
        daemon.close()
    assert report.passes[0].counts == {"ticketed": 2}
    with Session(clean_db) as s:
        ids = sorted(s.scalars(select(TicketRow.ticket_id)))
    assert len(ids) == 2 and "TKT-0000C1A5" in ids
    assert all(re.fullmatch(r"TKT-[0-9A-F]{8}", i) for i in ids)


def test_unique_key_conflict_means_already_done(cfg: Config, clean_db: Engine) -> None:
    service = app.ingest_service(cfg, clean_db, analyse=analyser(cfg))
    msg = FetchedMessage(uid=7, size=100, received_at=datetime.now(UTC), raw=tenant_mail(7))
    first = service.process("main", 42, msg)
    again = service.process("main", 42, msg)  # e.g. a replay after a crash before the move
    assert first.outcome == "ticketed" and not first.already
    assert again.already and again.outcome == "ticketed"
    assert outcomes(clean_db) == {"ticketed": 1}
    assert ticket_count(clean_db) == len(first.ticket_ids)


def test_missing_target_folders_are_created(
    clean_db: Engine, db_config: DatabaseConfig, dovecot: Dovecot, imap_user: ImapUser
) -> None:
    mb = dovecot.mailbox_config(
        imap_user, processed_folder="Tickets/Done", failed_folder="Tickets/Quarantine"
    )
    dovecot.append(imap_user, tenant_mail(1))
    assert run_once(_config(db_config, mb)) == {"ticketed": 1}
    assert {"Tickets/Done", "Tickets/Quarantine"} <= set(dovecot.folders(imap_user))
    assert len(dovecot.messages(imap_user, "Tickets/Done")) == 1
