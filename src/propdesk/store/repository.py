"""Reads of tickets, their messages, events and attachments, plus the text cleaning and the
event write every ticket writer shares, one small function each.

Every function takes the caller's ``Session`` and never commits: the caller owns the transaction.
The ingest service's SQL is in ``ingest_repo``; advisory locks in ``locks``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

# Re-exported for older callers; the lock lives in ``propdesk.store.locks``.
from propdesk.store.locks import mailbox_lock as mailbox_lock  # noqa: PLC0414 - explicit re-export
from propdesk.store.tables import (
    AttachmentBlobRow,
    AttachmentRow,
    InboundMessageRow,
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


# -- tickets ------------------------------------------------------------------------------------


def find_ticket(session: Session, ticket_id: str) -> TicketRow | None:
    return session.scalars(select(TicketRow).where(TicketRow.ticket_id == ticket_id)).one_or_none()


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
    display_name: str | None = None  # the name as sent, display text only (``filename`` is safe)


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
            r.display_name,
        )
        for r in rows
    ]


def attachment_bytes(session: Session, sha256: str) -> bytes | None:
    return session.scalars(
        select(AttachmentBlobRow.content).where(AttachmentBlobRow.sha256 == sha256)
    ).one_or_none()
