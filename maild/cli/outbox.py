"""``maild outbox``: outgoing mail waiting to be sent and mail given up on; ``maild outbox
retry`` sends mail given up on again."""

from __future__ import annotations

import click

from maild.cli.context import CliContext, config_option, pass_cli
from maild.cli.output import echo_json, iso, print_table
from maild.cli.reading import read_view
from storage.console import outbox_lines
from storage.models import OutboxStatus


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@config_option
@pass_cli
@click.pass_context
def outbox(context: click.Context, cli: CliContext, as_json: bool) -> None:
    """Pending and dead outgoing messages."""
    if context.invoked_subcommand is not None:
        return
    rows = [
        {
            "id": row.id,
            "ticket": row.ticket_number,
            "kind": row.kind,
            "status": str(row.status),
            "recipients": list(row.recipients),
            "attempts": row.attempts,
            "next_attempt_at": iso(row.next_attempt_at),
            "last_error": row.last_error,
        }
        for row in read_view(cli.config(), outbox_lines)
    ]
    if as_json:
        echo_json(rows)
        return
    print_table(
        "Outbox",
        ["id", "ticket", "kind", "status", "to", "attempts", "next attempt", "last error"],
        [
            [
                r["id"],
                r["ticket"],
                r["kind"],
                r["status"],
                ", ".join(r["recipients"]),
                r["attempts"],
                r["next_attempt_at"] if r["status"] == "pending" else "",
                r["last_error"],
            ]
            for r in rows
        ],
    )


@outbox.command("retry")
@click.argument("ids", type=int, nargs=-1)
@click.option("--dead", "all_dead", is_flag=True, help="Every message given up on.")
@config_option
@pass_cli
def retry(cli: CliContext, ids: tuple[int, ...], all_dead: bool) -> None:
    """Send dead messages IDS (or --dead: all of them) again: due at once, with a new
    [outbound] max_lifetime. 'maild serve' sends them."""
    from datetime import UTC, datetime

    from maild.database import open_engine
    from storage.engine import writer_engine
    from storage.outbox_retry import retry_dead, retry_messages

    if bool(ids) == all_dead:
        raise click.UsageError("give message ids or --dead (not both)")
    engine = open_engine(cli.config())
    try:
        with writer_engine(engine).begin() as connection:
            now = datetime.now(UTC)
            if all_dead:
                retried = retry_dead(connection, now)
                found = dict.fromkeys(retried, OutboxStatus.DEAD)
            else:
                found = retry_messages(connection, ids, now)
    finally:
        engine.dispose()
    problems = []
    for ident in ids:
        status = found.get(ident)
        if status is None:
            problems.append(f"no outbox message {ident}")
        elif status is not OutboxStatus.DEAD:
            problems.append(f"outbox message {ident} is {status}, not dead: left alone")
    retried_ids = [ident for ident, status in found.items() if status is OutboxStatus.DEAD]
    if retried_ids:
        shown = ", ".join(f"#{ident}" for ident in sorted(retried_ids))
        click.echo(f"outbox {shown}: due now; 'maild serve' sends it")
    elif all_dead:
        click.echo("no dead messages in the outbox")
    if problems:
        raise click.ClickException("; ".join(problems))
