"""Alembic environment: runs against the engine maild hands in (see storage.schema)."""

from alembic import context

from storage.models import Base
from storage.search import is_search_table

target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            # The search table is raw DDL, not a model: autogenerate leaves it alone.
            include_name=lambda name, kind, _: not is_search_table(name),
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
