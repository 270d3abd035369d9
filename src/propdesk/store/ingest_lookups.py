"""SQL of what the ingest stages need to know about one message before they decide: an earlier
copy (same bytes, or same Message-ID and sender), the flood counts, the tenant, the tickets it
names and the ticket it threads to; plus the batch's advisory locks.

Every function takes the caller's ``Session`` and never commits; rows written earlier in the
same transaction (the same batch) are seen like committed ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from propdesk.core.conversation import NO_DIRECTORY, Directory
from propdesk.core.message import InboundMessage
from propdesk.store import conversations, tenants
from propdesk.store.locks import xact_lock, xact_locks
from propdesk.store.records import EarlierMessage, FloodCounts, Lookups
from propdesk.store.repository import clean_opt, clean_text
from propdesk.store.tables import InboundMessageRow, TicketRow
from propdesk.store.tables_outbox import OutboxRow


@dataclass(frozen=True, slots=True)
class FloodQuery:
    """What to count for the flood limits: mail in ``window`` before the message, by sender
    and/or by mailbox; staff notices written since ``now - window``."""

    window: timedelta
    now: datetime
    by_sender: bool = True
    by_mailbox: bool = True
    # whether staff were told is only asked once a count reaches its limit (0: always asked)
    sender_limit: int = 0
    mailbox_limit: int = 0


#: The outbox kind of the staff notice about held mail; ``context.flood_key`` names whose.
FLOOD_NOTICE_KIND = "flood_held"


def flood_key(*, sender: str | None = None, mailbox: str | None = None) -> str:
    """Whose flood a notice is about: ``sender:<address>`` or ``mailbox:<name>``."""
    return f"sender:{sender}" if sender is not None else f"mailbox:{mailbox}"


def lookups(
    session: Session,
    row: InboundMessageRow,
    refs: Sequence[str],
    flood: FloodQuery | None = None,
    requester: str | None = None,
    *,
    directory: Directory = NO_DIRECTORY,
    matched_by: dict[str, str] | None = None,
    locked: bool = False,
) -> Lookups:
    """Everything the ingest stages ask the database about one described message row.
    ``requester``: whose directory entry fills the tickets (default the sender; a staff member's
    forward is the forwarded tenant's). The ticket it threads to is locked
    (``propdesk.store.conversations.thread_ticket``). ``locked``: the batch already holds the
    message's advisory locks (``batch_locks``)."""
    assert row.sha256 is not None
    if row.message_id and row.sender and not locked:
        # Serialise deliveries of one Message-ID across mailboxes (their daemons differ).
        xact_lock(session, "message-id", row.message_id)
    earlier = _find_earlier(
        session,
        mailbox=row.mailbox,
        sha256=row.sha256,
        message_id=row.message_id,
        sender=row.sender,
        exclude_id=row.id,
    )
    seen = None if earlier is None else EarlierMessage(earlier.id, earlier.mailbox, earlier.sha256)
    counts = FloodCounts() if flood is None else flood_counts(session, row, flood, locked=locked)
    whose = row.sender if requester is None else requester
    tenant = tenants.find_by_email(session, whose) if whose else None
    thread = conversations.thread_ticket(session, refs, row.sender, directory, matched_by or {})
    return Lookups(seen, existing_tickets(session, refs), tenant, counts, thread)


def batch_locks(session: Session, messages: Sequence[InboundMessage]) -> None:
    """The advisory locks ``lookups`` takes per message (its Message-ID, its sender's flood
    count), for a whole batch in one statement and in key order (no deadlock between batches)."""
    keys: list[tuple[str, str]] = []
    for parsed in messages:
        sender = None if parsed.sender is None else clean_text(parsed.sender.address)
        message_id = clean_opt(parsed.message_id or None)
        if sender:
            keys.append(("flood", sender))
            if message_id:
                keys.append(("message-id", message_id))
    xact_locks(session, keys)


def flood_counts(
    session: Session, row: InboundMessageRow, q: FloodQuery, *, locked: bool = False
) -> FloodCounts:
    """Mail from the same sender and into the same mailbox in the window before ``row`` (by
    INTERNALDATE, so a backlog read at once counts as it was sent), and whether staff were told.
    Serialised per sender, so two daemons cannot both let the limit's last message through."""
    counted = and_(
        InboundMessageRow.received_at > row.received_at - q.window,
        InboundMessageRow.received_at <= row.received_at,
        InboundMessageRow.outcome.not_in(("duplicate", "skipped")),
    )
    if row.id is not None:
        counted = and_(counted, InboundMessageRow.id != row.id)
    sender_n = mailbox_n = 0
    if q.by_sender and row.sender:
        if not locked:
            xact_lock(session, "flood", row.sender)
        sender_n = _count(session, and_(counted, InboundMessageRow.sender == row.sender))
    if q.by_mailbox:
        mailbox_n = _count(session, and_(counted, InboundMessageRow.mailbox == row.mailbox))
    since = q.now - q.window
    return FloodCounts(
        sender_recent=sender_n,
        mailbox_recent=mailbox_n,
        sender_notified=bool(q.by_sender and row.sender)
        and sender_n >= q.sender_limit
        and _notified(session, flood_key(sender=row.sender), since),
        mailbox_notified=q.by_mailbox
        and mailbox_n >= q.mailbox_limit
        and _notified(session, flood_key(mailbox=row.mailbox), since),
    )


def _count(session: Session, where: ColumnElement[bool]) -> int:
    return int(
        session.scalar(select(func.count()).select_from(InboundMessageRow).where(where)) or 0
    )


def _notified(session: Session, key: str, since: datetime) -> bool:
    """A staff notice about ``key``'s flood was queued since ``since``."""
    query = select(OutboxRow.id).where(
        OutboxRow.kind == FLOOD_NOTICE_KIND,
        OutboxRow.context["flood_key"].astext == key,
        OutboxRow.created_at >= since,
    )
    return session.scalars(query.limit(1)).first() is not None


def _find_earlier(
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


def existing_tickets(session: Session, ticket_ids: Sequence[str]) -> dict[str, int]:
    """Of ``ticket_ids``, those that name a stored ticket (ticket id -> row key). The rows stay
    in the session, so writing to them later costs no second query."""
    if not ticket_ids:
        return {}
    rows = session.scalars(select(TicketRow).where(TicketRow.ticket_id.in_(ticket_ids)))
    return {r.ticket_id: r.id for r in rows}
