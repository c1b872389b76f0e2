"""Schema versions: an empty database is created, an old one is refused with advice."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from storage.engine import DatabaseSettings, create_database_engine
from storage.schema import SchemaError, SchemaState, ensure_current, schema_state


def test_empty_database_is_upgraded(database_url: str) -> None:
    engine = create_database_engine(DatabaseSettings(database_url))
    assert schema_state(engine) is SchemaState.EMPTY
    ensure_current(engine)
    assert schema_state(engine) is SchemaState.CURRENT
    engine.dispose()


def test_database_behind_is_refused_naming_db_upgrade(database_url: str) -> None:
    engine = create_database_engine(DatabaseSettings(database_url))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('0000')"))
    state = schema_state(engine)
    assert state in (SchemaState.BEHIND, SchemaState.UNKNOWN)
    with pytest.raises(SchemaError):
        ensure_current(engine)
    engine.dispose()


def test_known_old_revision_names_the_upgrade_command(database_url: str, monkeypatch) -> None:
    engine = create_database_engine(DatabaseSettings(database_url))
    ensure_current(engine)
    import storage.schema as schema

    monkeypatch.setattr(schema, "head_revision", lambda: "9999")
    with pytest.raises(SchemaError, match="maild db upgrade"):
        schema.ensure_current(engine)
    engine.dispose()


def test_sqlite_is_wal_with_full_sync(sqlite_url: str) -> None:
    engine = create_database_engine(DatabaseSettings(sqlite_url))
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2
    engine.dispose()


def test_migrations_build_the_schema_the_models_describe(database_url: str) -> None:
    """A model changed without a migration (or the reverse) shows up here, not in production."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.models import Base
    from storage.search import is_search_table

    engine = create_database_engine(DatabaseSettings(database_url))
    ensure_current(engine)
    with engine.connect() as connection:
        # The search table is raw DDL (an FTS5 virtual table has no model): left out.
        context = MigrationContext.configure(
            connection,
            opts={"include_name": lambda name, kind, _: not is_search_table(name)},
        )
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []
