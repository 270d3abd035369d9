"""Outbox repository: write notification rows, claim them for delivery, record outcomes.

``add`` and ``mark_bounced`` take the caller's ``Session`` or ``Connection``, so the ingest hooks
write into the ingest transaction and the escalation and status-change services into theirs.
Delivery works through a ``DeliveryPass`` (locked rows, one transaction per batch); the CLI lists,
counts and re-queues rows. Every outbox row is mapped here (``OutboxItem``, ``listing``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from propdesk.core.notifications import Planned
from propdesk.mail.compose import Outgoing, make_message_id, make_notice_message_id
from propdesk.store.db import Database, Executor, connection
from propdesk.store.tables import AttachmentBlobRow
from propdesk.store.tables_outbox import outbox

attachment_blobs = cast(Table, AttachmentBlobRow.__table__)


@dataclass(frozen=True)
class Written:
    """One stored outbox row: its id and Message-ID."""

    id: int
    message_id: str


def add(
    db: Executor,
    planned: Sequence[Planned],
    now: datetime,
    domain: str,
    *,
    delay: timedelta | None = None,
) -> list[Written]:
    """Insert the planned notifications as pending rows due now (or after ``delay``), in the
    caller's transaction; a row whose ``dedupe_key`` is already stored is not added again."""
    if not planned:
        return []
    ids = db.execute(
        text("SELECT nextval('outbox_id_seq') FROM generate_series(1, :n)"), {"n": len(planned)}
    ).scalars()
    rows: list[dict[str, Any]] = []
    written: list[Written] = []
    for row_id, p in zip(ids, planned, strict=True):
        ticket_id = p.ticket_ids[0] if p.ticket_ids else ""
        mid = (
            make_message_id(ticket_id, row_id, domain)
            if ticket_id
            else make_notice_message_id(row_id, domain)
        )
        written.append(Written(row_id, mid))
        rows.append(
            {
                "id": row_id,
                "kind": p.kind,
                "audience": p.audience,
                "recipient": p.recipient.strip().lower(),
                "ticket_id": ticket_id,
                "ticket_ids": list(p.ticket_ids),
                "message_id": mid,
                "in_reply_to": p.in_reply_to,
                "parent_references": list(p.references)[-20:],
                "context": dict(p.context),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": p.not_before or (now if delay is None else now + delay),
                "coalesce_key": p.coalesce_key,
                "dedupe_key": p.dedupe_key,
                "created_at": now,
                "updated_at": now,
            }
        )
    db.execute(pg_insert(outbox).on_conflict_do_nothing(index_elements=["dedupe_key"]), rows)
    return written


def add_digest(
    db: Executor, planned: Planned, now: datetime, domain: str, delay: timedelta
) -> Written:
    """Queue ``planned`` after ``delay``, or fold it into the pending row with the same
    ``coalesce_key``: several replies within minutes are one mail (``context["replies"]``
    gathers them; the row keeps its first due time)."""
    assert planned.coalesce_key is not None
    pending = db.execute(
        select(outbox.c.id, outbox.c.message_id, outbox.c.context)
        .where(outbox.c.coalesce_key == planned.coalesce_key, outbox.c.status == "pending")
        .with_for_update()
    ).first()
    if pending is None:
        return add(db, [planned], now, domain, delay=delay)[0]
    context = dict(pending.context)
    context["replies"] = [*context.get("replies", []), *planned.context.get("replies", [])]
    db.execute(
        update(outbox).where(outbox.c.id == pending.id).values(context=context, updated_at=now)
    )
    return Written(int(pending.id), str(pending.message_id))


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One claimed row as delivery needs it: what to compose and what to record about it."""

    id: int
    kind: str
    audience: str
    recipient: str
    ticket_id: str
    message_id: str
    attempts: int
    outgoing: Outgoing


def _item(row: Row[Any]) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        kind=row.kind,
        audience=row.audience,
        recipient=row.recipient,
        ticket_id=row.ticket_id,
        message_id=row.message_id,
        attempts=row.attempts,
        outgoing=Outgoing(
            kind=row.kind,
            recipient=row.recipient,
            ticket_ids=tuple(row.ticket_ids),
            message_id=row.message_id,
            context=row.context,
            in_reply_to=row.in_reply_to,
            references=tuple(row.parent_references or ()),
        ),
    )


# The sorted subquery feeds the locks in key order (the outer projection follows its rows).
_LOCK_TENANTS = text(
    "SELECT pg_advisory_xact_lock(k) FROM"
    " (SELECT hashtext(r) AS k FROM unnest(CAST(:tenants AS text[])) AS r ORDER BY 1) AS s"
)


class DeliveryPass:
    """One delivery pass: one connection; rows are claimed a batch at a time, each batch in one
    transaction that holds the rows' locks while they are sent (no pool checkout and pre-ping
    per row: the round trips are most of a row's cost).

    The bound on re-sends after a crash: each outcome is written (``finish``) as soon as the
    server answered, but it is committed with its batch. A process killed between a ``250`` and
    its batch's commit leaves the whole batch pending: at most ``limit`` rows of ``claim_batch``
    are sent twice, each with its one Message-ID, so receivers can drop the copy. Never more:
    the rows of earlier batches are committed, the rows of later ones not yet sent.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @contextmanager
    def claim_batch(self, now: datetime, limit: int) -> Iterator[list[OutboxItem]]:
        """Lock up to ``limit`` due pending rows, oldest due first, until the block ends (other
        daemons skip them; rows left untouched stay pending); an empty list when nothing is due.
        ``finish``, ``sent_since`` and ``blobs`` inside the block run in its transaction, which
        commits when the block ends."""
        stmt = (
            select(outbox)
            .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now)
            .order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self._conn.begin():
            batch = [_item(row) for row in self._conn.execute(stmt)]
            self._lock_tenants(batch)
            yield batch

    def _lock_tenants(self, batch: Sequence[OutboxItem]) -> None:
        """Take the batch's per-tenant cap locks (see ``sent_since``) at once, in one global
        order: two workers whose batches share tenants then wait for each other instead of
        deadlocking."""
        tenants = sorted({r.recipient for r in batch if r.audience == "tenant"})
        if tenants:
            self._conn.execute(_LOCK_TENANTS, {"tenants": tenants})

    def sent_since(self, recipient: str, since: datetime, kind: str | None = None) -> int:
        """Tenant-bound mails to ``recipient`` (of ``kind``, or any) sent since ``since``. For a
        tenant of the claimed batch the count is taken under the per-tenant lock ``claim_batch``
        holds until the batch commits, so two daemons cannot both take the last slot of the
        cap."""
        stmt = (
            select(func.count())
            .select_from(outbox)
            .where(
                outbox.c.recipient == recipient,
                outbox.c.audience == "tenant",
                outbox.c.sent_at >= since,
            )
        )
        if kind is not None:
            stmt = stmt.where(outbox.c.kind == kind)
        return int(self._conn.execute(stmt).scalar_one())

    def blobs(self, sha256s: Sequence[str]) -> dict[str, bytes]:
        """Stored attachment bytes by content hash (the photos an assignment mail carries)."""
        if not sha256s:
            return {}
        stmt = select(attachment_blobs.c.sha256, attachment_blobs.c.content).where(
            attachment_blobs.c.sha256.in_(list(sha256s))
        )
        return {str(sha): bytes(content) for sha, content in self._conn.execute(stmt).all()}

    def finish(
        self,
        row_id: int,
        now: datetime,
        *,
        status: str,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
        attempted: bool = True,
    ) -> None:
        """Record one outcome: sent, dead, suppressed, or pending again with a next attempt."""
        values: dict[str, Any] = {"status": status, "updated_at": now, "last_error": error}
        if attempted:
            values["attempts"] = outbox.c.attempts + 1
        if status == "sent":
            values["sent_at"] = now
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        self._conn.execute(update(outbox).where(outbox.c.id == row_id).values(**values))


@contextmanager
def delivery_pass(db: Database) -> Iterator[DeliveryPass]:
    """A pass's connection, closed when the pass ends."""
    with connection(db) as conn:
        yield DeliveryPass(conn)


def listing(conn: Executor, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Rows for ``propdesk outbox``, newest first, as column -> value."""
    stmt = select(
        outbox.c.id,
        outbox.c.status,
        outbox.c.kind,
        outbox.c.audience,
        outbox.c.recipient,
        outbox.c.ticket_ids,
        outbox.c.message_id,
        outbox.c.attempts,
        outbox.c.next_attempt_at,
        outbox.c.created_at,
        outbox.c.sent_at,
        outbox.c.last_error,
    ).order_by(outbox.c.id.desc())
    if status is not None:
        stmt = stmt.where(outbox.c.status == status)
    return [dict(r) for r in conn.execute(stmt.limit(limit)).mappings()]


def counts(conn: Executor) -> dict[str, int]:
    """Rows per status."""
    rows = conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all()
    return {str(s): int(n) for s, n in rows}


def retry(conn: Executor, row_id: int, now: datetime) -> str | None:
    """Make a row pending and due now (attempts reset); returns its previous status.

    A ``sent`` row is left alone (re-sending it would be a duplicate the server already took).
    """
    before = conn.execute(
        select(outbox.c.status).where(outbox.c.id == row_id).with_for_update()
    ).scalar_one_or_none()
    if before is None or before == "sent":
        return None if before is None else str(before)
    conn.execute(
        update(outbox)
        .where(outbox.c.id == row_id)
        .values(status="pending", attempts=0, next_attempt_at=now, updated_at=now)
    )
    return str(before)


def mark_bounced(db: Executor, message_id: str, now: datetime, detail: str) -> int | None:
    """A recorded bounce named one of our Message-IDs: mark that row bounced; its id or None."""
    stmt = (
        update(outbox)
        .where(outbox.c.message_id == message_id.strip())
        .values(status="bounced", updated_at=now, last_error=detail[:1000])
        .returning(outbox.c.id)
    )
    found = db.execute(stmt).scalar_one_or_none()
    return None if found is None else int(found)


def backoff(attempts: int, base: float, cap: float) -> timedelta:
    """Exponential backoff for the ``attempts``-th failure: base, 2*base, 4*base ... up to cap."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))
