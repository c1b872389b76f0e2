"""``maild report``: the figures a support lead asks for, for a day, a week, a month or any
period: tickets created, resolved, closed, reopened and the backlog; first-response and
resolution times; SLA compliance; satisfaction; a table per agent.

Periods are days of the support team (``[sla] timezone``): ``--period week`` is last week,
Monday to Sunday; ``--since``/``--until`` take dates (local midnight; ``--until`` is
exclusive) or date-times (local unless they name an offset)."""

from __future__ import annotations

import click

from maild.cli.context import CliContext, config_option, pass_cli
from maild.cli.output import echo_json
from maild.cli.reading import read_view
from maild.clock import SystemClock
from maild.reports.figures import DIMENSIONS, build_report
from maild.reports.period import PERIODS, Period, between, last_complete, parse_bound
from maild.reports.render import as_csv, as_json, text


def _period(
    kind: str | None, since: str | None, until: str | None, at: str | None, timezone: str
) -> Period:
    try:
        now = parse_bound(at, timezone) if at else SystemClock().now()
        if since is None and until is None:
            return last_complete(kind or "week", now, timezone)
        if kind is not None:
            raise click.UsageError("give --period or --since/--until, not both")
        if since is None:
            raise click.UsageError("--until needs --since")
        end = parse_bound(until, timezone) if until else now
        return between(parse_bound(since, timezone), end, timezone)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@click.command("report")
@click.option(
    "--period",
    "kind",
    type=click.Choice(PERIODS),
    help="The last complete day, week (Monday to Sunday) or month. Default: week.",
)
@click.option("--since", metavar="DATE", help="Start (ISO date or date-time).")
@click.option("--until", metavar="DATE", help="End, exclusive (default: now).")
@click.option("--by", type=click.Choice(DIMENSIONS), help="Also break the figures down.")
@click.option("--at", metavar="ISO-TIME", help="Take 'now' to be this time.", hidden=True)
@click.option("--json", "as_json_", is_flag=True, help="Everything as JSON.")
@click.option("--csv", "as_csv_", is_flag=True, help="One CSV row for all, one per group.")
@config_option
@pass_cli
def report(
    cli: CliContext,
    kind: str | None,
    since: str | None,
    until: str | None,
    by: str | None,
    at: str | None,
    as_json_: bool,
    as_csv_: bool,
) -> None:
    """Tickets, times, SLA compliance, satisfaction and agents for a period."""
    if as_json_ and as_csv_:
        raise click.UsageError("choose --json or --csv")
    config = cli.config()
    policy = config.policy
    period = _period(kind, since, until, at, policy.sla.timezone)
    built = read_view(
        config,
        lambda session: build_report(
            session.connection(), policy, period, by, config.maild.priorities
        ),
    )
    if as_json_:
        echo_json(as_json(built))
    elif as_csv_:
        click.echo(as_csv(built), nl=False)
    else:
        click.echo(text(built), nl=False)
