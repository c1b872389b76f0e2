"""``maild quarantine list|show|retry``: messages the pipeline could not process."""

from __future__ import annotations

from typing import Any

import click

from maild.cli.context import CliContext, config_option, pass_cli
from maild.cli.output import echo_json, iso, print_table
from maild.cli.reading import read_view
from storage import console
from storage.console import QuarantineLine
from storage.models import QuarantineStatus


def _summary(row: QuarantineLine) -> dict[str, Any]:
    return {
        "id": row.id,
        "received_at": iso(row.received_at),
        "source": row.source,
        "mail_from": row.mail_from,
        "mailbox": row.mailbox,
        "status": str(row.status),
        "error": row.error,
    }


@click.group()
def quarantine() -> None:
    """Messages held because they could not be processed."""


@quarantine.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include released messages.")
@click.option("--json", "as_json", is_flag=True)
@config_option
@pass_cli
def list_quarantine(cli: CliContext, show_all: bool, as_json: bool) -> None:
    wanted = None if show_all else QuarantineStatus.HELD
    lines = read_view(cli.config(), lambda session: console.quarantine_lines(session, wanted))
    rows = [_summary(line) for line in lines]
    if as_json:
        echo_json(rows)
        return
    print_table(
        "Quarantine",
        ["id", "received", "source", "from", "mailbox", "status", "error"],
        [
            [
                r["id"],
                r["received_at"],
                r["source"],
                r["mail_from"],
                r["mailbox"],
                r["status"],
                r["error"],
            ]
            for r in rows
        ],
    )


@quarantine.command("show")
@click.argument("ident", type=int)
@click.option("--raw", is_flag=True, help="Print the raw message only.")
@config_option
@pass_cli
def show_quarantine(cli: CliContext, ident: int, raw: bool) -> None:
    row = read_view(
        cli.config(), lambda session: console.quarantine_line(session, ident, with_raw=raw)
    )
    if row is None:
        raise click.ClickException(f"no quarantined message {ident}")
    if row.raw is not None:
        click.echo(row.raw.decode("utf-8", "replace"), nl=False)
        return
    for key, value in _summary(row).items():
        click.echo(f"{key:>12}: {value}")
    click.echo(f"{'recipients':>12}: {', '.join(row.recipients)}")
    if row.detail:
        click.echo("\n" + row.detail)


@quarantine.command("retry")
@click.argument("ident", type=int)
@config_option
@pass_cli
def retry_quarantine(cli: CliContext, ident: int) -> None:
    """Run a held message through the pipeline again (after a fix)."""
    from sqlalchemy import exc as sa_exc

    from maild.pipeline.delivery import Delivery, Outcome
    from maild.pipeline.errors import TemporaryFailure
    from maild.runtime import Runtime

    config = cli.config()
    row = read_view(config, lambda session: console.quarantine_line(session, ident, with_raw=True))
    if row is None or row.raw is None or row.status is not QuarantineStatus.HELD:
        raise click.ClickException(f"no held message {ident}")
    delivery = Delivery(row.raw, row.mail_from, (row.mailbox,), row.source)
    try:
        with Runtime.open(config) as runtime:
            futures = runtime.intake.submit_per_mailbox(delivery, quarantine_id=ident)
            result = next(iter(futures.values())).result()
    except (TemporaryFailure, sa_exc.OperationalError) as error:
        raise click.ClickException(f"temporary failure, try again: {error}") from None
    if result.outcome is Outcome.QUARANTINED:
        raise click.ClickException(f"message {ident} is still held")
    click.echo(f"message {ident}: {result.outcome} (ticket #{result.ticket_number})")
