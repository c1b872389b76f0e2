"""``maild rules check|test``: validate the rules, and try them on a real mail.

``test`` hands the mail to the real intake pipeline on a scratch copy of the database
(``maild.simulation``, the path ``maild import --dry-run`` takes too) and shows what
happened there: the ticket it made or continued, the rules that matched and why, the
assignee, the SLA deadlines and the mail that would go out. The live database is only read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from maild.cli.context import CliContext, config_option, pass_cli
from maild.cli.output import echo_json
from maild.config import Config, ConfigError, load_config
from rules.engine import RuleOutcome

if TYPE_CHECKING:
    from maild.simulation import MailTrial


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
    """Hand FILE (an .eml) to intake as it would arrive by SMTP, on a scratch copy of the
    database: the ticket it would make or continue, the rules that match and why, the
    assignee, the SLA and the mail that would go out. Nothing is stored or sent."""
    from sqlalchemy.exc import OperationalError

    from maild.simulation import quiet_logs, simulate_mail
    from storage.schema import SchemaError

    config = cli.config()
    if mailbox is not None and config.mailbox(mailbox.strip().lower()) is None:
        raise click.BadParameter(f"not a configured mailbox: {mailbox}", param_hint="--mailbox")
    try:
        with quiet_logs(cli.log_level is None):
            trial = simulate_mail(
                config,
                file.read_bytes(),
                at=_instant(at),
                mailbox=mailbox,
                include_disabled=include_disabled,
            )
    except (SchemaError, OperationalError) as error:
        raise click.ClickException(str(error)) from None
    report = trial_report(trial, config)
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


def trial_report(trial: MailTrial, config: Config) -> dict[str, Any]:
    """``maild rules test --json``: what the simulation found, as plain data."""
    from maild.simulation import changes_json, event_json
    from maild.sla.sweep import sla_duration

    parsed, policy = trial.parsed, config.policy
    sender = parsed.from_.key if parsed.from_ else ""
    ticket = trial.ticket
    changes = changes_json(trial.changes, events=False)
    report: dict[str, Any] = {
        "mail": {
            "from": sender,
            "subject": parsed.subject,
            "mailbox": trial.mailbox,
            "automated": trial.result.automated or parsed.automated,
            "problem": parsed.problem,
            "vip": policy.vip.is_vip(sender) if sender else False,
        },
        "at": trial.at.isoformat(),
        "simulated_on": trial.source,
        "outcome": str(trial.result.outcome),
        "quarantine": trial.quarantine,
        "rules": [_outcome(outcome, outcome.rule in _enabled(config)) for outcome in trial.rules],
        "actions": [action.describe() for outcome in trial.rules for action in outcome.actions],
        "ticket": None,
        "assignment": None,
        "sla": [],
        "would_send": changes["mail"],
        "events": [event_json(event) for event in trial.events],
        "notes": list(trial.notes),
    }
    if trial.quarantine is not None:
        report["notes"] = [
            f"quarantined ({trial.quarantine}): the daemon would hold it, make no ticket"
        ]
    if ticket is None:
        return report
    created = next((t for t in trial.changes.tickets if t.number == ticket.number), None)
    report["ticket"] = {
        "number": ticket.number,
        "new": created is not None,
        "linked_to": created.linked_to if created else None,
        "status": str(ticket.status),
        "priority": ticket.priority,
        "category": ticket.category,
        "tags": sorted(ticket.tags),
        "team": ticket.team,
        "tier": ticket.tier,
        "assignee": ticket.assignee,
    }
    report["assignment"] = _assignment(trial)
    calendar = policy.sla.calendar
    if trial.sla is not None:
        report["sla"] = [
            {
                "target": str(target.target),
                "goal": sla_duration(target.goal, calendar),
                "deadline": target.deadline.isoformat() if target.deadline else None,
                "warn_at": target.warn_at.isoformat() if target.warn_at else None,
            }
            for target in trial.sla.targets
        ]
    return report


def _enabled(config: Config) -> set[str]:
    return {rule.name for rule in config.policy.rules if rule.enabled}


def _assignment(trial: MailTrial) -> dict[str, Any] | None:
    """The last assignment a rule made, as its event tells it."""
    for event in reversed(trial.events):
        if event.kind == "assignment.changed" and event.actor.startswith("rule:"):
            data = event.data
            return {
                "rule": data.get("rule", event.actor.removeprefix("rule:")),
                "agent": data.get("to"),
                "team": data.get("team"),
                "strategy": data.get("strategy"),
                "reason": data.get("why", ""),
                "skipped": list(data.get("skipped", [])),
            }
    return None


def _outcome(outcome: RuleOutcome, enabled: bool) -> dict[str, Any]:
    return {
        "rule": outcome.rule,
        "matched": outcome.matched,
        "enabled": enabled,
        "reasons": list(outcome.reasons),
        "stop": outcome.stopped,
    }


_OUTCOME_WORDS = {
    "new_ticket": "a new ticket",
    "reply": "a reply on",
    "duplicate": "a duplicate of mail on",
}


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
    ticket = report["ticket"]
    linked = f", linked to #{ticket['linked_to']}" if ticket["linked_to"] else ""
    echo(
        f"At {report['at']}: {_OUTCOME_WORDS[report['outcome']]} #{ticket['number']}{linked}"
        + (" (VIP requester)" if mail["vip"] else "")
    )
    echo(f"Simulated on {report['simulated_on']}: nothing was stored, nothing was sent")
    for note in report["notes"]:
        echo(f"Note: {note}")
    if not report["notes"]:
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
    echo("")
    echo(
        f"Ticket: status {ticket['status']}, priority {ticket['priority']}, "
        f"category {ticket['category'] or '-'}, tags {', '.join(ticket['tags']) or '-'}, "
        f"team {ticket['team'] or '-'}, tier {ticket['tier'] or '-'}"
    )
    assignment = report["assignment"]
    if assignment is None:
        who = ticket["assignee"]
        echo(f"Assignee: {who} (already)" if who else "Assignee: nobody (no rule assigns it)")
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
        due = f"due {target['deadline']}" if target["deadline"] else "paused"
        echo(f"  {target['target']}: {target['goal']}, {due}{warn}")
    echo("")
    echo("Mail that would be sent:")
    for sent in report["would_send"] or [None]:
        if sent is None:
            echo("  (none)")
            continue
        echo(f"  {sent['kind']} to {', '.join(sent['to'])}: {sent['subject']}")
