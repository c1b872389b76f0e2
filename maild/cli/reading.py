"""Database access for the console's commands: an engine from the configuration, and a
read session in which a view runs (the views themselves are in ``storage/console.py``).

Built from ``storage.engine`` directly rather than ``maild.runtime``: the runtime imports the
whole daemon (pipeline, outbox worker, templates), which a view never uses.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from maild.database import open_engine
from storage.engine import session_factory

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from maild.config import Config

T = TypeVar("T")


def read_view(config: Config, view: Callable[[Session], T]) -> T:
    """``view(session)`` on the configured database, in a session that writes nothing.

    The schema is checked only when the view fails: telling a current schema from an old
    one takes Alembic, whose import costs more than the query a console command runs. A
    view that succeeds read only what it needed, whatever the revision. When it fails, a
    database without tables gets maild's schema and the view runs again (an empty helpdesk);
    an old or foreign schema ends the command with what to do, as ``serve`` would. A
    database file that does not exist is not created: looking must not leave a database
    (and its folder) behind, say in whatever folder the command ran in.
    """
    missing = missing_database_file(config)
    if missing is not None:
        raise click.ClickException(
            f"no database at {missing}: 'maild serve' or 'maild db upgrade' creates it "
            "(or name the configuration with -c FILE)"
        )
    engine = open_engine(config)
    try:
        try:
            with session_factory(engine)() as session:
                return view(session)
        except (OperationalError, ProgrammingError):
            _ensure_schema(engine)  # explains an old or foreign schema; creates a missing one
            with session_factory(engine)() as session:
                return view(session)
    finally:
        engine.dispose()


def missing_database_file(config: Config) -> Path | None:
    """The SQLite file the configuration names, when it does not exist (yet)."""
    url = make_url(config.database_url)
    name = url.database or ""
    if url.get_backend_name() != "sqlite" or name in ("", ":memory:") or name.startswith("file:"):
        return None
    path = Path(name)
    return None if path.exists() else path


def _ensure_schema(engine: Engine) -> None:
    from storage.schema import SchemaError, ensure_current

    try:
        ensure_current(engine, create_if_empty=True)
    except SchemaError as error:
        raise click.ClickException(str(error)) from None
