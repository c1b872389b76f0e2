"""Schema versions through Alembic: upgrade, and tell an old schema from a current one."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class SchemaState(Enum):
    EMPTY = "empty"
    CURRENT = "current"
    BEHIND = "behind"
    UNKNOWN = "unknown"  # tables without a version, or a version this code does not know


class SchemaError(Exception):
    """The database schema does not match this version of maild."""


def alembic_config(engine: Engine) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config_for_scripts())
    head = script.get_current_head()
    assert head is not None
    return head


def alembic_config_for_scripts() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_state(engine: Engine) -> SchemaState:
    revision = current_revision(engine)
    if revision is None:
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        return SchemaState.UNKNOWN if tables else SchemaState.EMPTY
    if revision == head_revision():
        return SchemaState.CURRENT
    script = ScriptDirectory.from_config(alembic_config_for_scripts())
    known = {rev.revision for rev in script.walk_revisions()}
    return SchemaState.BEHIND if revision in known else SchemaState.UNKNOWN


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (``maild db upgrade``)."""
    command.upgrade(alembic_config(engine), "head")


def ensure_current(engine: Engine, *, create_if_empty: bool = True) -> None:
    """Upgrade an empty database; refuse an old or foreign one with a clear message."""
    state = schema_state(engine)
    if state is SchemaState.CURRENT:
        return
    if state is SchemaState.EMPTY and create_if_empty:
        upgrade(engine)
        return
    if state is SchemaState.BEHIND:
        raise SchemaError(
            f"the database schema is at revision {current_revision(engine)}, this maild needs "
            f"{head_revision()}: run 'maild db upgrade' first"
        )
    raise SchemaError(
        "the database holds tables maild does not recognise (no or an unknown schema "
        "version); point [database] url at maild's own database"
    )
