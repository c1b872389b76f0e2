"""The ``maild`` command line: the operator's console.

Each command group lives in its own module; this one holds the root group and the options
every command shares (``-c/--config``, ``--log-level``). The root group imports a command's
module only when that command runs (or ``--help`` lists it): ``maild parse`` must not pay for
the daemon (aiosmtpd, the scheduler, the pipeline) it never starts.

May import: click and ``maild.cli.context`` at module level; everything else on demand.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from maild import __version__
from maild.cli.context import CliContext

# name → (module under maild.cli, attribute). ``--help`` lists them by name, as click does.
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("serve", "serve"),
    "check": ("serve", "check"),
    "parse": ("mail", "parse"),
    "ingest": ("mail", "ingest"),
    "import": ("importer", "import_mail"),
    "tickets": ("tickets", "tickets"),
    "attachments": ("attachments", "attachments"),
    "quarantine": ("quarantine", "quarantine"),
    "outbox": ("outbox", "outbox"),
    "participants": ("participants", "participants"),
    "rules": ("rules", "rules"),
    "agents": ("agents", "agents"),
    "imap": ("imap", "imap"),
    "db": ("db", "db"),
    "sla": ("sla", "sla"),
    "report": ("report", "report"),
    "kb": ("kb", "kb"),
    "webhooks": ("webhooks", "webhooks"),
}


class MaildGroup(click.Group):
    """The root group: sub-commands are imported when they are asked for.

    A database that refuses writes ends any command that writes with one line on stderr
    naming the database and the reason, not a traceback: it is the operator's to fix
    (permissions, a read-only mount or server), nothing in maild broke."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(f"maild.cli.{module_name}"), attribute)
        if not isinstance(command, click.Command):  # pragma: no cover - a wrong table entry
            raise TypeError(f"maild.cli.{module_name}.{attribute} is not a click command")
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as error:
            message = _read_only_message(ctx, error)
            if message is None:
                raise
            _fail(ctx, message)


def _read_only_message(ctx: click.Context, error: Exception) -> str | None:
    """The one line for a database that refuses writes, or None for any other error.

    Imported here, not at the top: a command that never touched the database has not paid
    for SQLAlchemy, and an error of that kind means it is loaded already."""
    if "sqlalchemy" not in sys.modules:
        return None
    from sqlalchemy.exc import DBAPIError

    from storage.engine import DatabaseReadOnly, is_read_only, read_only_error

    if isinstance(error, DatabaseReadOnly):
        return str(error)
    if isinstance(error, DBAPIError) and is_read_only(error):
        return str(read_only_error(_database_url(ctx), error))
    return None


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


def main() -> None:
    sys.exit(cli.main(standalone_mode=True))
