"""SQL of conversations: which ticket a reply belongs to (locked), ticket links, ratings, notes,
and the Resolved tickets nobody answered.

The thread look-up takes the ticket row ``FOR UPDATE`` before any stage decides, so a staff
command and a tenant reply racing on one ticket are decided one after the other, each on the
state the other left: both are recorded and the lifecycle is never violated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from propdesk.core.conversation import Directory, ThreadTicket
from propdesk.core.derive import NO_PROPERTY
from propdesk.core.models import Ticket
from propdesk.mail.compose import parse_message_id
from propdesk.store import tenants
from propdesk.store.db import Executor
from propdesk.store.repository import add_event, clean_text
from propdesk.store.tables import (
    EVENT_COMMENT,
    InboundMessageRow,
    MessageTicketRow,
    TicketEventRow,
    TicketRow,
)
from propdesk.store.tables_conversation import TicketLinkRow, TicketRatingRow
from propdesk.store.tables_outbox import outbox
from propdesk.store.tickets import LockedTicket, lock, ticket_from_row


class TenantDirectory:
    """The tenant directory (``store/tenants.py``) as conversations ask it, in one transaction:
    is the sender listed in the ticket's unit (same building and property when known)?"""

    def __init__(self, db: Executor) -> None:
        self._db = db

    def co_tenant(self, sender: str, ticket: Ticket) -> bool:
        if not ticket.unit_number:
            return False
        prop = "" if ticket.property_id == NO_PROPERTY else ticket.property_id
        listed = tenants.co_tenants(
            self._db, ticket.unit_number, ticket.metadata.building or "", prop
        )
        who = sender.strip().lower()
        return any(t.email == who for t in listed)


#: How many References ids a reply may make us look up (a long thread keeps the newest).
MAX_HEADER_IDS = 50


def tickets_of_message_ids(session: Session, message_ids: Sequence[str]) -> list[str]:
    """Ticket ids named by Message-IDs we sent (outbox) or received (inbound messages that
    created or commented on a ticket), in the order of ``message_ids`` (the caller puts
    In-Reply-To first, then References newest first)."""
    ids = list(dict.fromkeys(m.strip() for m in message_ids if m and m.strip()))[:MAX_HEADER_IDS]
    if not ids:
        return []
    found: dict[str, str] = {}
    for mid in ids:  # ours parse without a query (they survive a pruned outbox)
        ours = parse_message_id(mid)
        if ours is not None:
            found[mid] = ours[0]
    sent = session.execute(
        select(outbox.c.message_id, outbox.c.ticket_id).where(outbox.c.message_id.in_(ids))
    ).all()
    found.update({str(m): str(t) for m, t in sent})
    created = session.execute(
        select(InboundMessageRow.message_id, TicketRow.ticket_id)
        .join(MessageTicketRow, MessageTicketRow.inbound_message_id == InboundMessageRow.id)
        .join(TicketRow, TicketRow.id == MessageTicketRow.ticket_pk)
        .where(InboundMessageRow.message_id.in_(ids))
    ).all()
    commented = session.execute(
        select(InboundMessageRow.message_id, TicketRow.ticket_id)
        .join(TicketEventRow, TicketEventRow.inbound_message_id == InboundMessageRow.id)
        .join(TicketRow, TicketRow.id == TicketEventRow.ticket_pk)
        .where(InboundMessageRow.message_id.in_(ids), TicketEventRow.kind == EVENT_COMMENT)
    ).all()
    for m, t in [*created, *commented]:
        found.setdefault(str(m), str(t))
    return list(dict.fromkeys(found[m] for m in ids if m in found))


def thread_ticket(
    session: Session,
    candidates: Sequence[str],
    sender: str | None,
    directory: Directory,
    matched_by: dict[str, str],
) -> ThreadTicket | None:
    """The first candidate ticket that exists, locked until the transaction ends."""
    for ticket_id in candidates:
        locked = lock(session, ticket_id)
        if locked is None:
            continue
        co = bool(sender) and directory.co_tenant(str(sender), locked.ticket)
        return ThreadTicket(locked.pk, locked.ticket, co, matched_by.get(ticket_id, "subject"))
    return None


def link(session: Session, ticket_pk: int, related_pk: int, reason: str, at: datetime) -> None:
    """``ticket_pk`` was made from a reply on ``related_pk``: the link and a ``linked`` event
    on both tickets."""
    session.add(
        TicketLinkRow(
            ticket_pk=ticket_pk,
            related_ticket_pk=related_pk,
            reason=clean_text(reason),
            created_at=at,
        )
    )
    new, old = session.get(TicketRow, ticket_pk), session.get(TicketRow, related_pk)
    assert new is not None and old is not None
    add_event(
        session,
        new,
        kind="linked",
        actor="propdesk",
        at=at,
        data={"related": old.ticket_id, "reason": reason},
    )
    add_event(
        session,
        old,
        kind="linked",
        actor="propdesk",
        at=at,
        data={"new_ticket": new.ticket_id, "reason": reason},
    )


def record_rating(
    session: Session,
    ticket: tuple[int, str],
    rating: int,
    *,
    at: datetime,
    by: str,
    message: InboundMessageRow | None,
) -> None:
    """Upsert the rating of ``ticket`` (row id, ticket id): the latest wins (by ``rated_at``,
    ties to the newer row)."""
    values: dict[str, Any] = {
        "ticket_pk": ticket[0],
        "ticket_id": ticket[1],
        "rating": rating,
        "rated_at": at,
        "rated_by": clean_text(by),
        "inbound_message_id": None if message is None else message.id,
    }
    stmt = pg_insert(TicketRatingRow).values(**values)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["ticket_pk"],
            set_={k: stmt.excluded[k] for k in values if k not in ("ticket_pk", "ticket_id")},
            where=TicketRatingRow.rated_at <= stmt.excluded.rated_at,
        )
    )


def rating_of(db: Executor, ticket_id: str) -> int | None:
    return db.execute(
        select(TicketRatingRow.rating).where(TicketRatingRow.ticket_id == ticket_id)
    ).scalar_one_or_none()


def stale_resolved(db: Executor, before: datetime, limit: int) -> list[LockedTicket]:
    """Resolved tickets resolved before ``before`` and with no comment (reply) after it either,
    locked (others that another daemon holds are skipped): quiet for the whole period."""
    later_comment = exists().where(
        TicketEventRow.ticket_pk == TicketRow.id,
        TicketEventRow.kind == EVENT_COMMENT,
        TicketEventRow.at > before,
    )
    rows = db.execute(
        select(TicketRow.__table__)
        .where(
            TicketRow.status == "Resolved",
            TicketRow.resolved_at.is_not(None),
            TicketRow.resolved_at <= before,
            ~later_comment,
        )
        .order_by(TicketRow.resolved_at, TicketRow.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=TicketRow.__table__)
    ).all()
    return [LockedTicket(int(r.id), ticket_from_row(r)) for r in rows]
