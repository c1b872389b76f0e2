"""``maild serve`` and ``maild check``."""

from __future__ import annotations

import logging
import os

import click

from maild.cli.context import CliContext, config_option, pass_cli

log = logging.getLogger(__name__)


@click.command()
@config_option
@pass_cli
def serve(cli: CliContext) -> None:
    """Run the daemon: SMTP/LMTP receivers, IMAP pollers and the outbox worker."""
    import asyncio

    from maild.config import ConfigError
    from maild.service import Service
    from storage.schema import SchemaError

    config = cli.config()
    try:
        asyncio.run(Service(config).serve_forever())
    except ConfigError as error:  # found at start: a webhook's secret not in the environment
        raise click.ClickException(f"configuration error: {error}") from None
    except SchemaError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"cannot start: {error}") from None


@click.command()
@config_option
@pass_cli
def check(cli: CliContext) -> None:
    """Validate the configuration; exit non-zero with the key and value on error."""
    from maild.config import ConfigError, load_config

    path = cli.resolved_path
    try:
        config = load_config(path)
        if config.webhooks:  # their secrets come from the environment, as for serve
            from maild.webhooks.endpoints import endpoints

            endpoints(config)
    except ConfigError as error:
        click.echo(f"configuration error: {error}", err=True)
        raise SystemExit(1) from None
    where = str(path) if path else "built-in defaults"
    boxes = ", ".join(box.address for box in config.mailboxes)
    click.echo(f"{where}: OK (mailboxes: {boxes}; database: {config.database_url})")
    shared = not config.database_url.startswith("sqlite")
    if shared and config.csat.enabled and not os.environ.get(config.maild.secret_env):
        click.echo(
            f"note: {config.maild.secret_env} is not set: each instance on this database "
            f"would sign survey links with a secret of its own, and links one sends would "
            f"not work on another; set [maild] secret_env's variable to one value everywhere",
            err=True,
        )
