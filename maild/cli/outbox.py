"""``maild outbox``: outgoing mail waiting to be sent, and mail given up on."""

from __future__ import annotations

import click

from maild.cli.context import CliContext, config_option, pass_cli
from maild.cli.output import echo_json, iso, print_table
from maild.cli.reading import read_view
from storage.console import outbox_lines


@click.command()
@click.option("--json", "as_json", is_flag=True)
@config_option
@pass_cli
def outbox(cli: CliContext, as_json: bool) -> None:
    """Pending and dead outgoing messages."""
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
                r["next_attempt_at"],
                r["last_error"],
            ]
            for r in rows
        ],
    )
