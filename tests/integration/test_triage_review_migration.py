"""Revision 0009_triage_review fills the new columns from what older tickets carry in their
metadata JSON: a ticket triage was unsure of stays on ``tickets list --needs-review``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, insert, select

from propdesk.config import DatabaseConfig
from propdesk.store import migrate as migrations
from propdesk.store.engine import make_engine
from propdesk.store.tickets import TICKETS, ticket_values
from tests.stack import create_database, drop_database
from tests.unit.helpers_core import make_ticket

pytestmark = pytest.mark.integration

NEW_COLUMNS = ("triage_confidence", "needs_review", "review_reasons")


@pytest.fixture
def before_0009(pg_server: tuple[str, int]) -> Iterator[Engine]:
    cfg: DatabaseConfig = create_database(*pg_server, migrate=False)
    engine = make_engine(cfg, pooled=False)
    try:
        migrations.upgrade(engine, "0008_incidents")
        yield engine
    finally:
        engine.dispose()
        drop_database(*pg_server, cfg.name)


def _old_row(ticket_id: str, **meta: object) -> dict[str, object]:
    values = ticket_values(make_ticket(ticket_id=ticket_id), (None, None))
    for column in NEW_COLUMNS:
        values.pop(column)
    values["metadata"] = {**values.pop("metadata_"), **meta}  # type: ignore[dict-item]
    return values


def test_old_tickets_keep_their_doubt(before_0009: Engine) -> None:
    with before_0009.begin() as conn:
        conn.execute(
            insert(TICKETS),  # only the columns 0008 has: the rows name no new one
            [
                _old_row("TKT-0000000A", triage_confidence=0.41, unsure=["category", "urgency"]),
                _old_row("TKT-0000000B", triage_confidence=0.99, unsure=[]),
                _old_row("TKT-0000000C"),  # decided by the rules alone: no triage keys at all
            ],
        )
    migrations.upgrade(before_0009)
    with before_0009.connect() as conn:
        got = {
            r.ticket_id: (r.triage_confidence, r.needs_review, list(r.review_reasons))
            for r in conn.execute(select(TICKETS))
        }
    assert got == {
        "TKT-0000000A": (0.41, True, ["category", "urgency"]),
        "TKT-0000000B": (0.99, False, []),
        "TKT-0000000C": (None, False, []),
    }
