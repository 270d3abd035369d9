"""Handles the services hold on the database, and their transactions, as store types.

Services (escalation, status change, delivery) and the CLI keep a ``Database`` and pass it, or
an ``Executor`` open on it, to the repositories of this package: they never import SQLAlchemy
themselves, so every statement and every row mapping stays in ``propdesk.store``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

#: What ``propdesk.app`` hands a service: the engine, or a sessionmaker bound to one.
Database = Engine | sessionmaker[Session]
#: What a repository function runs its statements on: the caller's session or connection
#: (ingest hooks write into the ingest transaction, a service into its own).
Executor = Session | Connection


def engine_of(db: Database) -> Engine:
    """The engine behind ``db`` (a sessionmaker must be bound to an engine)."""
    engine = db.kw["bind"] if isinstance(db, sessionmaker) else db
    if not isinstance(engine, Engine):
        raise TypeError("a store handle needs an Engine or a sessionmaker bound to one")
    return engine


@contextmanager
def transaction(db: Database) -> Iterator[Session]:
    """One ORM session in one transaction: committed on success, rolled back on an error."""
    made = db if isinstance(db, sessionmaker) else sessionmaker(db, expire_on_commit=False)
    with made.begin() as session:
        yield session


@contextmanager
def reading(db: Database) -> Iterator[Session]:
    """A session for reads only (the CLI's listings); nothing is committed."""
    made = db if isinstance(db, sessionmaker) else sessionmaker(db, expire_on_commit=False)
    with made() as session:
        yield session


@contextmanager
def connection(db: Database) -> Iterator[Connection]:
    """One plain connection (no ORM) for many short transactions, e.g. one per outbox row."""
    with engine_of(db).connect() as conn:
        yield conn
