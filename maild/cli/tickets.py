"""``maild tickets list|search|show``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from maild.cli.context import CliContext, config_option, pass_cli
from maild.cli.output import echo_json, iso, print_table
from maild.cli.reading import read_view
from storage import console, search
from storage.console import TicketSummary, TicketThread
from storage.models import TicketStatus


def ticket_summary(ticket: TicketSummary) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "status": str(ticket.status),
        "priority": ticket.priority,
        "requester": ticket.requester,
        "assignee": ticket.assignee,
        "team": ticket.team,
        "tier": ticket.tier,
        "category": ticket.category,
        "tags": list(ticket.tags),
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "first_response_at": iso(ticket.first_response_at),
        "resolved_at": iso(ticket.resolved_at),
    }


def ticket_document(thread: TicketThread, *, full: bool) -> dict[str, Any]:
    """What ``tickets show --json`` prints; ``full`` keeps the quoted history in bodies."""
    data = ticket_summary(thread.ticket)
    data["participants"] = [
        {"address": p.address, "name": p.name, "role": str(p.role), "bouncing": p.bouncing}
        for p in thread.participants
    ]
    data["watchers"] = list(thread.watchers)
    data["messages"] = [
        {
            "kind": str(m.kind),
            "from": m.from_address,
            "created_at": iso(m.created_at),
            "subject": m.subject,
            "body": m.body if full else m.reply_text,
            "attachments": [
                {"filename": a.filename, "content_type": a.content_type, "size": a.size}
                for a in m.attachments
            ],
        }
        for m in thread.messages
    ]
    data["events"] = [
        {"at": iso(e.at), "actor": e.actor, "kind": e.kind, "data": dict(e.data)}
        for e in thread.events
    ]
    data["linked_to"] = thread.linked_to
    data["linked_from"] = list(thread.linked_from)
    data["merged_into"] = thread.merged_into
    return data


@click.group()
def tickets() -> None:
    """List and read tickets."""


def _instant(value: str | None, name: str) -> datetime | None:
    """An ISO date or date-time option; UTC unless it carries an offset."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO date or date-time (2026-03-02, 2026-03-02T09:00)",
            param_hint=name,
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


_FILTERS = ("assignee", "team", "priority", "category", "tag", "requester", "mailbox")
_ADDRESSES = ("assignee", "requester", "mailbox")  # compared in lower case


def filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options that pick tickets, for ``list`` and ``search`` alike."""
    for option in reversed(
        (
            click.option(
                "--status",
                "statuses",
                multiple=True,
                type=click.Choice([s.value for s in TicketStatus]),
                help="Only this status (repeatable). Default: new, open and pending.",
            ),
            click.option("--all", "show_all", is_flag=True, help="Every status, closed too."),
            click.option("--assignee", help="Assigned to this agent address."),
            click.option("--team"),
            click.option("--priority"),
            click.option("--category"),
            click.option("--tag", help="Carrying this tag."),
            click.option("--requester", help="Opened by this address."),
            click.option("--mailbox", help="Sent to this support address."),
        )
    ):
        command = option(command)
    return command


def page_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """How many tickets ``list`` and ``search`` show, and whether as JSON."""
    command = click.option("--json", "as_json", is_flag=True)(command)
    return click.option(
        "--limit",
        type=click.IntRange(min=0),
        default=50,
        show_default=True,
        help="At most this many tickets (0: all).",
    )(command)


def wanted_statuses(show_all: bool, statuses: tuple[str, ...]) -> tuple[TicketStatus, ...]:
    """``--all``: every status; ``--status``: those; neither: the open ones."""
    if show_all:
        return ()
    if statuses:
        return tuple(TicketStatus(status) for status in statuses)
    return console.OPEN_STATUSES


def wanted_filters(filters: dict[str, str | None]) -> dict[str, str]:
    return {
        name: value.lower() if name in _ADDRESSES else value
        for name, value in filters.items()
        if name in _FILTERS and value is not None
    }


@tickets.command("list")
@filter_options
@click.option("--since", help="Created at or after (ISO date or date-time, UTC by default).")
@click.option("--until", help="Created before (ISO date or date-time, UTC by default).")
@click.option(
    "--before", type=int, help="Only tickets numbered below this (the next page).", metavar="N"
)
@page_options
@config_option
@pass_cli
def list_tickets(
    cli: CliContext,
    statuses: tuple[str, ...],
    show_all: bool,
    since: str | None,
    until: str | None,
    before: int | None,
    limit: int,
    as_json: bool,
    **filters: str | None,
) -> None:
    """Tickets still to work on (new, open, pending), newest first, a page at a time
    (--before N for the next one). In a terminal a table; piped, one ticket per line,
    tab-separated: number, status, priority, requester, assignee, updated, subject."""
    wanted = console.TicketQuery(
        statuses=wanted_statuses(show_all, statuses),
        since=_instant(since, "--since"),
        until=_instant(until, "--until"),
        before=before,
        limit=limit or None,
        **wanted_filters(filters),
    )
    rows = read_view(cli.config(), lambda session: console.list_tickets(session, wanted))
    summaries = [ticket_summary(ticket) for ticket in rows]
    if as_json:
        echo_json(summaries)
        return
    more = f"(more: --before {summaries[-1]['number']})" if limit and len(rows) == limit else ""
    print_summaries(summaries, more)


def print_summaries(summaries: list[dict[str, Any]], more: str = "") -> None:
    """Tickets as ``tickets list`` and ``tickets search`` print them: in a terminal a table
    that fits 80 columns; piped, one ticket per line, tab-separated; ``more`` (how to see
    the next ones, if any) after them."""
    if not sys.stdout.isatty():
        for s in summaries:
            cells = [
                s["number"],
                s["status"],
                s["priority"],
                s["requester"],
                s["assignee"] or "-",
                s["updated_at"],
                s["subject"],
            ]
            click.echo("\t".join(_one_line(cell) for cell in cells))
        if more:
            click.echo(more, err=True)
        return
    print_table(
        "Tickets",
        ["#", "status", "prio", "requester", "assignee", "subject"],
        [
            [
                s["number"],
                s["status"],
                s["priority"],
                s["requester"],
                s["assignee"] or "-",
                s["subject"],
            ]
            for s in summaries
        ],
        width=80,
    )
    if more:
        click.echo(more)


@tickets.command("search")
@click.argument("query")
@filter_options
@page_options
@config_option
@pass_cli
def search_tickets(
    cli: CliContext,
    query: str,
    statuses: tuple[str, ...],
    show_all: bool,
    limit: int,
    as_json: bool,
    **filters: str | None,
) -> None:
    """Tickets whose subject, messages (without quoted history) or requester contain every
    word of QUERY, best match first; the same filters and output as ``tickets list``.
    Words are matched as typed: no operators, quotes or wildcards."""
    chosen = wanted_statuses(show_all, statuses)
    picked = wanted_filters(filters)
    rows = read_view(
        cli.config(),
        lambda session: search.search_tickets(
            session, query, chosen, limit or None, filters=picked
        ),
    )
    summaries = [ticket_summary(ticket) for ticket in rows]
    if as_json:
        echo_json(summaries)
        return
    more = f"(more: --limit {limit * 2})" if limit and len(rows) == limit else ""
    print_summaries(summaries, more)


def _one_line(value: object) -> str:
    """A cell of a tab-separated line: no tab or line break of a subject splits it."""
    return " ".join(str(value).split()) if value is not None else ""


@tickets.command("show")
@click.argument("number", type=int)
@click.option("--full", is_flag=True, help="Whole message text, quoted history included.")
@click.option("--events", "with_events", is_flag=True, help="The audit trail too.")
@click.option("--json", "as_json", is_flag=True)
@config_option
@pass_cli
def show_ticket(cli: CliContext, number: int, full: bool, with_events: bool, as_json: bool) -> None:
    """One ticket and its thread, oldest first."""
    config = cli.config()
    thread = read_view(config, lambda session: console.ticket_thread(session, number))
    if thread is None:
        raise click.ClickException(f"no ticket #{number}")
    data = ticket_document(thread, full=full)
    if as_json:
        echo_json(data)
        return
    # Here, not at the top: importing parsing/ loads the whole parser (its regular
    # expressions), a start-up cost for the JSON output that never prints a tag.
    from parsing.ticketref import format_ticket_tag

    tag = format_ticket_tag(config.maild.ticket_prefix, number)
    click.echo(f"{tag} {data['subject']}")
    click.echo(
        f"status {data['status']} · priority {data['priority']} · "
        f"requester {data['requester']} · assignee {data['assignee'] or '-'}"
    )
    extra = [
        f"{name} {data[name]}" for name in ("team", "tier", "category") if data[name] is not None
    ]
    if data["tags"]:
        extra.append("tags " + ", ".join(data["tags"]))
    if extra:
        click.echo(" · ".join(extra))
    links = []
    if data["linked_to"] is not None:
        links.append(
            "linked to " + format_ticket_tag(config.maild.ticket_prefix, data["linked_to"])
        )
    if data["linked_from"]:
        tags = (format_ticket_tag(config.maild.ticket_prefix, n) for n in data["linked_from"])
        links.append("linked from " + ", ".join(tags))
    if data["merged_into"] is not None:
        links.append(
            "merged into " + format_ticket_tag(config.maild.ticket_prefix, data["merged_into"])
        )
    if links:
        click.echo(" · ".join(links))
    if data["watchers"]:
        click.echo("watchers " + ", ".join(data["watchers"]))
    for message in data["messages"]:
        click.echo("")
        click.echo(f"--- {message['created_at']} {message['kind']} from {message['from']}")
        click.echo(message["body"].rstrip())
        for attachment in message["attachments"]:
            click.echo(f"[attachment] {attachment['filename']} ({attachment['size']} bytes)")
    if with_events:
        click.echo("")
        click.echo("--- events")
        for event in data["events"]:
            details = ", ".join(f"{key}={value}" for key, value in event["data"].items())
            click.echo(f"{event['at']} {event['actor']}: {event['kind']} {details}".rstrip())
