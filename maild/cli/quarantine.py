"""``maild quarantine list|show|retry``: messages the pipeline could not process."""

from __future__ import annotations

import click
from sqlalchemy import exc as sa_exc

from maild.cli.context import CliContext, config_option, pass_cli
from maild.cli.output import echo_json, iso, print_table
from maild.cli.reading import read_session
from maild.pipeline.delivery import Delivery, Outcome
from maild.pipeline.errors import TemporaryFailure
from maild.runtime import Runtime
from storage.models import QuarantinedMessage, QuarantineStatus
from storage.queries import quarantined


def _summary(row: QuarantinedMessage) -> dict[str, object]:
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
    with read_session(cli.config()) as session:
        rows = [
            _summary(r) for r in quarantined(session, None if show_all else QuarantineStatus.HELD)
        ]
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
    with read_session(cli.config()) as session:
        row = session.get(QuarantinedMessage, ident)
        if row is None:
            raise click.ClickException(f"no quarantined message {ident}")
        if raw:
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
    config = cli.config()
    with read_session(config) as session:
        row = session.get(QuarantinedMessage, ident)
        if row is None or row.status != QuarantineStatus.HELD:
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
