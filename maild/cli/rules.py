"""``maild rules check|test``: validate the rules, and try them on a real mail.

``test`` builds the ticket the pipeline would open for the mail, runs the rules on it and
shows what would happen: the rules that match and why, the actions, the assignee the
strategy would pick (from the database's workloads when there is a database) and the SLA
deadlines. It stores nothing: the database, when it exists, is only read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Connection, create_engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from maild.automation.assignment import choose
from maild.cli.context import CliContext, config_option, pass_cli
from maild.cli.output import echo_json
from maild.config import Config, ConfigError, load_config
from parsing import parse_message
from parsing.ticketref import strip_reply_prefixes
from rules.assignment import Pick, pick
from rules.config import AssignSpec, RulesConfig
from rules.engine import RuleOutcome, explain
from rules.escalation import escalation_target, raised_priority
from rules.model import Action, ActionKind, Escalate, Event, EventKind, TicketView
from rules.sla import sla_status


@click.group()
def rules() -> None:
    """Check the rules, and try them on a mail."""


@rules.command("check")
@config_option
@pass_cli
def check_rules(cli: CliContext) -> None:
    """Validate the configuration and the rules; exit 1 with the key paths on errors."""
    path = cli.resolved_path
    try:
        config = load_config(path)
    except ConfigError as error:
        text = str(error)
        if path is not None:
            text = text.removeprefix(f"{path}: ")
        click.echo(f"{path or 'configuration'}: errors:", err=True)
        for line in text.splitlines():
            click.echo(f"  {line}", err=True)
        raise SystemExit(1) from None
    policy = config.policy
    disabled = len(policy.rules) - len(policy.active_rules)
    click.echo(
        f"OK: {len(policy.rules)} rules, {len(policy.agents)} agents, "
        f"{len(policy.teams)} teams, {len(policy.escalation.tiers)} tiers"
        + (f" ({disabled} rules disabled)" if disabled else "")
    )


@rules.command("test")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--at", "at", help="When the mail arrives (ISO time, default now; naive = UTC).")
@click.option("--mailbox", help="The mailbox it reached (default: its To/Cc, else the first).")
@click.option("--include-disabled", is_flag=True, help="Try rules with enabled = false too.")
@click.option("--json", "as_json", is_flag=True)
@config_option
@pass_cli
def test_rules(
    cli: CliContext,
    file: Path,
    at: str | None,
    mailbox: str | None,
    include_disabled: bool,
    as_json: bool,
) -> None:
    """Run FILE (an .eml) through parsing and the rules as a new ticket; store nothing."""
    config = cli.config()
    now = _instant(at)
    report = simulate(config, file.read_bytes(), now, mailbox, include_disabled)
    if as_json:
        echo_json(report)
    else:
        _print(report)


def _instant(at: str | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(at)
    except ValueError:
        raise click.BadParameter(f"not an ISO time: {at!r}", param_hint="--at") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _mailbox(config: Config, to: list[str], wanted: str | None) -> str:
    ours = [box.address for box in config.mailboxes]
    if wanted is not None:
        if wanted.lower() not in ours:
            raise click.BadParameter(f"not a configured mailbox: {wanted}", param_hint="--mailbox")
        return wanted.lower()
    for address in to:
        if address in ours:
            return address
    return ours[0] if ours else ""


def simulate(
    config: Config, raw: bytes, now: datetime, mailbox: str | None, include_disabled: bool
) -> dict[str, Any]:
    """What the pipeline and the rules would do with ``raw`` as a new ticket at ``now``."""
    policy = config.policy
    parsed = parse_message(
        raw, ticket_prefix=config.maild.ticket_prefix, max_mime_depth=config.intake.max_mime_depth
    )
    sender = parsed.from_.key if parsed.from_ else ""
    box = _mailbox(config, [a.key for a in (*parsed.to, *parsed.cc)], mailbox)
    quarantine = parsed.quarantine_reason
    if quarantine is not None:  # no ticket is made, so no rule runs
        return {
            "mail": {
                "from": sender,
                "subject": parsed.subject,
                "mailbox": box,
                "automated": parsed.automated,
                "problem": parsed.problem,
                "vip": False,
            },
            "at": now.isoformat(),
            "quarantine": quarantine,
            "rules": [],
            "actions": [],
            "ticket": None,
            "assignment": None,
            "sla": [],
            "notes": [f"quarantined ({quarantine}): the daemon would hold it, make no ticket"],
        }
    view = TicketView(
        subject=strip_reply_prefixes(parsed.subject) or "(no subject)",
        requester=sender,
        mailbox=box,
        status="new",
        priority=config.maild.default_priority,
        vip=policy.vip.is_vip(sender) if sender else False,
        created_at=now,
    )
    event = Event(
        kind=EventKind.CREATED,
        sender=sender,
        subject=parsed.subject,
        body=parsed.new_text,  # rules match only new lines
        headers=parsed.headers,
        mailbox=box,
    )
    outcomes = explain(policy.rules, view, event, include_disabled=include_disabled)
    actions = [action for outcome in outcomes for action in outcome.actions]
    enabled = {rule.name: rule.enabled for rule in policy.rules}
    with _read_only(config) as connection:
        result, assignment = _predict(policy, view, actions, connection, now)
    status = sla_status(result, policy.sla_policy, policy.sla.calendar, now)
    return {
        "mail": {
            "from": sender,
            "subject": parsed.subject,
            "mailbox": box,
            "automated": parsed.automated,
            "problem": parsed.problem,
            "vip": view.vip,
        },
        "at": now.isoformat(),
        "quarantine": None,
        "rules": [_outcome(outcome, enabled.get(outcome.rule, True)) for outcome in outcomes],
        "actions": [action.describe() for action in actions],
        "ticket": {
            "priority": result.priority,
            "category": result.category,
            "tags": sorted(result.tags),
            "team": result.team,
            "tier": result.tier,
            "assignee": result.assignee,
        },
        "assignment": assignment,
        "sla": [
            {
                "target": str(target.target),
                "goal": _minutes(target.goal.total_seconds()),
                "deadline": target.deadline.isoformat() if target.deadline else None,
                "warn_at": target.warn_at.isoformat() if target.warn_at else None,
            }
            for target in status.targets
        ],
        "notes": (
            ["automated mail: the daemon would store it but run no rules"]
            if parsed.automated
            else []
        ),
    }


def _minutes(seconds: float) -> str:
    minutes = int(seconds // 60)
    hours, rest = divmod(minutes, 60)
    return f"{hours}h{rest:02d}m" if hours else f"{rest}m"


def _outcome(outcome: RuleOutcome, enabled: bool) -> dict[str, Any]:
    return {
        "rule": outcome.rule,
        "matched": outcome.matched,
        "enabled": enabled,
        "reasons": list(outcome.reasons),
        "stop": outcome.stopped,
    }


def _predict(
    policy: RulesConfig,
    view: TicketView,
    actions: list[Action],
    connection: Connection | None,
    now: datetime,
) -> tuple[TicketView, dict[str, Any] | None]:
    """The ticket after the actions, and who the assignment would pick and why."""
    assignment: dict[str, Any] | None = None
    for action in actions:
        value = action.value
        if action.kind is ActionKind.CATEGORY:
            view = dataclasses.replace(view, category=str(value))
        elif action.kind is ActionKind.PRIORITY:
            view = dataclasses.replace(view, priority=str(value))
        elif action.kind is ActionKind.TAGS:
            assert isinstance(value, tuple)
            view = dataclasses.replace(view, tags=view.tags | frozenset(value))
        elif action.kind is ActionKind.ASSIGN:
            assert isinstance(value, AssignSpec)
            if value.agent is not None:
                view = dataclasses.replace(view, assignee=value.agent)
                assignment = {"rule": action.rule, "agent": value.agent, "strategy": "agent"}
                continue
            team = value.team if value.team is not None else view.team
            strategy = value.strategy or policy.assignment.strategy
            chosen = _choose(policy, connection, strategy, team, view.category, now)
            view = dataclasses.replace(view, assignee=chosen.agent, team=team)
            assignment = _pick(action.rule, chosen)
        elif action.kind is ActionKind.ESCALATE:
            assert isinstance(value, Escalate)
            tier = escalation_target(policy.escalation.tiers, view.tier, value.tier)
            if tier is None:
                continue
            priority = raised_priority(policy.priorities, view.priority, tier)
            view = dataclasses.replace(view, tier=tier.name, priority=priority)
            if tier.team is not None:
                strategy = policy.assignment.strategy
                chosen = _choose(policy, connection, strategy, tier.team, view.category, now)
                view = dataclasses.replace(view, team=tier.team, assignee=chosen.agent)
                assignment = _pick(action.rule, chosen)
    return view, assignment


def _pick(rule: str, chosen: Pick) -> dict[str, Any]:
    return {
        "rule": rule,
        "agent": chosen.agent,
        "team": chosen.team,
        "strategy": chosen.strategy,
        "reason": chosen.reason,
        "skipped": [f"{address}: {why}" for address, why in chosen.skipped],
    }


def _choose(
    policy: RulesConfig,
    connection: Connection | None,
    strategy: str,
    team: str | None,
    category: str | None,
    now: datetime,
) -> Pick:
    if connection is not None:
        try:
            return choose(connection, policy, strategy, team, category, now, persist=False)
        except SQLAlchemyError:
            pass  # an old or foreign database: as if empty
    return pick(
        strategy,
        policy.agents,
        team=team,
        category=category,
        now=now,
        default_tz=policy.sla.timezone,
    )


@contextmanager
def _read_only(config: Config) -> Iterator[Connection | None]:
    """A connection to the database if it exists, rolled back at the end; never creates
    one (a SQLite file that is not there stays not there)."""
    url = make_url(config.database_url)
    if url.get_backend_name() == "sqlite" and (not url.database or not Path(url.database).exists()):
        yield None
        return
    engine = create_engine(url)
    try:
        try:
            connection = engine.connect()
        except SQLAlchemyError:
            yield None
            return
        with connection:
            try:
                yield connection
            finally:
                connection.rollback()
    finally:
        engine.dispose()


def _print(report: dict[str, Any]) -> None:
    mail = report["mail"]
    echo = click.echo
    echo(f"Mail from {mail['from'] or '(no sender)'} to {mail['mailbox']}: {mail['subject']!r}")
    if report["quarantine"] is not None:
        echo(
            f"Quarantine: {report['quarantine']}: the daemon would hold this mail in "
            "quarantine (maild quarantine list), make no ticket and run no rules"
        )
        return
    echo(f"As a new ticket at {report['at']}{' (VIP requester)' if mail['vip'] else ''}")
    for note in report["notes"]:
        echo(f"Note: {note}")
    echo("")
    echo("Rules:")
    if not report["rules"]:
        echo("  (no rules)")
    for item in report["rules"]:
        mark = "MATCH" if item["matched"] else "no   "
        flags = "" if item["enabled"] else " (disabled)"
        flags += ", stop" if item["stop"] else ""
        echo(f"  {mark} {item['rule']}{flags}")
        for reason in item["reasons"]:
            echo(f"          {reason}")
    echo("")
    echo("Actions:")
    for action in report["actions"] or ["(none)"]:
        echo(f"  {action}")
    ticket = report["ticket"]
    echo("")
    echo(
        f"Ticket: priority {ticket['priority']}, category {ticket['category'] or '-'}, "
        f"tags {', '.join(ticket['tags']) or '-'}, team {ticket['team'] or '-'}, "
        f"tier {ticket['tier'] or '-'}"
    )
    assignment = report["assignment"]
    if assignment is None:
        echo("Assignee: nobody (no rule assigns it)")
    elif assignment["strategy"] == "agent":
        echo(f"Assignee: {assignment['agent']} (rule {assignment['rule']!r})")
    else:
        who = assignment["agent"] or "nobody"
        echo(
            f"Assignee: {who} ({assignment['strategy']}, rule {assignment['rule']!r}: "
            f"{assignment['reason']})"
        )
        for skipped in assignment["skipped"]:
            echo(f"  skipped {skipped}")
    echo("")
    echo("SLA:")
    for target in report["sla"] or [{"target": "(no targets)"}]:
        if "goal" not in target:
            echo(f"  {target['target']}")
            continue
        warn = f", warning at {target['warn_at']}" if target["warn_at"] else ""
        echo(f"  {target['target']}: {target['goal']}, due {target['deadline']}{warn}")
