"""One clock for the whole daemon: the clock given to ``app.daemon`` is the one every service it
builds reads (ticket times, outbox rows, comment events), so a test owns the hour of day."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from propdesk import app
from propdesk.clock import Clock
from propdesk.config import Config, DatabaseConfig, MailboxConfig
from propdesk.store.tables import TicketEventRow, TicketRow
from propdesk.store.tables_outbox import OutboxRow
from tests.integration.ingest_support import analyser, tenant_mail
from tests.stack import Dovecot, ImapUser

NIGHT = datetime(2026, 3, 4, 2, 50, tzinfo=UTC)
LATER = datetime(2026, 3, 4, 3, 10, tzinfo=UTC)


def _pass(config: Config, at: datetime) -> dict[str, int]:
    daemon = app.daemon(config, analyse=analyser(config), clock=Clock(now=lambda: at))
    try:
        report = daemon.loop.run_once()
    finally:
        daemon.close()
    counts: dict[str, int] = {}
    for p in report.passes:
        assert p.status == "ok", p.error
        counts.update(p.counts)
    return counts


def test_the_daemon_clock_reaches_ingest_and_its_hooks(
    clean_db: Engine,
    db_config: DatabaseConfig,
    mailbox_config: MailboxConfig,
    dovecot: Dovecot,
    imap_user: ImapUser,
) -> None:
    config = Config(database=db_config, mailboxes=[mailbox_config])
    dovecot.append(imap_user, tenant_mail(1))
    assert _pass(config, NIGHT) == {"ticketed": 1}
    with Session(clean_db) as s:
        ticket = s.scalars(select(TicketRow)).one()
        assert ticket.created_at == NIGHT
        queued = s.scalars(select(OutboxRow.created_at)).all()
        assert queued and set(queued) == {NIGHT}

    dovecot.append(imap_user, tenant_mail(1, subject=f"Re: [{ticket.ticket_id}] tap"))
    assert _pass(config, LATER) == {"comment": 1}
    with Session(clean_db) as s:
        comment = s.scalars(select(TicketEventRow).where(TicketEventRow.kind == "comment")).one()
        assert comment.at == LATER
        assert s.scalars(select(TicketRow.updated_at)).one() == LATER
