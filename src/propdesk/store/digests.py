"""Outbox rows for periodic mail (the weekly report digest): one per period and recipient.

The row's ``dedupe_key`` is unique (revision 0004_report_indexes), and the insert says ``ON
CONFLICT DO NOTHING``: when two daemons both find this week's digest due, one row is written
and the other insert is a no-op. Delivery is the outbox's, like every other mail.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from propdesk.store.db import Database, connection
from propdesk.store.tables_outbox import outbox


def missing_keys(db: Database, keys: Sequence[str]) -> list[str]:
    """Which of ``keys`` have no outbox row yet (the digests still to queue)."""
    if not keys:
        return []
    with connection(db) as conn:
        found = set(
            conn.execute(select(outbox.c.dedupe_key).where(outbox.c.dedupe_key.in_(keys))).scalars()
        )
    return [k for k in keys if k not in found]


def queue(
    db: Database,
    rows: Sequence[tuple[str, str]],
    *,
    kind: str,
    context: dict[str, Any],
    now: datetime,
    domain: str,
    tag: str,
) -> list[str]:
    """Insert one pending staff mail per (dedupe key, recipient); returns the keys this call
    wrote (a key another daemon wrote first is skipped). ``tag`` goes into the Message-ID."""
    written: list[str] = []
    with connection(db) as conn, conn.begin():
        for key, recipient in rows:
            row_id = conn.execute(text("SELECT nextval('outbox_id_seq')")).scalar_one()
            stmt = (
                insert(outbox)
                .values(
                    id=row_id,
                    kind=kind,
                    audience="staff",
                    recipient=recipient.strip().lower(),
                    ticket_id="",
                    ticket_ids=[],
                    message_id=f"<propdesk.{tag}.{row_id}@{domain}>",
                    context=context,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                    updated_at=now,
                    dedupe_key=key,
                )
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
                .returning(outbox.c.id)
            )
            if conn.execute(stmt).scalar_one_or_none() is not None:
                written.append(key)
    return written
