"""The start-up schema check reads the same revision as Alembic, without importing it."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, create_engine, text

from propdesk.store import migrate, schema_version

pytestmark = pytest.mark.integration


def test_current_revision_is_alembics(db_engine: Engine) -> None:
    current = schema_version.current_revision(db_engine)
    assert current == migrate.current_revision(db_engine) == schema_version.head_revision()


def test_a_database_never_migrated_has_no_revision(db_engine: Engine) -> None:
    with db_engine.connect() as conn:
        conn.execute(text("CREATE SCHEMA IF NOT EXISTS never_migrated"))
        conn.commit()
    empty = create_engine(
        db_engine.url, connect_args={"options": "-csearch_path=never_migrated"}, poolclass=None
    )
    try:
        assert schema_version.current_revision(empty) is None
        assert migrate.current_revision(empty) is None
    finally:
        empty.dispose()
        with db_engine.connect() as conn:
            conn.execute(text("DROP SCHEMA never_migrated"))
            conn.commit()
