"""The ``maild`` command line: the operator's console.

Each command group lives in its own module; this one holds the root group and the options
every command shares (``-c/--config``, ``--log-level``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
