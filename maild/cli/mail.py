"""``maild parse`` (what maild understands of a message) and ``maild ingest`` (MTA pipe)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from maild.cli.context import CliContext, config_option, pass_cli
from parsing import ParsedMail, parse_message
from parsing.report import JSON_KEYS, as_json_dict

log = logging.getLogger(__name__)

EX_NOINPUT = 66  # sysexits.h: the input file does not exist or cannot be read
EX_NOUSER = 67
EX_TEMPFAIL = 75

# ``maild parse --json``: the parsed mail's keys, then what intake would do with it.
PARSE_KEYS = (*JSON_KEYS, "quarantine")


def parse_report(parsed: ParsedMail) -> dict[str, Any]:
    """One line of ``maild parse --json``: exactly :data:`PARSE_KEYS`."""
    return {**as_json_dict(parsed), "quarantine": parsed.quarantine_reason}


def _read_input(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    return Path(name).read_bytes()


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.argument("files", nargs=-1, required=True)
@config_option
@pass_cli
def parse(cli: CliContext, as_json: bool, files: tuple[str, ...]) -> None:
    """Show what maild understands of each FILE ('-' for stdin), in order."""
    config = cli.config()
    failed = False
    for name in files:
        try:
            raw = _read_input(name)
        except OSError as error:
            click.echo(f"maild parse: {name}: {error.strerror or error}", err=True)
            failed = True
            continue
        parsed = parse_message(
            raw,
            ticket_prefix=config.maild.ticket_prefix,
            max_mime_depth=config.intake.max_mime_depth,
        )
        report = parse_report(parsed)
        if as_json:
            click.echo(json.dumps(report, ensure_ascii=False))
            continue
        click.echo(f"== {name}")
        if report["quarantine"] is not None:
            click.echo(
                f"{'QUARANTINE':>12}: {report['quarantine']} "
                "(intake would hold this mail in quarantine, not make it a ticket)"
            )
        for key, value in report.items():
            if key in ("text", "reply_text", "new_text", "quarantine"):
                continue
            click.echo(f"{key:>12}: {json.dumps(value, ensure_ascii=False)}")
        click.echo("reply_text:\n" + report["reply_text"])
        if report["new_text"] != report["reply_text"]:
            click.echo("new_text (what rules match):\n" + report["new_text"])
    if failed:
        raise SystemExit(1)


@click.command()
@click.option("--sender", default="", help="Envelope sender (MAIL FROM); '' for a null sender.")
@click.option(
    "--recipient",
    "recipients",
    multiple=True,
    help="Envelope recipient(s); default: the first configured mailbox.",
)
@click.argument("file", default="-")
@config_option
@click.pass_obj
def ingest(cli: CliContext, sender: str, recipients: tuple[str, ...], file: str) -> None:
    """Store one message from FILE or stdin, for an MTA pipe.

    Exit 0 when stored (or quarantined), 75 (EX_TEMPFAIL) when it cannot be stored now so
    the MTA keeps it queued, 66 (EX_NOINPUT) when FILE cannot be read, 67 (EX_NOUSER) when
    no recipient is a configured mailbox.
    """
    from sqlalchemy import exc as sa_exc

    from maild.pipeline.delivery import Delivery
    from maild.pipeline.errors import TemporaryFailure
    from maild.pipeline.intake import NoMailbox
    from maild.runtime import Runtime
    from storage.engine import DatabaseReadOnly
    from storage.schema import SchemaError

    try:
        config = cli.config()
    except click.ClickException as error:
        click.echo(error.format_message(), err=True)
        raise SystemExit(EX_TEMPFAIL) from None
    try:
        raw = _read_input(file)
    except OSError as error:  # a file that is not there will not be there on a retry either
        click.echo(f"maild ingest: {file}: {error.strerror or error}", err=True)
        raise SystemExit(EX_NOINPUT) from None
    rcpts = recipients or (config.mailboxes[0].address,)
    delivery = Delivery(raw=raw, mail_from=sender, rcpt_tos=tuple(rcpts), source="ingest")
    try:
        with Runtime.open(config) as runtime:
            results = runtime.intake.deliver(delivery)
    except NoMailbox as error:
        click.echo(f"maild ingest: {error}", err=True)
        raise SystemExit(EX_NOUSER) from None
    except (TemporaryFailure, SchemaError, sa_exc.OperationalError, sa_exc.InterfaceError) as error:
        click.echo(f"maild ingest: temporary failure: {error}", err=True)
        raise SystemExit(EX_TEMPFAIL) from None
    except DatabaseReadOnly as error:  # the MTA keeps the message until the admin fixes it
        click.echo(f"maild ingest: temporary failure: {error}", err=True)
        raise SystemExit(EX_TEMPFAIL) from None
    for result in results:
        where = f"ticket #{result.ticket_number}" if result.ticket_number else "quarantine"
        click.echo(f"{result.mailbox}: {result.outcome} ({where})")
