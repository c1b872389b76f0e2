"""The configured database's engine: one place that turns ``[database]`` into an engine,
for the daemon's runtime and the console alike (light to import: no daemon module)."""

from __future__ import annotations

from sqlalchemy import Engine

from maild.config import Config
from maild.webhooks.queue import webhook_options
from storage.engine import DatabaseSettings, create_database_engine


def open_engine(config: Config) -> Engine:
    """The engine of ``[database]``, carrying the configured ``[[webhooks]]`` to every
    connection, so that ticket changes made through it queue their deliveries
    (``maild.webhooks.queue``)."""
    return create_database_engine(
        DatabaseSettings(
            url=config.database_url,
            busy_timeout=config.database.busy_timeout,
            synchronous=config.database.synchronous,
            execution_options=webhook_options(config),
        )
    )
