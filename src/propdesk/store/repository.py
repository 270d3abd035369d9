"""Queries and writes on the ingest tables, one small function each.

Every function takes the caller's ``Session`` and never commits: the ingest service owns the
transaction (one per message), so everything a message causes commits or rolls back together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from propdesk.core.message import Attachment
from propdesk.store.tables import (
    AttachmentBlobRow,
    AttachmentRow,
    InboundMessageRow,
    MailboxStateRow,
    MessageTicketRow,
    TicketEventRow,
    TicketRow,
)


def clean_text(value: str) -> str:
    """PostgreSQL text cannot hold NUL; mail from the wild sometimes does."""
    return value.replace("\x00", "") if "\x00" in value else value


def clean_opt(value: str | None) -> str | None:
    return None if value is None else clean_text(value)


def clean_json(value: Any) -> Any:
    """``clean_text`` through a JSON-ready structure (JSONB refuses \\u0000 too)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return value


def constraint_of(exc: IntegrityError) -> str | None:
    """The name of the violated constraint or unique index (psycopg diagnostics)."""
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return str(name) if name else None


# -- advisory locks -----------------------------------------------------------------------------


def lock_key(namespace: str, name: str) -> int:
    """A stable signed 64-bit advisory-lock key for (namespace, name)."""
    digest = hashlib.blake2b(f"propdesk:{namespace}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def mailbox_lock(unpooled: Engine, mailbox: str) -> Iterator[bool]:
    """Try to take the session advisory lock of ``mailbox``; yields whether we hold it.

    The connection must come from an unpooled engine (``make_engine(pooled=False)``): a pooled
    connection returned to the pool would keep holding the lock (see test-stack.md). Closing the
    connection releases the lock even if the unlock is never sent (e.g. on a crash).
    """
    key = lock_key("mailbox", mailbox)
    conn = unpooled.connect()
    try:
        got = bool(conn.execute(select(func.pg_try_advisory_lock(key))).scalar_one())
        conn.commit()
        yield got
        if got:
            conn.execute(select(func.pg_advisory_unlock(key)))
            conn.commit()
    finally:
        conn.close()


def xact_lock(session: Session, namespace: str, name: str) -> None:
    """A transaction-scoped advisory lock (released at commit/rollback)."""
    session.execute(select(func.pg_advisory_xact_lock(lock_key(namespace, name))))


# -- inbound messages -----------------------------------------------------------------------------


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


def known_outcomes(
    session: Session, mailbox: str, uidvalidity: int, uids: Sequence[int]
) -> dict[int, str]:
    """Outcome of each UID already recorded under this UIDVALIDITY."""
    out: dict[int, str] = {}
    for start in range(0, len(uids), 5000):
        chunk = list(uids[start : start + 5000])
        rows = session.execute(
            select(InboundMessageRow.uid, InboundMessageRow.outcome).where(
                InboundMessageRow.mailbox == mailbox,
                InboundMessageRow.uidvalidity == uidvalidity,
                InboundMessageRow.uid.in_(chunk),
            )
        )
        out.update({int(uid): str(outcome) for uid, outcome in rows})
    return out


def find_earlier(
    session: Session,
    *,
    mailbox: str,
    sha256: str,
    message_id: str | None,
    sender: str | None,
    exclude_id: int | None = None,
) -> InboundMessageRow | None:
    """The first recorded message this one repeats: the same bytes in this mailbox (the content
    key), or the same Message-ID from the same sender in any mailbox. One round trip."""
    same = and_(InboundMessageRow.mailbox == mailbox, InboundMessageRow.sha256 == sha256)
    if message_id and sender:
        same = or_(
            same,
            and_(
                InboundMessageRow.message_id == message_id,
                InboundMessageRow.sender == sender,
                InboundMessageRow.outcome != "skipped",
            ),
        )
    query = select(InboundMessageRow).where(
        same, InboundMessageRow.outcome.not_in(("duplicate", "quarantined"))
    )
    if exclude_id is not None:
        query = query.where(InboundMessageRow.id != exclude_id)
    return session.scalars(query.order_by(InboundMessageRow.id).limit(1)).one_or_none()


def quarantined(session: Session, message_pk: int | None = None) -> list[InboundMessageRow]:
    query = select(InboundMessageRow).where(InboundMessageRow.outcome == "quarantined")
    if message_pk is not None:
        query = query.where(InboundMessageRow.id == message_pk)
    return list(session.scalars(query.order_by(InboundMessageRow.id)))


# -- tickets ------------------------------------------------------------------------------------


def find_ticket(session: Session, ticket_id: str) -> TicketRow | None:
    return session.scalars(select(TicketRow).where(TicketRow.ticket_id == ticket_id)).one_or_none()


def first_existing_ticket(session: Session, ticket_ids: Sequence[str]) -> TicketRow | None:
    """The first of ``ticket_ids`` (in the given order) that names a stored ticket."""
    if not ticket_ids:
        return None
    rows = {
        r.ticket_id: r
        for r in session.scalars(select(TicketRow).where(TicketRow.ticket_id.in_(ticket_ids)))
    }
    for tid in ticket_ids:
        if tid in rows:
            return rows[tid]
    return None


def list_tickets(
    session: Session, status: str | None = None, where: Sequence[ColumnElement[bool]] = ()
) -> list[TicketRow]:
    """Tickets oldest first; ``where`` adds clauses (e.g. the SLA filters of ``tickets list``)."""
    query = select(TicketRow).order_by(TicketRow.created_at, TicketRow.id)
    if status is not None:
        query = query.where(TicketRow.status == status)
    query = query.where(*where)
    return list(session.scalars(query))


def messages_of_ticket(session: Session, ticket: TicketRow) -> list[InboundMessageRow]:
    """The message that created the ticket (first) and messages that commented on it."""
    created = select(MessageTicketRow.inbound_message_id).where(
        MessageTicketRow.ticket_pk == ticket.id
    )
    commented = select(TicketEventRow.inbound_message_id).where(
        TicketEventRow.ticket_pk == ticket.id, TicketEventRow.inbound_message_id.is_not(None)
    )
    return list(
        session.scalars(
            select(InboundMessageRow)
            .where(InboundMessageRow.id.in_(created.union(commented)))
            .order_by(InboundMessageRow.id)
        )
    )


def events_of_ticket(session: Session, ticket: TicketRow) -> list[TicketEventRow]:
    return list(
        session.scalars(
            select(TicketEventRow)
            .where(TicketEventRow.ticket_pk == ticket.id)
            .order_by(TicketEventRow.at, TicketEventRow.id)
        )
    )


def add_event(
    session: Session,
    ticket: TicketRow,
    *,
    kind: str,
    actor: str,
    at: datetime,
    data: dict[str, Any] | None = None,
    message: InboundMessageRow | None = None,
) -> TicketEventRow:
    event = TicketEventRow(
        ticket_pk=ticket.id,
        kind=kind,
        actor=clean_text(actor),
        at=at,
        data=clean_json(data or {}),
        inbound_message_id=None if message is None else message.id,
    )
    session.add(event)
    return event


# -- attachments ----------------------------------------------------------------------------------


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
            )
        )


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    """An attachment as listings show it (never the bytes)."""

    inbound_message_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    stored: bool
    note: str | None


def attachments_of_ticket(session: Session, ticket: TicketRow) -> list[AttachmentInfo]:
    msg_ids = [m.id for m in messages_of_ticket(session, ticket)]
    if not msg_ids:
        return []
    rows = session.scalars(
        select(AttachmentRow)
        .where(AttachmentRow.inbound_message_id.in_(msg_ids))
        .order_by(AttachmentRow.inbound_message_id, AttachmentRow.position)
    )
    return [
        AttachmentInfo(
            r.inbound_message_id,
            r.filename,
            r.content_type,
            r.size,
            r.sha256,
            r.blob_sha256 is not None,
            r.note,
        )
        for r in rows
    ]


def attachment_bytes(session: Session, sha256: str) -> bytes | None:
    return session.scalars(
        select(AttachmentBlobRow.content).where(AttachmentBlobRow.sha256 == sha256)
    ).one_or_none()


# -- mailbox state ------------------------------------------------------------------------------


def mailbox_state(session: Session, mailbox: str) -> MailboxStateRow | None:
    return session.get(MailboxStateRow, mailbox)


def save_mailbox_state(
    session: Session,
    mailbox: str,
    *,
    uidvalidity: int,
    high_water_uid: int,
    skip_before: datetime | None,
) -> MailboxStateRow:
    """Create or update the mailbox's state row (callers hold the mailbox lock)."""
    row = session.get(MailboxStateRow, mailbox)
    if row is None:
        row = MailboxStateRow(mailbox=mailbox)
        session.add(row)
    row.uidvalidity = uidvalidity
    row.high_water_uid = high_water_uid
    row.skip_before = skip_before
    row.updated_at = func.now()
    return row
