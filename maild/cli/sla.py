"""``maild sla show N`` (a ticket's SLA: targets, deadlines, time spent and left, pauses,
state) and ``maild sla sweep`` (fire what is due now: for cron, or a daemon-less setup).

``sla sweep --at`` a time still to come is a simulation (``maild.simulation``): the real
sweep, auto-close and ``ticket.idle`` rules on a scratch copy of the database, which prints
what would fire and stores nothing. A time that has come fires for real, as the scheduler
would have.

SLA durations are business time unless business hours are 24x7 without holidays, and read
as such: ``72 h business``, not ``3 d`` (``maild.sla.sweep.sla_duration``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

import click

from maild.cli.context import CliContext, config_option, pass_cli
from maild.cli.output import echo_json, iso, print_table
from maild.cli.reading import read_view
from maild.clock import Clock, ManualClock, SystemClock
from maild.sla.sweep import sla_duration, sla_report
from maild.ticketing.record import find_ticket
from rules.businesstime import BusinessCalendar
from rules.sla import SlaState

if TYPE_CHECKING:
    from maild.config import Config
    from maild.sla import AutoCloseReport, IdleReport, SweepReport

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


def _signed(delta: timedelta, calendar: BusinessCalendar) -> str:
    return ("-" if delta < timedelta(0) else "") + sla_duration(delta, calendar)


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
    calendar = policy.sla.calendar
    fired = sorted(record.sla_fired)
    targets: list[dict[str, Any]] = [
        {
            "target": str(target.target),
            "goal": sla_duration(target.goal, calendar),
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
        f"paused so far: {sla_duration(status.paused_for, calendar)}"
    )
    print_table(
        f"SLA of #{record.number} at {now:%Y-%m-%d %H:%M} UTC",
        ["target", "goal", "deadline", "elapsed", "remaining", "state"],
        [
            [
                str(target.target).replace("_", " "),
                sla_duration(target.goal, calendar),
                _local(target.deadline, calendar.tz) if target.deadline else "paused",
                sla_duration(target.elapsed, calendar),
                _signed(target.remaining, calendar),
                _STATE_WORDS[target.state],
            ]
            for target in status.targets
        ],
    )
    if fired:
        click.echo(f"Fired: {', '.join(fired)}")


@sla.command("sweep")
@click.option(
    "--at",
    "at",
    metavar="ISO-TIME",
    help="Sweep as if it were this time. A time still to come only shows what would fire.",
)
@click.option("--json", "as_json", is_flag=True)
@config_option
@pass_cli
def sweep(cli: CliContext, at: str | None, as_json: bool) -> None:
    """Fire the SLA warnings and breaches that are due, auto-close resolved tickets, queue
    the satisfaction surveys due and fire the ticket.idle rules due, once. The mail goes out
    with the outbox (``maild serve`` sends it).

    With --at a time still to come it is a simulation: the same sweep on a scratch copy of
    the database, which prints what would fire and what mail would go out, and stores and
    sends nothing."""
    from storage.schema import SchemaError

    config = cli.config()
    now = SystemClock().now()
    moment = _at(at) if at else now
    try:
        if moment > now:
            from maild.simulation import quiet_logs

            with quiet_logs(cli.log_level is None):
                _simulate(config, moment, as_json)
            return
        _sweep(config, ManualClock(moment) if at else SystemClock(), as_json)
    except SchemaError as error:
        raise click.ClickException(str(error)) from None


def _sweep(config: Config, clock: Clock, as_json: bool) -> None:
    from maild.runtime import Runtime
    from maild.scheduler import idle_job, sla_jobs, survey_job

    with Runtime.open(config, clock) as runtime:
        sla_sweep, auto_close = sla_jobs(runtime)
        now = clock.now()
        report = sla_sweep.run(now)
        closing = auto_close.run(now)
        surveys = survey_job(runtime).run(now)
        idle = idle_job(runtime).run(now)
    result = _counts(report, closing, idle)
    if as_json:
        echo_json({**result, "surveys_sent": surveys.sent, "simulated": False})
        return
    click.echo(
        f"SLA sweep: {report.open_tickets} open tickets, {report.due_tickets} due, "
        f"{report.fired} warnings/breaches fired in {report.seconds:.2f} s; "
        f"auto-close: {closing.warned} warned, {closing.closed} closed"
        + (f"; surveys: {surveys.sent} sent" if config.csat.enabled else "")
        + (f"; idle rules: {idle.fired} fired" if config.policy.idle_rules else "")
    )


def _counts(
    report: SweepReport, closing: AutoCloseReport, idle: IdleReport | None
) -> dict[str, Any]:
    return {
        "open_tickets": report.open_tickets,
        "due_tickets": report.due_tickets,
        "fired": report.fired,
        "auto_close_warned": closing.warned,
        "auto_closed": closing.closed,
        "idle_rules_fired": idle.fired if idle is not None else 0,
        "seconds": round(report.seconds, 3),
    }


def _simulate(config: Config, at: datetime, as_json: bool) -> None:
    from maild.simulation import changes_json, event_json, mail_subject, simulate_sweep

    trial = simulate_sweep(config, at)
    report, closing, changes = trial.sweep, trial.auto_close, trial.changes
    if as_json:
        would = changes_json(changes, events=False)
        echo_json(
            {
                **_counts(report, closing, trial.idle),
                "simulated": True,
                "at": iso(at),
                "simulated_on": trial.source,
                "events": [event_json(event) for event in changes.events],
                "would_send": would["mail"],
            }
        )
        return
    click.echo(
        f"SLA sweep at {at:%Y-%m-%d %H:%M} UTC, a time still to come: simulated on "
        f"{trial.source}; nothing was stored, nothing was sent."
    )
    click.echo(
        f"{report.open_tickets} open tickets, {report.due_tickets} due: "
        f"{report.fired} warnings/breaches would fire; auto-close: {closing.warned} would be "
        f"warned, {closing.closed} closed"
        + (
            f"; idle rules: {trial.idle.fired} would fire"
            if trial.idle is not None and config.policy.idle_rules
            else ""
        )
    )
    for event in changes.events:
        details = ", ".join(f"{key} {value}" for key, value in event.data.items() if value)
        click.echo(f"  #{event.ticket} {event.kind}" + (f": {details}" if details else ""))
    if changes.mail:
        click.echo("Mail that would be sent:")
    for mail in changes.mail:
        ticket = f"#{mail.ticket} " if mail.ticket else ""
        click.echo(f"  {ticket}{mail.kind} to {', '.join(mail.recipients)}: {mail_subject(mail)}")
