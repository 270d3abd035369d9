"""Batched ingest (issue 16): one transaction per fetched batch, yet every message alone.

A message that raises inside a batch is quarantined alone (the batch is replayed one by one),
the same reply delivered twice in one batch has one effect, and the batch's results are exactly
those of one message at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from propdesk.config import Config, DatabaseConfig, MailboxConfig
from propdesk.core.message import InboundMessage
from propdesk.ingest import IngestHook
from propdesk.store.tables import InboundMessageRow, TicketEventRow, TicketRow
from tests.integration.ingest_support import (
    FolderCounts,
    analyser,
    outcomes,
    run_passes,
    tenant_mail,
    ticket_count,
)
from tests.stack import Dovecot, ImapUser


class _PoisonHook(IngestHook):
    """Raises for one subject: a stand-in for any bug that hits one message of a batch."""

    def tickets_created(
        self,
        session: Session,
        message: InboundMessageRow,
        parsed: InboundMessage,
        tickets: Sequence[TicketRow],
    ) -> None:
        if "POISON" in parsed.subject:
            raise RuntimeError("poison pill")


def _config(db: DatabaseConfig, mb: MailboxConfig, count: int = 50) -> Config:
    return Config(
        database=db,
        mailboxes=[mb.model_copy(update={"batch_count": count, "batch_seconds": 60.0})],
    )


def test_one_bad_message_in_a_batch_is_quarantined_alone(
    clean_db: Engine,
    db_config: DatabaseConfig,
    mailbox_config: MailboxConfig,
    dovecot: Dovecot,
    imap_user: ImapUser,
) -> None:
    mails = [tenant_mail(n) for n in range(1, 21)]
    mails[9] = tenant_mail(10, subject="POISON leaking tap")
    dovecot.multiappend(imap_user, mails)
    config = _config(db_config, mailbox_config)

    counts = run_passes(config, hooks=[_PoisonHook()], analyse=analyser(config))

    assert counts == {"ticketed": 19, "quarantined": 1}
    assert ticket_count(clean_db) == 19  # the poison's ticket rolled back with it, alone
    folders = FolderCounts(dovecot, imap_user)
    assert (folders["INBOX"], folders["Processed"], folders["Failed"]) == (0, 19, 1)
    with Session(clean_db) as s:
        bad = s.scalars(
            select(InboundMessageRow).where(InboundMessageRow.outcome == "quarantined")
        ).one()
        assert bad.subject == "POISON leaking tap" and bad.raw is not None
        assert bad.error is not None and "poison pill" in bad.error


def test_a_reply_delivered_twice_in_one_batch_has_one_effect(
    clean_db: Engine,
    db_config: DatabaseConfig,
    mailbox_config: MailboxConfig,
    dovecot: Dovecot,
    imap_user: ImapUser,
) -> None:
    config = _config(db_config, mailbox_config)
    dovecot.append(imap_user, tenant_mail(1))
    assert run_passes(config, analyse=analyser(config)) == {"ticketed": 1}
    with Session(clean_db) as s:
        ticket_id = s.scalars(select(TicketRow.ticket_id)).one()
    reply = tenant_mail(
        1, "Still dripping, please hurry.", subject=f"Re: [{ticket_id}] Leaking tap in unit 1B"
    )
    # the same reply twice (a retried delivery), between two new requests, in ONE batch
    dovecot.multiappend(imap_user, [tenant_mail(2), reply, reply, tenant_mail(3)])

    counts = run_passes(config, analyse=analyser(config))

    assert counts == {"ticketed": 2, "comment": 1, "duplicate": 1}
    assert outcomes(clean_db) == {"ticketed": 3, "comment": 1, "duplicate": 1}
    with Session(clean_db) as s:
        comments = s.scalar(
            select(func.count()).select_from(TicketEventRow).where(TicketEventRow.kind == "comment")
        )
    assert comments == 1
    assert FolderCounts(dovecot, imap_user)["Processed"] == 5
