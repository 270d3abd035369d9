"""The dev corpus through the real Dovecot + daemon gives the same tickets and outbox rows as
the commit the batched ingest branched from (issue 16, item 5: the faster path changes no result).

The golden (``golden/ingest_dev_corpus.json``) was recorded on main without the batched ingest
(first 4b39ae9, re-recorded at cbdfda4 when main changed triage and review fields) with
``PROPDESK_WRITE_GOLDEN=1`` (``deploy/dev/make-ingest-golden.sh``). Every message
gets a fixed INTERNALDATE and the daemon a fixed clock, so times are compared as they are; only
what is random is normalised: row ids, ticket ids (``T001``... in message order, item order) and
the Message-IDs we generate (``<kind|recipient|ticket>``).

A change that means to change results (rules, templates) re-records the golden in its own commit.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from propdesk import app
from propdesk.clock import Clock
from propdesk.config import BusinessHoursConfig, Config, DatabaseConfig, MailboxConfig
from propdesk.store.tables import InboundMessageRow, MessageTicketRow, TicketRow
from propdesk.store.tables_outbox import OutboxRow
from tests.shared import require_shared
from tests.stack import Dovecot, ImapUser

GOLDEN = Path(__file__).parent / "golden" / "ingest_dev_corpus.json"
#: A Wednesday morning: the first message's INTERNALDATE; one more minute per message.
FIRST_RECEIVED = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
#: The daemon's clock: one fixed instant after the last message.
NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
_TICKET_ID = re.compile(r"TKT-[0-9A-Z]+")
_DELIVERY_STATE = {"status", "attempts", "next_attempt_at", "updated_at", "sent_at", "last_error"}


def _corpus(shared_dir: Path) -> list[bytes]:
    root = shared_dir / "corpus" / "tenant" / "emails"
    if not root.is_dir():
        require_shared(root)
    return [p.read_bytes() for p in sorted(root.glob("*.eml"))]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class _Normaliser:
    """Random ids -> stable placeholders, the same mapping everywhere they appear."""

    def __init__(self, ticket_ids: list[str], outbox: Sequence[OutboxRow]) -> None:
        self.tickets = {tid: f"T{n:03d}" for n, tid in enumerate(ticket_ids, 1)}
        # a generated Message-ID is named by what the mail is (not by the order it was queued)
        self.message_ids: dict[str, str] = {}
        for o in outbox:
            name = f"<{o.kind}|{o.recipient}|{self(o.ticket_id)}>"
            while name in self.message_ids.values():
                name += "'"
            self.message_ids[o.message_id] = name

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            if value in self.message_ids:
                return self.message_ids[value]
            return _TICKET_ID.sub(lambda m: self.tickets.get(m.group(0), "T???"), value)
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        return value


def _columns(row: Any, skip: set[str]) -> dict[str, Any]:
    return {
        c.key: _plain(getattr(row, c.key)) for c in row.__mapper__.column_attrs if c.key not in skip
    }


def corpus_rows(engine: Engine) -> dict[str, Any]:
    """Tickets (in message, item order) and outbox rows, normalised, as plain JSON data."""
    with Session(engine) as s:
        tickets = s.execute(
            select(TicketRow, InboundMessageRow.uid, MessageTicketRow.item_index)
            .join(MessageTicketRow, MessageTicketRow.ticket_pk == TicketRow.id)
            .join(InboundMessageRow, InboundMessageRow.id == MessageTicketRow.inbound_message_id)
            .order_by(InboundMessageRow.uid, MessageTicketRow.item_index)
        ).all()
        outbox = s.scalars(select(OutboxRow).order_by(OutboxRow.id)).all()
        norm = _Normaliser([t.ticket_id for t, _u, _i in tickets], outbox)
        ticket_data = [
            norm({"uid": uid, "item_index": index, **_columns(t, {"id"})})
            for t, uid, index in tickets
        ]
        outbox_data = [norm(_columns(o, {"id", *_DELIVERY_STATE})) for o in outbox]
    # the order outbox rows are queued in within one message is no result: compare as a set
    outbox_data.sort(key=lambda row: json.dumps(row, sort_keys=True))
    return {"tickets": ticket_data, "outbox": outbox_data}


def test_dev_corpus_tickets_and_outbox_rows_match_the_golden(
    shared_dir: Path,
    clean_db: Engine,
    db_config: DatabaseConfig,
    mailbox_config: MailboxConfig,
    dovecot: Dovecot,
    imap_user: ImapUser,
) -> None:
    raws = _corpus(shared_dir)
    for n, raw in enumerate(raws):
        dovecot.append(imap_user, raw, msg_time=FIRST_RECEIVED + timedelta(minutes=n))
    config = Config(
        database=db_config,
        mailboxes=[mailbox_config],
        business_hours=BusinessHoursConfig(timezone="UTC"),
    )
    # the real daemon (analysis in its worker pool), its pollers only: delivery is not compared
    daemon = app.daemon(config, clock=Clock(now=lambda: NOW), idle=False)
    try:
        reports = [poller.poll() for poller in daemon.loop.pollers]
    finally:
        daemon.close()
    assert all(r.status == "ok" for r in reports), [r.error for r in reports]
    assert len(dovecot.messages(imap_user, "INBOX")) == 0
    got = corpus_rows(clean_db)
    if os.environ.get("PROPDESK_WRITE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    want = json.loads(GOLDEN.read_text())
    assert len(got["tickets"]) == len(want["tickets"]) > 0
    for n, (mine, theirs) in enumerate(zip(got["tickets"], want["tickets"], strict=True)):
        assert mine == theirs, f"ticket {n + 1}"
    assert got["outbox"] == want["outbox"]
