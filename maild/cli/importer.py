"""``maild import PATH``: an mbox, a Maildir or a folder of .eml files into the helpdesk."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.text import Text
from sqlalchemy import exc as sa_exc

from maild.cli.context import CliContext, config_option, pass_cli
from maild.cli.output import echo_json
from maild.importing import ArchiveError, ImportSummary, Progress, open_archive, run_import
from maild.importing import dry_run as check_archive
from maild.pipeline.delivery import HistoryImport
from maild.pipeline.errors import TemporaryFailure
from storage.schema import SchemaError

EX_TEMPFAIL = 75
EX_INTERRUPTED = 130


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} msg/s" if speed else "– msg/s", style="progress.data.speed")


class BarProgress(Progress):
    """A rich progress bar (rate, ETA) on stderr, only when that is a terminal."""

    def __init__(self, bar: RichProgress, what: str) -> None:
        self._bar = bar
        self._what = what
        self._reading: TaskID | None = None
        self._storing: TaskID | None = None

    def indexed(self, count: int) -> None:
        if self._reading is None:
            self._reading = self._bar.add_task("reading", total=None)
        self._bar.update(self._reading, completed=count, description=f"reading ({count:,})")

    def started(self, total: int) -> None:
        if self._reading is not None:
            self._bar.update(self._reading, total=total, completed=total)
        self._storing = self._bar.add_task(self._what, total=total)

    def advanced(self, count: int) -> None:
        if self._storing is not None:
            self._bar.advance(self._storing, count)


@contextmanager
def progress_bar(what: str) -> Iterator[Progress]:
    console = Console(stderr=True)
    if not console.is_terminal:
        yield Progress()
        return
    bar = RichProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
    )
    with bar:
        yield BarProgress(bar, what)


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """Ctrl-C or ``kill`` ends the import cleanly: nothing more is handed in, what was handed
    in commits and is counted. A second one stops at once (the database stays consistent
    either way: every message committed or not)."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, request_stop) for sig in signals}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@click.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--mailbox",
    "address",
    metavar="ADDRESS",
    help="The support address this mail was sent to (default: the first [[mailboxes]] entry).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Run the import on a scratch copy of the database and report what it would do: "
    "nothing is stored, nothing is sent.",
)
@click.option(
    "--notify",
    is_flag=True,
    help="Acknowledge new tickets as live mail would be (default: store without a word).",
)
@click.option(
    "--status",
    "status",
    type=click.Choice(["closed", "keep-open"]),
    default="closed",
    show_default=True,
    help="Tickets the import creates: closed history, or what live intake would leave "
    "(pending after an agent's answer, else open). Mail added to an existing ticket leaves "
    "its status alone.",
)
@click.option(
    "--agents-from",
    "agents_from",
    metavar="DOMAIN",
    multiple=True,
    help="Senders at DOMAIN are agents in this history, besides the configured agents and "
    "the mailbox's own address (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@config_option
@pass_cli
def import_mail(
    cli: CliContext,
    path: Path,
    address: str | None,
    dry_run: bool,
    notify: bool,
    status: str,
    agents_from: tuple[str, ...],
    as_json: bool,
) -> None:
    """Import PATH: an mbox file, a Maildir (cur/ and new/) or a folder of .eml files.

    Messages are stored in Date order, so a reply that comes before its original in the file
    still threads. Running the same import again stores nothing twice, and finishes an
    interrupted one. Exit 0 when done, 75 when some messages could not be stored now (run it
    again), 130 when interrupted.

    Imported mail keeps its own Date; an agent's answer in it is the ticket's first
    response; nothing is sent, no command runs and no SLA fires for what was already past.
    """
    config = cli.config()
    history = HistoryImport(
        status="keep-open" if status == "keep-open" else "closed",
        agents_from=tuple(domain.strip().lower().lstrip("@") for domain in agents_from),
    )
    if cli.log_level is None:  # one line per message is noise here; the summary says it all
        logging.getLogger("maild.pipeline").setLevel(logging.WARNING)
    boxes = {box.address: box for box in config.mailboxes}
    wanted = (address or config.mailboxes[0].address).strip().lower()
    mailbox = boxes.get(wanted)
    if mailbox is None:
        raise click.ClickException(
            f"{address!r} is not a configured mailbox (mailboxes: {', '.join(boxes)})"
        )
    try:
        archive = open_archive(path)
    except ArchiveError as error:
        raise click.ClickException(str(error)) from None
    try:
        with stop_on_signals() as stop, progress_bar("checking" if dry_run else "importing") as bar:
            if dry_run:
                summary = check_archive(
                    config,
                    archive,
                    mailbox,
                    notify=notify,
                    progress=bar,
                    stop=stop,
                    history=history,
                )
            else:
                summary = run_import(
                    config,
                    archive,
                    mailbox,
                    notify=notify,
                    progress=bar,
                    stop=stop,
                    history=history,
                )
    except SchemaError as error:
        raise click.ClickException(str(error)) from None
    except (TemporaryFailure, sa_exc.OperationalError, sa_exc.InterfaceError) as error:
        click.echo(f"maild import: temporary failure, run it again: {error}", err=True)
        raise SystemExit(EX_TEMPFAIL) from None
    if as_json:
        echo_json(summary.to_json())
    else:
        report(summary)
    if summary.interrupted:
        raise SystemExit(EX_INTERRUPTED)
    if summary.deferred:
        raise SystemExit(EX_TEMPFAIL)


def report(summary: ImportSummary) -> None:
    rate = f", {summary.rate:,.0f} msg/s" if summary.rate else ""
    click.echo(
        f"{summary.archive}: {summary.found:,} message(s) for {summary.mailbox}, "
        f"{summary.seconds:.1f} s{rate}"
        + (" (dry run: what an import would do)" if summary.dry_run else "")
    )
    rows = [
        ("new tickets", summary.new_tickets, ""),
        *(
            [("  linked", summary.linked, "a stranger's mail, or mail to a closed ticket")]
            if summary.simulation is not None
            else []
        ),
        ("replies threaded", summary.replies, ""),
        ("duplicates skipped", summary.duplicates, "stored before"),
        ("quarantined", summary.quarantined, "see: maild quarantine list"),
        ("automated", summary.automated, "stored, never answered"),
    ]
    if summary.deferred:
        rows.append(("not stored now", summary.deferred, "database unavailable: run it again"))
    for label, value, note in rows:
        click.echo(f"  {label:<19}{value:>8,}" + (f"   ({note})" if note and value else ""))
    for error in summary.errors:
        click.echo(f"  {error}", err=True)
    if summary.simulation is not None:
        report_simulation(summary)
    elif not summary.notify and summary.new_tickets:
        click.echo("no acknowledgements were sent (--notify sends them)")
    if summary.interrupted:
        left = summary.found - summary.done
        click.echo(
            f"interrupted: {left:,} message(s) not imported; run the same command again to "
            "finish (what is stored is skipped)",
            err=True,
        )


SHOWN = 20  # tickets and mails a dry run lists by name; --json lists them all


def report_simulation(summary: ImportSummary) -> None:
    from maild.simulation import mail_subject

    changes = summary.simulation
    assert changes is not None
    linked = [ticket for ticket in changes.tickets if ticket.linked_to is not None]
    for ticket in linked[:SHOWN]:
        click.echo(f"  #{ticket.number} from {ticket.requester} links #{ticket.linked_to}")
    if len(linked) > SHOWN:
        click.echo(f"  … and {len(linked) - SHOWN:,} more linked tickets (--json lists them)")
    if changes.mail:
        click.echo(f"would send {len(changes.mail):,} mail(s):")
        for mail in changes.mail[:SHOWN]:
            ticket = f"#{mail.ticket} " if mail.ticket else ""
            click.echo(
                f"  {ticket}{mail.kind} to {', '.join(mail.recipients)}: {mail_subject(mail)}"
            )
        if len(changes.mail) > SHOWN:
            click.echo(f"  … and {len(changes.mail) - SHOWN:,} more (--json lists them)")
    click.echo(
        f"dry run on {summary.simulated_on or 'a scratch database'}, thrown away: "
        "nothing was stored, nothing was sent"
    )
