"""``maild db``: schema migrations."""

from __future__ import annotations

import click

from maild.cli.context import CliContext, config_option, pass_cli
from maild.cli.reading import missing_database_file, open_engine
from storage.schema import current_revision, head_revision, schema_state, upgrade


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@config_option
@pass_cli
def db_upgrade(cli: CliContext) -> None:
    """Apply every pending migration."""
    engine = open_engine(cli.config())
    try:
        upgrade(engine)
        click.echo(f"database at revision {current_revision(engine)}")
    finally:
        engine.dispose()


@db.command("status")
@config_option
@pass_cli
def db_status(cli: CliContext) -> None:
    """Show the schema revision and whether it is current."""
    missing = missing_database_file(cli.config())
    if missing is not None:
        click.echo(f"no database at {missing} ('maild db upgrade' creates it)")
        return
    engine = open_engine(cli.config())
    try:
        state = schema_state(engine)
        click.echo(
            f"revision {current_revision(engine) or '-'} (code needs {head_revision()}): "
            f"{state.value}"
        )
    finally:
        engine.dispose()
