"""``maild webhooks list|retry|test``: deliveries to ``[[webhooks]]`` receivers."""

from __future__ import annotations

from typing import Any

import click

from maild.cli.context import CliContext, config_option, pass_cli
from maild.cli.output import echo_json, iso, print_table
from maild.cli.reading import read_view
from storage.models import WebhookStatus


@click.group()
def webhooks() -> None:
    """Ticket events sent to other systems over HTTP."""


@webhooks.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include delivered events.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@config_option
@pass_cli
def list_webhooks(cli: CliContext, show_all: bool, limit: int, as_json: bool) -> None:
    """Deliveries waiting to be sent and those given up on (dead), newest first."""
    from storage.webhooks import delivery_lines

    statuses = list(WebhookStatus) if show_all else [WebhookStatus.PENDING, WebhookStatus.DEAD]
    lines = read_view(
        cli.config(),
        lambda session: delivery_lines(session.connection(), statuses, limit=limit),
    )
    rows: list[dict[str, Any]] = [
        {
            "id": line.id,
            "webhook": line.webhook,
            "event": line.event,
            "ticket": line.ticket_number,
            "status": str(line.status),
            "attempts": line.attempts,
            "next_attempt_at": iso(line.next_attempt_at),
            "last_error": line.last_error,
            "created_at": iso(line.created_at),
            "delivered_at": iso(line.delivered_at),
            "webhook_id": line.msg_id,
        }
        for line in lines
    ]
    if as_json:
        echo_json(rows)
        return
    print_table(
        "Webhook deliveries",
        ["id", "webhook", "event", "ticket", "status", "attempts", "next attempt", "last error"],
        [
            [
                r["id"],
                r["webhook"],
                r["event"],
                r["ticket"],
                r["status"],
                r["attempts"],
                r["next_attempt_at"] if r["status"] == "pending" else "",
                r["last_error"],
            ]
            for r in rows
        ],
    )


@webhooks.command("retry")
@click.argument("ident", type=int)
@config_option
@pass_cli
def retry_webhook(cli: CliContext, ident: int) -> None:
    """Send delivery IDENT again now (a dead one gets a new series of attempts)."""
    from datetime import UTC, datetime

    from maild.database import open_engine
    from storage.engine import writer_engine
    from storage.webhooks import retry

    engine = open_engine(cli.config())
    try:
        with writer_engine(engine).begin() as connection:
            before = retry(connection, ident, datetime.now(UTC))
    finally:
        engine.dispose()
    if before is None:
        raise click.ClickException(f"no webhook delivery {ident}")
    if before is WebhookStatus.DELIVERED:
        raise click.ClickException(f"webhook delivery {ident} was delivered already")
    click.echo(f"webhook delivery {ident}: due now (was {before}); 'maild serve' sends it")


@webhooks.command("test")
@click.argument("name")
@config_option
@pass_cli
def test_webhook(cli: CliContext, name: str) -> None:
    """POST a signed "ping" event to webhook NAME now, and say how it answered."""
    import asyncio
    import time
    from datetime import UTC, datetime

    from maild.config import ConfigError
    from maild.webhooks.endpoints import endpoints
    from maild.webhooks.queue import new_msg_id, ping_payload
    from outbound.webhooks import DeliveryFailed, new_client, post

    config = cli.config()
    chosen = [hook for hook in config.webhooks if hook.name == name]
    if not chosen:
        known = ", ".join(hook.name for hook in config.webhooks) or "none configured"
        raise click.ClickException(f"no webhook named {name!r} ({known})")
    try:
        endpoint = endpoints(config.model_copy(update={"webhooks": tuple(chosen)}))[name]
    except ConfigError as error:
        raise click.ClickException(f"configuration error: {error}") from None
    now = datetime.now(UTC)
    msg_id = new_msg_id()

    async def ping() -> int:
        async with new_client() as client:
            return await post(client, endpoint, msg_id, ping_payload(name, now).encode(), now)

    started = time.perf_counter()
    try:
        status = asyncio.run(ping())
    except DeliveryFailed as error:
        raise click.ClickException(f"ping to {name} ({endpoint.url}) failed: {error}") from None
    took = (time.perf_counter() - started) * 1000
    click.echo(f"ping to {name} ({endpoint.url}): HTTP {status} in {took:.0f} ms ({msg_id})")
