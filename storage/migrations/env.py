"""Alembic environment: runs against the engine maild hands in (see storage.schema)."""

from alembic import context

from storage.models import Base
from storage.search import is_search_table

target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        driver = connection.connection.driver_connection
        if sqlite:
            # A batch migration rebuilds a table as a copy and drops the original; with
            # foreign keys on, that drop would cascade-delete every row that refers to it
            # (every message of every ticket). The pragma only works outside a
            # transaction: before the first statement.
            driver.execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=sqlite,
                # The search table is raw DDL, not a model: autogenerate leaves it alone.
                include_name=lambda name, kind, _: not is_search_table(name),
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            if sqlite:
                driver.execute("PRAGMA foreign_keys=ON")


run_migrations_online()
