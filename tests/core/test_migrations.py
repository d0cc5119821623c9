"""The migrations build exactly the schema that ``core/schema.py`` declares, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from clew.core import migrate
from clew.core.db import Database
from clew.core.schema import metadata


def test_migrated_database_matches_declared_schema(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_upgrade_is_idempotent(db: Database) -> None:
    assert migrate.upgrade(db) is False
    with db.engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()
