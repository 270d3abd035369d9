"""Alembic environment: the engine is handed in by ``propdesk.store.migrate``."""

from __future__ import annotations

import importlib
import pkgutil

from alembic import context
from sqlalchemy import Engine

import propdesk.store
from propdesk.store.base import Base

# Import every table module so autogenerate sees the whole schema.
for _mod in pkgutil.iter_modules(propdesk.store.__path__):
    if _mod.name.startswith("tables"):
        importlib.import_module(f"propdesk.store.{_mod.name}")

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through `propdesk migrate` (it supplies the engine)")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
