"""SQL and row mapping of the ingest service: message rows and the writes an outcome causes
(comment events, tickets, links, attachments); what a message repeats or refers to is asked in
``propdesk.store.ingest_lookups``.

Every function takes the caller's ``Session`` and never commits: the ingest service owns the
transaction (one per batch), so everything a message causes commits or rolls back together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from propdesk.core.message import Attachment, InboundMessage
from propdesk.core.models import Ticket
from propdesk.store.repository import add_event, clean_opt, clean_text
from propdesk.store.tables import (
    EVENT_COMMENT,
    EVENT_CREATED,
    AttachmentBlobRow,
    AttachmentRow,
    InboundMessageRow,
    MessageTicketRow,
    TicketEventRow,
    TicketRow,
)
from propdesk.store.tickets import ticket_values

#: The unique keys whose violation means "recorded already" (IMAP key) or "same bytes" (content).
IMAP_KEY = "uq_inbound_messages_imap_key"
CONTENT_KEY = "uq_inbound_messages_content"

#: Longest comment text kept in an event (the raw message is not kept for comments).
COMMENT_CHARS = 20_000


# -- message rows ---------------------------------------------------------------------------------


def new_row(
    mailbox: str,
    uidvalidity: int,
    *,
    uid: int,
    size: int,
    received_at: datetime,
    error: str | None = None,
    **values: Any,
) -> InboundMessageRow:
    """A message row not yet in any session (``values``: outcome, sha256, reason, raw, ...)."""
    return InboundMessageRow(
        mailbox=mailbox,
        uidvalidity=uidvalidity,
        uid=uid,
        size=size,
        received_at=received_at,
        error=clean_opt(error),
        **values,
    )


def describe(row: InboundMessageRow, parsed: InboundMessage) -> None:
    """Copy the parsed headers the row keeps (cleaned of NULs PostgreSQL cannot store)."""
    row.message_id = clean_opt(parsed.message_id or None)
    row.sender = None if parsed.sender is None else clean_text(parsed.sender.address)
    row.subject = clean_text(parsed.subject or "")[:2000]
    row.in_reply_to = clean_opt(parsed.in_reply_to)
    row.bounced_message_id = clean_opt(parsed.bounced_message_id)


def add(session: Session, row: InboundMessageRow) -> int:
    """Insert ``row`` now (a unique-key conflict raises here) and return its id."""
    session.add(row)
    session.flush()
    return row.id


def find_message(
    session: Session, mailbox: str, uidvalidity: int, uid: int
) -> InboundMessageRow | None:
    return session.scalars(
        select(InboundMessageRow).where(
            InboundMessageRow.mailbox == mailbox,
            InboundMessageRow.uidvalidity == uidvalidity,
            InboundMessageRow.uid == uid,
        )
    ).one_or_none()


def get_message(session: Session, pk: int, *, for_update: bool = False) -> InboundMessageRow | None:
    return session.get(InboundMessageRow, pk, with_for_update=for_update)


def quarantined_ids(
    session: Session, message_pk: int | None = None, *, outcome: str = "quarantined"
) -> list[int]:
    """Ids of quarantined (or ``held_flood``) messages (all, or just ``message_pk``), oldest
    first."""
    query = select(InboundMessageRow.id).where(InboundMessageRow.outcome == outcome)
    if message_pk is not None:
        query = query.where(InboundMessageRow.id == message_pk)
    return list(session.scalars(query.order_by(InboundMessageRow.id)))


def start_retry(row: InboundMessageRow) -> bytes | None:
    """A quarantined row's kept bytes, counting the attempt; None if they were never read."""
    raw = row.raw
    if raw is None:
        return None
    row.attempts += 1
    row.sha256 = hashlib.sha256(raw).hexdigest()
    return raw


def note_failed_retry(session: Session, pk: int, error: str) -> None:
    """A retry failed again: count it and keep the newest error."""
    row = session.get(InboundMessageRow, pk)
    if row is not None:
        row.attempts += 1
        row.error = clean_text(error)


# -- the writes an outcome causes ---------------------------------------------------------------


def record(
    session: Session,
    row: InboundMessageRow,
    outcome: str,
    reason: str | None,
    *,
    duplicate_of: int | None = None,
    error: str | None = None,
    raw: bytes | None = None,
) -> None:
    """Give ``row`` its final outcome and write it (new rows are inserted here). ``raw``: the
    bytes to keep (quarantined and held rows), else they are cleared."""
    row.outcome = outcome
    row.reason = reason
    row.error = clean_opt(error)
    row.duplicate_of = duplicate_of
    row.raw = raw
    session.add(row)
    session.flush()


def add_comment(
    session: Session,
    row: InboundMessageRow,
    parsed: InboundMessage,
    ticket_pk: int,
    at: datetime,
    *,
    text: str | None = None,
    decision: dict[str, Any] | None = None,
) -> tuple[TicketRow, TicketEventRow]:
    """``row`` (already recorded) as a comment event on ticket ``ticket_pk``, at ``at``;
    ``text`` replaces the new text (staff commands removed), ``decision`` records what the
    conversation stage decided and why."""
    ticket = session.get(TicketRow, ticket_pk)
    if ticket is None:  # looked up in this transaction: only a concurrent delete gets here
        raise LookupError(f"ticket #{ticket_pk} vanished")
    store_attachments(session, row, parsed.attachments)
    event = add_event(
        session,
        ticket,
        kind=EVENT_COMMENT,
        actor=row.sender or "unknown",
        at=at,  # when it joined the ticket; INTERNALDATE (1 s resolution) is in data
        data={
            "received_at": row.received_at.isoformat(),
            "subject": row.subject,
            "text": (parsed.new_text if text is None else text)[:COMMENT_CHARS],
            "message_id": row.message_id,
            "attachments": [a.filename for a in parsed.attachments],
            **({"decision": decision} if decision else {}),
        },
        message=row,
    )
    ticket.updated_at = at
    session.flush()
    return ticket, event


def ticket_row(session: Session, ticket_pk: int) -> TicketRow:
    """The ticket row ``ticket_pk`` (looked up, and locked, earlier in this transaction)."""
    ticket = session.get(TicketRow, ticket_pk)
    if ticket is None:
        raise LookupError(f"ticket #{ticket_pk} vanished")
    return ticket


def insert_ticket(
    session: Session, ticket: Ticket, due: tuple[datetime | None, datetime | None]
) -> TicketRow | None:
    """INSERT .. ON CONFLICT (ticket_id) DO NOTHING RETURNING: None when the random id clashes
    (the caller retries with a fresh id: one round trip, no savepoint)."""
    stmt = (
        pg_insert(TicketRow)
        .values(**ticket_values(ticket, due))
        .on_conflict_do_nothing(index_elements=["ticket_id"])
        .returning(TicketRow)
    )
    return session.scalars(stmt).one_or_none()


def link_created(session: Session, row: InboundMessageRow, ticket: TicketRow, index: int) -> None:
    """Ticket ``ticket`` was made from action item ``index`` of ``row``: the link and the event."""
    session.add(MessageTicketRow(inbound_message_id=row.id, item_index=index, ticket_pk=ticket.id))
    add_event(
        session,
        ticket,
        kind=EVENT_CREATED,
        actor="propdesk",
        at=ticket.created_at,
        data={"source": "email", "item_index": index, "sender": row.sender},
        message=row,
    )


def store_attachments(
    session: Session, message: InboundMessageRow, attachments: Sequence[Attachment]
) -> None:
    """Attachment metadata per message; bytes once per SHA-256 (ON CONFLICT DO NOTHING)."""
    for position, att in enumerate(attachments):
        blob: str | None = None
        if att.content is not None:
            session.execute(
                pg_insert(AttachmentBlobRow)
                .values(sha256=att.sha256, size=len(att.content), content=att.content)
                .on_conflict_do_nothing(index_elements=["sha256"])
            )
            blob = att.sha256
        session.add(
            AttachmentRow(
                inbound_message_id=message.id,
                position=position,
                filename=clean_text(att.filename) or f"attachment-{position + 1}",
                content_type=clean_text(att.content_type),
                size=att.size,
                sha256=att.sha256,
                blob_sha256=blob,
                inline=att.inline,
                content_id=clean_opt(att.content_id),
                note=clean_opt(att.note),
                display_name=clean_opt(att.display_name or None),
            )
        )
