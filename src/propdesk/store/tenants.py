"""Tenant directory repository: the import (all or nothing), look-ups by address and by unit.

Every function takes the caller's ``Session`` or ``Connection`` (``Executor``): the import runs
in the CLI's one transaction, the look-ups in the ingest transaction of the message they serve.
Rows map to the core's ``TenantRecord`` here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from propdesk.core.derive import unit_id
from propdesk.core.tenants import CSV_COLUMNS, TenantRecord, normalise_email
from propdesk.store.db import Executor
from propdesk.store.repository import clean_text
from propdesk.store.tables_tenants import TenantRow

TENANTS = cast(Table, TenantRow.__table__)


def _record(row: Any) -> TenantRecord:
    return TenantRecord(
        email=row.email,
        name=row.name,
        unit=row.unit,
        building=row.building,
        property=row.property,
        phone=row.phone,
    )


@dataclass(frozen=True, slots=True)
class ImportCounts:
    """What an import did: rows new to the directory, rows changed, rows already as given."""

    added: int
    updated: int
    unchanged: int


#: Rows per statement: PostgreSQL takes at most 65,535 parameters in one (7 columns a row).
_BATCH = 2000


def upsert(db: Executor, records: Sequence[TenantRecord], now: datetime) -> ImportCounts:
    """Insert or update ``records`` by address in the caller's transaction (idempotent: a record
    already as given is left alone, its ``updated_at`` too). Any size: written in batches, all
    in the caller's one transaction."""
    added = updated = 0
    for start in range(0, len(records), _BATCH):
        batch = records[start : start + _BATCH]
        emails = [r.email for r in batch]
        before = {
            r.email: _record(r)
            for r in db.execute(select(TENANTS).where(TENANTS.c.email.in_(emails))).all()
        }
        changed = [r for r in batch if before.get(r.email) != r]
        if changed:
            values = [
                {**{c: clean_text(getattr(r, c)) for c in CSV_COLUMNS}, "updated_at": now}
                for r in changed
            ]
            stmt = pg_insert(TENANTS).values(values)
            stmt = stmt.on_conflict_do_update(
                index_elements=["email"],
                set_={c: stmt.excluded[c] for c in (*CSV_COLUMNS, "updated_at") if c != "email"},
            )
            db.execute(stmt)
        new = sum(1 for r in changed if r.email not in before)
        added += new
        updated += len(changed) - new
    return ImportCounts(added, updated, len(records) - added - updated)


def find_by_email(db: Executor, email: str) -> TenantRecord | None:
    """The directory's entry for ``email`` (any case), or None."""
    row = db.execute(select(TENANTS).where(TENANTS.c.email == normalise_email(email))).first()
    return None if row is None else _record(row)


def co_tenants(
    db: Executor, unit: str, building: str = "", property: str = ""
) -> list[TenantRecord]:
    """Everyone the directory lists in one unit ("4C" or "Unit 4C", e.g. a ticket's
    ``unit_number``). ``building`` and ``property`` (e.g. the ticket's) narrow it down,
    case-insensitively; an entry that names no building or property matches any, and empty
    arguments match every entry of the unit."""
    bare = unit_id(unit)
    if bare is None:
        return []
    stmt = select(TENANTS).where(TENANTS.c.unit == bare)
    for column, value in ((TENANTS.c.building, building), (TENANTS.c.property, property)):
        if value.strip():
            stmt = stmt.where(or_(column == "", func.upper(column) == value.strip().upper()))
    return [_record(r) for r in db.execute(stmt.order_by(TENANTS.c.email)).all()]


def listing(db: Executor) -> list[TenantRecord]:
    """The whole directory, by property, building, unit, address."""
    stmt = select(TENANTS).order_by(
        TENANTS.c.property, TENANTS.c.building, TENANTS.c.unit, TENANTS.c.email
    )
    return [_record(r) for r in db.execute(stmt).all()]
