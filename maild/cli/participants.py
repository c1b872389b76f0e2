"""``maild participants``: addresses maild no longer writes to because their mail bounced."""

from __future__ import annotations

import click

from maild.cli.context import CliContext, config_option, pass_cli
from maild.cli.output import echo_json, print_table
from maild.cli.reading import open_engine, read_view
from storage.console import bouncing_addresses, clear_bouncing
from storage.engine import session_factory, writer_engine


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@config_option
@click.pass_context
def participants(ctx: click.Context, as_json: bool) -> None:
    """List bouncing addresses (with the tickets they are on)."""
    if ctx.invoked_subcommand is not None:
        return
    cli: CliContext = ctx.find_object(CliContext)
    rows = read_view(cli.config(), bouncing_addresses)
    listing = [
        {"address": row.address, "tickets": row.tickets, "latest_ticket": row.latest_ticket}
        for row in rows
    ]
    if as_json:
        echo_json(listing)
        return
    print_table(
        "Bouncing addresses",
        ["address", "tickets", "latest ticket"],
        [[r["address"], r["tickets"], r["latest_ticket"]] for r in listing],
    )


@participants.command("clear")
@click.argument("address")
@config_option
@pass_cli
def clear(cli: CliContext, address: str) -> None:
    """Let maild write to ADDRESS again (after the mailbox was fixed)."""
    engine = open_engine(cli.config())
    try:
        with session_factory(writer_engine(engine))() as session, session.begin():
            cleared = clear_bouncing(session, address)
    finally:
        engine.dispose()
    if not cleared:
        raise click.ClickException(f"{address} is not marked bouncing")
    click.echo(f"{address}: cleared on {cleared} ticket(s)")
