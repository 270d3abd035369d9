"""The database handles services hold, and what a database error means for them.

Services (ingest, the mailbox poller) own their transactions but never import SQLAlchemy: they
get these names from here, so the database technology stays inside ``store/``.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Engine", "Session", "Sessions", "is_outage", "ping", "sessions", "unique_conflict"]

#: Makes sessions; ``sessions.begin()`` is one transaction (commit on success, else rollback).
Sessions = sessionmaker[Session]


def sessions(engine: Engine) -> Sessions:
    """Sessions whose objects stay readable after commit (results are built from them)."""
    return sessionmaker(engine, expire_on_commit=False)


def unique_conflict(exc: BaseException) -> str | None:
    """For a violated unique key or constraint: its name ('' when the driver gives none).
    ``None`` when ``exc`` is no integrity error at all."""
    if not isinstance(exc, IntegrityError):
        return None
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    return str(name) if name else ""


def is_outage(exc: BaseException) -> bool:
    """A lost or refused database connection, no free connection in the pool within its timeout
    (``sqlalchemy.exc.TimeoutError``: the database is overloaded or connections leak), or a
    schema that does not match the code (a missing table or column: a deployment problem): not
    the message's fault, so the pass stops instead of quarantining every message.
    Content-driven errors (``DataError``) still quarantine."""
    if isinstance(exc, OperationalError | InterfaceError | ProgrammingError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def ping(engine: Engine) -> str | None:
    """``SELECT 1`` now: None when the database answers, else a one-line reason (no URL)."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:  # any failure is the answer, not a crash
        first = str(exc).splitlines()[0] if str(exc) else ""
        return f"{type(exc).__name__}: {first}"[:300]
    return None
