"""Retention: what is kept of tenants' mail once their tickets are long closed.

For tickets closed before the cutoff, and the messages that made or commented on them (when no
other, younger ticket needs them): the attachments and the blobs no one else references go,
the raw bytes kept for quarantined mail recorded before the cutoff go, and phone numbers are
removed from the tickets' notes and texts. Rows, outcomes and the tickets stay (reports and
the exactly-once guard need them). ``dry_run`` counts what would go and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from propdesk.store.tables import (
    AttachmentBlobRow,
    AttachmentRow,
    InboundMessageRow,
    MessageTicketRow,
    TicketEventRow,
    TicketRow,
)


@dataclass(frozen=True)
class PurgeReport:
    """What a purge removed (or, dry, would remove)."""

    tickets: int
    raw_messages: int
    attachments: int
    blobs: int
    phone_tickets: int

    def lines(self) -> list[str]:
        return [
            f"tickets closed before the cutoff: {self.tickets}",
            f"raw messages to clear: {self.raw_messages}",
            f"attachments to delete: {self.attachments} ({self.blobs} stored blobs)",
            f"tickets with phone numbers to redact: {self.phone_tickets}",
        ]


def purge(
    session: Session, closed_before: datetime, redact: Callable[[str], str], *, dry_run: bool
) -> PurgeReport:
    """One transaction (the caller's); ``redact`` removes phone numbers from a text."""
    old = select(TicketRow.id).where(TicketRow.closed_at < closed_before)
    old_ids = set(session.scalars(old))
    linked = (
        select(MessageTicketRow.inbound_message_id)
        .where(MessageTicketRow.ticket_pk.in_(old))
        .union(
            select(TicketEventRow.inbound_message_id).where(
                TicketEventRow.ticket_pk.in_(old), TicketEventRow.inbound_message_id.is_not(None)
            )
        )
    )
    young = select(MessageTicketRow.inbound_message_id).where(
        MessageTicketRow.ticket_pk.not_in(old)
    )
    message_ids = set(session.scalars(linked)) - set(session.scalars(young))
    msg = InboundMessageRow
    # Raw bytes are kept only for quarantined mail (for ``reprocess``): those recorded before
    # the cutoff go too, ticket or not.
    raw_ids = set(
        session.scalars(
            select(msg.id).where(
                msg.raw.is_not(None), msg.id.in_(message_ids) | (msg.recorded_at < closed_before)
            )
        )
    )
    att_ids = (
        set(
            session.scalars(
                select(AttachmentRow.id).where(AttachmentRow.inbound_message_id.in_(message_ids))
            )
        )
        if message_ids
        else set()
    )
    blob_keys = (
        set(
            session.scalars(
                select(AttachmentRow.blob_sha256).where(
                    AttachmentRow.id.in_(att_ids), AttachmentRow.blob_sha256.is_not(None)
                )
            )
        )
        if att_ids
        else set()
    )
    still_used = (
        set(
            session.scalars(
                select(AttachmentRow.blob_sha256).where(
                    AttachmentRow.blob_sha256.in_(blob_keys), AttachmentRow.id.not_in(att_ids)
                )
            )
        )
        if blob_keys
        else set()
    )
    blobs = blob_keys - still_used
    phone_rows = (
        [
            t
            for t in session.scalars(select(TicketRow).where(TicketRow.id.in_(old_ids)))
            if _redacted(t, redact) != (t.description, t.short_description, t.notes)
        ]
        if old_ids
        else []
    )
    report = PurgeReport(len(old_ids), len(raw_ids), len(att_ids), len(blobs), len(phone_rows))
    if dry_run:
        return report
    if raw_ids:
        session.execute(update(msg).where(msg.id.in_(raw_ids)).values(raw=None))
    if att_ids:
        session.execute(delete(AttachmentRow).where(AttachmentRow.id.in_(att_ids)))
    if blobs:
        session.execute(delete(AttachmentBlobRow).where(AttachmentBlobRow.sha256.in_(blobs)))
    for t in phone_rows:
        t.description, t.short_description, t.notes = _redacted(t, redact)
    return report


def _redacted(t: TicketRow, redact: Callable[[str], str]) -> tuple[str, str, list[dict[str, str]]]:
    notes = [n for n in t.notes if n.get("kind") != "phone"]
    return redact(t.description), redact(t.short_description), notes
