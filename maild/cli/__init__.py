"""The ``maild`` command line: the operator's console.

Each command group lives in its own module; this one holds the root group and the options
every command shares (``-c/--config``, ``--log-level``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy.exc import DBAPIError

from maild import __version__
from maild.cli.agents import agents
from maild.cli.context import CliContext
from maild.cli.db import db
from maild.cli.imap import imap
from maild.cli.importer import import_mail
from maild.cli.mail import ingest, parse
from maild.cli.outbox import outbox
from maild.cli.participants import participants
from maild.cli.quarantine import quarantine
from maild.cli.rules import rules
from maild.cli.serve import check, serve
from maild.cli.sla import sla
from maild.cli.tickets import tickets
from storage.engine import DatabaseReadOnly, is_read_only, read_only_error


class MaildGroup(click.Group):
    """The root group. A database that refuses writes ends any command that writes with one
    line on stderr naming the database and the reason, not a traceback: it is the
    operator's to fix (permissions, a read-only mount or server), nothing in maild broke."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DatabaseReadOnly as error:
            _fail(ctx, str(error))
        except DBAPIError as error:
            if not is_read_only(error):
                raise
            _fail(ctx, str(read_only_error(_database_url(ctx), error)))


def _database_url(ctx: click.Context) -> str | None:
    context = ctx.find_object(CliContext)
    try:
        return context.config().database_url if context else None
    except click.ClickException:
        return None


def _fail(ctx: click.Context, message: str) -> NoReturn:
    click.echo(f"maild: {message}", err=True)
    ctx.exit(1)


@click.group(cls=MaildGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML configuration file (default: $MAILD_CONFIG, then ./config.toml).",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="Overrides [maild] log_level.",
)
@click.version_option(__version__, prog_name="maild")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, log_level: str | None) -> None:
    """maild: an email-first helpdesk daemon."""
    ctx.obj = CliContext(config_path, log_level)


for command in (
    serve,
    check,
    parse,
    ingest,
    import_mail,
    tickets,
    quarantine,
    outbox,
    participants,
    rules,
    agents,
    imap,
    db,
    sla,
):
    cli.add_command(command)


def main() -> None:
    sys.exit(cli.main(standalone_mode=True))
