"""PostgreSQL advisory locks: one daemon per mailbox, one delivery per Message-ID at a time."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session


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


def xact_locks(session: Session, keys: Iterable[tuple[str, str]]) -> None:
    """Several transaction-scoped advisory locks in ONE statement (a batch's), taken in key
    order, so two batches that share keys wait for each other instead of deadlocking."""
    ordered = sorted({lock_key(namespace, name) for namespace, name in keys})
    if ordered:
        session.execute(
            text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k"),
            {"keys": ordered},
        ).all()


def try_xact_lock(session: Session, namespace: str, name: str) -> bool:
    """Try a transaction-scoped advisory lock; False when another transaction holds it."""
    key = lock_key(namespace, name)
    return bool(session.execute(select(func.pg_try_advisory_xact_lock(key))).scalar_one())
