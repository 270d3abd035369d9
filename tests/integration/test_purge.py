"""Retention after a real run: tickets closed long ago lose raw mail, attachments and phone
numbers; the dry run lists the same and changes nothing; younger tickets keep everything."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from propdesk import app
from propdesk.config import Config, DatabaseConfig, MailboxConfig, NotificationsConfig
from propdesk.store.tables import AttachmentRow, InboundMessageRow, TicketRow
from tests.integration.ingest_support import analyser, cli, tenant_mail
from tests.stack import Dovecot, ImapUser
from tests.stack.configfile import write_config

PHONE = "+1 415 555 0134"
DIGITS = "0134"  # the last group: gone once redacted


def _texts(ticket: TicketRow) -> str:
    """Where a phone number can sit on a ticket: its texts and its notes."""
    return " ".join([ticket.description, ticket.short_description, json.dumps(ticket.notes)])


def _count(engine: Engine, query: object) -> int:
    with Session(engine) as s:
        return int(s.scalar(query) or 0)  # type: ignore[call-overload]


def test_purge_dry_run_then_purge(
    tmp_path: Path,
    config_env: dict[str, str],
    clean_db: Engine,
    db_config: DatabaseConfig,
    dovecot: Dovecot,
    imap_user: ImapUser,
    mailbox_config: MailboxConfig,
) -> None:
    config = Config(
        database=db_config, mailboxes=[mailbox_config],
        notifications=NotificationsConfig(enabled=False),
    )  # fmt: skip
    body = f"The kitchen tap is leaking under the sink. Call me on {PHONE}."
    dovecot.multiappend(
        imap_user,
        [
            tenant_mail(n, body, attachment=("photo.jpg", b"\xff\xd8" + bytes([n]) * 500))
            for n in (1, 2)
        ],
    )
    daemon = app.daemon(config, analyse=analyser(config))
    try:
        daemon.loop.run_once()
    finally:
        daemon.close()
    with Session(clean_db) as s:
        first = s.scalars(select(TicketRow).order_by(TicketRow.id)).first()
        assert first is not None and DIGITS in _texts(first)
        s.execute(
            update(TicketRow)
            .where(TicketRow.id == first.id)
            .values(status="Closed", closed_at=datetime.now(UTC) - timedelta(days=400))
        )
        s.commit()
    path = write_config(tmp_path / "propdesk.toml", config)
    raw_kept = (
        select(func.count())
        .select_from(InboundMessageRow)
        .where(InboundMessageRow.raw.is_not(None))
    )
    attachments = select(func.count()).select_from(AttachmentRow)

    dry = cli(["--config", str(path), "purge", "--closed-days", "365", "--dry-run"], config_env)
    assert dry.returncode == 0, dry.stderr
    assert "tickets closed before the cutoff: 1" in dry.stdout
    assert "raw messages to clear: 0" in dry.stdout  # ticketed mail keeps no raw bytes
    assert "attachments to delete: 1 (1 stored blobs)" in dry.stdout
    assert "tickets with phone numbers to redact: 1" in dry.stdout
    assert _count(clean_db, raw_kept) == 0 and _count(clean_db, attachments) == 2

    done = cli(["--config", str(path), "purge", "--closed-days", "365"], config_env)
    assert done.returncode == 0, done.stderr
    assert _count(clean_db, attachments) == 1
    with Session(clean_db) as s:
        tickets = list(s.scalars(select(TicketRow).order_by(TicketRow.id)))
    assert DIGITS not in _texts(tickets[0])
    assert not [n for n in tickets[0].notes if n.get("kind") == "phone"]
    assert DIGITS in _texts(tickets[1])  # the open ticket keeps everything
    again = cli(["--config", str(path), "purge", "--closed-days", "365", "--dry-run"], config_env)
    assert "attachments to delete: 0" in again.stdout
