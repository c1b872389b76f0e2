"""The configured database's engine: one place that turns ``[database]`` into an engine,
for the daemon's runtime and the console alike (light to import: no daemon module)."""

from __future__ import annotations

from sqlalchemy import Engine

from maild.config import Config
from storage.engine import DatabaseSettings, create_database_engine


def open_engine(config: Config) -> Engine:
    return create_database_engine(
        DatabaseSettings(
            url=config.database_url,
            busy_timeout=config.database.busy_timeout,
            synchronous=config.database.synchronous,
        )
    )
