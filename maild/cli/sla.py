"""``maild sla show N`` (a ticket's SLA: targets, deadlines, time spent and left, pauses,
state) and ``maild sla sweep`` (fire what is due now: for cron, or a daemon-less setup)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import click

from maild.cli.context import CliContext, config_option, pass_cli
from maild.cli.output import echo_json, iso, print_table
from maild.cli.reading import read_view
from maild.clock import Clock, ManualClock, SystemClock
from maild.sla.sweep import human_duration, sla_report
from maild.ticketing.record import find_ticket
from rules.sla import SlaState

_STATE_WORDS = {
    SlaState.ON_TRACK: "on track",
    SlaState.AT_RISK: "at risk",
    SlaState.BREACHED: "breached",
    SlaState.MET: "met",
}


def _at(value: str | None) -> datetime:
    """``--at``: an ISO time (UTC unless it names a zone), default now."""
    if value is None:
        return SystemClock().now()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO time: {value!r}", param_hint="--at") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _local(moment: datetime, tz: tzinfo) -> str:
    return f"{moment.astimezone(tz):%Y-%m-%d %H:%M %Z}"


def _signed(delta: timedelta) -> str:
    return ("-" if delta < timedelta(0) else "") + human_duration(delta)


@click.group()
def sla() -> None:
    """SLA state of tickets, and the sweep that fires warnings and breaches."""


@sla.command("show")
@click.argument("number", type=int)
@click.option("--at", "at", metavar="ISO-TIME", help="Evaluate at this time instead of now.")
@click.option("--json", "as_json", is_flag=True)
@config_option
@pass_cli
def show(cli: CliContext, number: int, at: str | None, as_json: bool) -> None:
    """Targets, deadlines, elapsed and remaining business time, paused time and state of
    ticket NUMBER."""
    config = cli.config()
    now = _at(at)
    policy = config.policy
    record = read_view(config, lambda session: find_ticket(session.connection(), number))
    if record is None:
        raise click.ClickException(f"no ticket #{number}")
    status = sla_report(record, policy, now)
    fired = sorted(record.sla_fired)
    targets: list[dict[str, Any]] = [
        {
            "target": str(target.target),
            "goal": human_duration(target.goal),
            "goal_seconds": int(target.goal.total_seconds()),
            "state": str(target.state),
            "deadline": iso(target.deadline),
            "warn_at": iso(target.warn_at),
            "met_at": iso(target.met_at),
            "elapsed_seconds": int(target.elapsed.total_seconds()),
            "remaining_seconds": int(target.remaining.total_seconds()),
        }
        for target in status.targets
    ]
    summary = {
        "ticket": record.number,
        "status": str(record.status),
        "priority": record.priority,
        "category": record.category,
        "vip": policy.vip.is_vip(record.requester),
        "at": iso(now),
        "state": str(status.state),
        "paused": status.paused,
        "paused_seconds": int(status.paused_for.total_seconds()),
        "timezone": policy.sla.timezone,
        "business_hours": policy.sla.business_hours.describe(),
        "fired": fired,
        "targets": targets,
    }
    if as_json:
        echo_json(summary)
        return
    click.echo(
        f"Ticket #{record.number} ({record.status}, priority {record.priority}): "
        f"SLA {_STATE_WORDS[status.state]}"
        + (", paused (waiting on the customer)" if status.paused else "")
    )
    click.echo(
        f"Business hours: {summary['business_hours']} ({policy.sla.timezone}); "
        f"paused so far: {human_duration(status.paused_for)}"
    )
    print_table(
        f"SLA of #{record.number} at {now:%Y-%m-%d %H:%M} UTC",
        ["target", "goal", "deadline", "elapsed", "remaining", "state"],
        [
            [
                str(target.target).replace("_", " "),
                human_duration(target.goal),
                _local(target.deadline, policy.sla.calendar.tz) if target.deadline else "paused",
                human_duration(target.elapsed),
                _signed(target.remaining),
                _STATE_WORDS[target.state],
            ]
            for target in status.targets
        ],
    )
    if fired:
        click.echo(f"Fired: {', '.join(fired)}")


@sla.command("sweep")
@click.option("--at", "at", metavar="ISO-TIME", help="Sweep as if it were this time.")
@click.option("--json", "as_json", is_flag=True)
@config_option
@pass_cli
def sweep(cli: CliContext, at: str | None, as_json: bool) -> None:
    """Fire the SLA warnings and breaches that are due and auto-close resolved tickets,
    once. The mail goes out with the outbox (``maild serve`` sends it)."""
    from maild.runtime import Runtime
    from maild.scheduler import sla_jobs
    from storage.schema import SchemaError

    config = cli.config()
    clock: Clock = ManualClock(_at(at)) if at else SystemClock()
    try:
        with Runtime.open(config, clock) as runtime:
            sla_sweep, auto_close = sla_jobs(runtime)
            now = clock.now()
            report = sla_sweep.run(now)
            closing = auto_close.run(now)
    except SchemaError as error:
        raise click.ClickException(str(error)) from None
    result = {
        "open_tickets": report.open_tickets,
        "due_tickets": report.due_tickets,
        "fired": report.fired,
        "auto_close_warned": closing.warned,
        "auto_closed": closing.closed,
        "seconds": round(report.seconds, 3),
    }
    if as_json:
        echo_json(result)
        return
    click.echo(
        f"SLA sweep: {report.open_tickets} open tickets, {report.due_tickets} due, "
        f"{report.fired} warnings/breaches fired in {report.seconds:.2f} s; "
        f"auto-close: {closing.warned} warned, {closing.closed} closed"
    )
