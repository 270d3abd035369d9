"""Outbox repository: write notification rows with an event, claim them for delivery, record
outcomes. Statements take a ``Session`` or ``Connection`` so the ingest hooks write into the
ingest transaction and the delivery service into its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, func, select, text, update
from sqlalchemy.orm import Session

from propdesk.mail.compose import make_message_id
from propdesk.notify.events import Planned
from propdesk.store.tables_outbox import outbox

Executor = Session | Connection


@dataclass(frozen=True)
class Written:
    """One stored outbox row: its id and Message-ID."""

    id: int
    message_id: str


def add(db: Executor, planned: Sequence[Planned], now: datetime, domain: str) -> list[Written]:
    """Insert the planned notifications as pending rows due now (in the caller's transaction)."""
    if not planned:
        return []
    ids = db.execute(
        text("SELECT nextval('outbox_id_seq') FROM generate_series(1, :n)"), {"n": len(planned)}
    ).scalars()
    rows: list[dict[str, Any]] = []
    written: list[Written] = []
    for row_id, p in zip(ids, planned, strict=True):
        mid = make_message_id(p.ticket_ids[0], row_id, domain)
        written.append(Written(row_id, mid))
        rows.append(
            {
                "id": row_id,
                "kind": p.kind,
                "audience": p.audience,
                "recipient": p.recipient.strip().lower(),
                "ticket_id": p.ticket_ids[0],
                "ticket_ids": list(p.ticket_ids),
                "message_id": mid,
                "in_reply_to": p.in_reply_to,
                "parent_references": list(p.references)[-20:],
                "context": dict(p.context),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
        )
    db.execute(outbox.insert(), rows)
    return written


def claim_one(conn: Connection, now: datetime) -> Row[Any] | None:
    """Lock the next due pending row; other daemons skip it until this transaction ends."""
    stmt = (
        select(outbox)
        .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now)
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return conn.execute(stmt).first()


def sent_since(conn: Connection, recipient: str, since: datetime) -> int:
    """Tenant-bound mails to ``recipient`` sent since ``since``, counted under a per-recipient
    transaction lock so two daemons cannot both take the last slot of the cap."""
    conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(recipient))))
    stmt = (
        select(func.count())
        .select_from(outbox)
        .where(
            outbox.c.recipient == recipient,
            outbox.c.audience == "tenant",
            outbox.c.sent_at >= since,
        )
    )
    return int(conn.execute(stmt).scalar_one())


def finish(
    conn: Connection,
    row_id: int,
    now: datetime,
    *,
    status: str,
    error: str | None = None,
    next_attempt_at: datetime | None = None,
    attempted: bool = True,
) -> None:
    """Record one outcome: sent, dead, suppressed, or pending again with a next attempt time."""
    values: dict[str, Any] = {"status": status, "updated_at": now, "last_error": error}
    if attempted:
        values["attempts"] = outbox.c.attempts + 1
    if status == "sent":
        values["sent_at"] = now
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    conn.execute(update(outbox).where(outbox.c.id == row_id).values(**values))


def listing(conn: Connection, status: str | None = None, limit: int = 200) -> Sequence[Any]:
    """Rows for ``propdesk outbox``, newest first."""
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
    return conn.execute(stmt.limit(limit)).all()


def counts(conn: Connection) -> dict[str, int]:
    """Rows per status."""
    rows = conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all()
    return {str(s): int(n) for s, n in rows}


def retry(conn: Connection, row_id: int, now: datetime) -> str | None:
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
