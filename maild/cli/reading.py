"""Read-only database access for the CLI's listing commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from maild.config import Config
from maild.runtime import open_engine
from storage.engine import session_factory
from storage.schema import SchemaError, ensure_current


@contextmanager
def read_session(config: Config) -> Iterator[Session]:
    engine = open_engine(config)
    try:
        try:
            ensure_current(engine, create_if_empty=True)
        except SchemaError as error:
            raise click.ClickException(str(error)) from None
        with session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()
