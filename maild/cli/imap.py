"""``maild imap test|list``: the ``[[imap]]`` accounts the daemon reads."""

from __future__ import annotations

import click

from maild.cli.context import CliContext, config_option, pass_cli
from maild.cli.output import echo_json, iso, print_table
from maild.cli.reading import missing_database_file, read_view
from maild.config import ImapAccount
from storage.imap_state import all_positions


@click.group()
def imap() -> None:
    """IMAP accounts maild reads mail from ([[imap]] in the configuration)."""


def _after_store(account: ImapAccount) -> str:
    if account.processed_folder:
        return f"moved to {account.processed_folder!r}"
    return "flagged \\Seen"


@imap.command("test")
@click.argument("account")
@config_option
@pass_cli
def imap_test(cli: CliContext, account: str) -> None:
    """Log in to ACCOUNT and show its folder and message count; changes nothing.

    ACCOUNT is the account's ``name`` (or ``username@host`` when it has none). Exits 1
    with what failed (connection, TLS, authentication, folder) and where.
    """
    from maild.imap import ImapError, check_account

    config = cli.config()
    found = config.imap_account(account)
    if found is None:
        names = ", ".join(a.display_name for a in config.imap) or "none is configured"
        raise click.ClickException(f"no [[imap]] account {account!r} (accounts: {names})")
    try:
        report = check_account(found)
    except ImapError as error:
        raise click.ClickException(str(error)) from None
    folder = report.folder
    click.echo(f"{found.describe}: logged in as {found.username} ({found.mechanism.upper()})")
    click.echo(
        f"folder {folder.name!r}: {folder.messages} message(s) "
        f"(UIDVALIDITY {folder.uidvalidity}), feeding {found.mailbox}"
    )
    if report.processed_folder_exists is None:
        click.echo("stored mail is flagged \\Seen and stays in the folder (mark_seen)")
    elif report.processed_folder_exists:
        click.echo(f"stored mail is moved to {found.processed_folder!r} (exists)")
    else:
        click.echo(
            f"stored mail is moved to {found.processed_folder!r} "
            "(missing: maild creates it when it starts)"
        )
    if not found.idle:
        click.echo(f"IDLE off in the configuration: checking every {found.poll_interval:g} s")
    elif report.idle:
        click.echo("IDLE: yes, new mail arrives at once")
    else:
        click.echo(f"IDLE: not offered, checking every {found.poll_interval:g} s")


@imap.command("list")
@click.option("--json", "as_json", is_flag=True)
@config_option
@pass_cli
def imap_list(cli: CliContext, as_json: bool) -> None:
    """The configured accounts and how far each has read (UIDVALIDITY, last stored UID)."""
    config = cli.config()
    # Before the first start there is no database: every account has read nothing yet.
    stored = [] if missing_database_file(config) else read_view(config, all_positions)
    positions = {(p.server, p.username, p.folder): p for p in stored}
    rows = []
    for account in config.imap:
        server = f"{account.host}:{account.server_port}"
        position = positions.get((server, account.username, account.folder))
        rows.append(
            {
                "name": account.display_name,
                "server": server,
                "tls": account.tls,
                "username": account.username,
                "folder": account.folder,
                "mailbox": account.mailbox,
                "after_store": _after_store(account),
                "uidvalidity": position.uidvalidity if position else None,
                "last_uid": position.last_uid if position else None,
                "updated_at": iso(position.updated_at) if position else None,
            }
        )
    if as_json:
        echo_json(rows)
        return
    print_table(
        "IMAP accounts",
        ["name", "server", "user", "folder", "mailbox", "after storing", "last UID", "updated"],
        [
            [
                r["name"],
                f"{r['server']} ({r['tls']})",
                r["username"],
                r["folder"],
                r["mailbox"],
                r["after_store"],
                "-" if r["last_uid"] is None else f"{r['last_uid']} (v{r['uidvalidity']})",
                r["updated_at"] or "-",
            ]
            for r in rows
        ],
    )
