"""Who gets a ticket, decided by ``rules.assignment`` on what the database knows.

The strategies are pure; this module feeds them the agents' workloads (one grouped query)
and the persisted round-robin position of the team, writes the new position back in the
caller's transaction (so a restart goes on with the next agent), changes the ticket through
its :class:`TicketEditor` and tells the new assignee, or the team when nobody could take it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from maild.ticketing.editor import TicketEditor
from maild.ticketing.notify import Recipient
from rules.assignment import Pick, Workload, members, pick
from rules.config import AssignSpec, RulesConfig
from storage import assignment as stored

if TYPE_CHECKING:  # actions.py imports this module
    from maild.automation.actions import TicketWork

log = logging.getLogger(__name__)

ALL_AGENTS = ""
"""The round-robin cursor key when a strategy runs over every agent (no team)."""


@dataclass(frozen=True, slots=True)
class Assignment:
    """What an assignment did: the new assignee (None: nobody was eligible, the ticket is
    with ``team``), the strategy's answer when one ran, and who was told."""

    agent: str | None
    team: str | None
    pick: Pick | None = None
    notified: tuple[str, ...] = ()
    changed: bool = False


# --------------------------------------------------------------------------- database


def choose(
    connection: Connection,
    policy: RulesConfig,
    strategy: str,
    team: str | None,
    category: str | None,
    now: datetime,
    *,
    persist: bool = True,
) -> Pick:
    """Run ``strategy`` among ``team`` (every agent when None) on the stored workloads;
    persist the round-robin position unless ``persist`` is False (``maild rules test``)."""
    candidates = members(policy.agents, team)
    loads = {
        address: Workload(count, last_assigned)
        for address, (count, last_assigned) in stored.workloads(
            connection, (agent.address for agent in candidates)
        ).items()
    }
    key = team or ALL_AGENTS
    last = stored.round_robin_position(connection, key) if strategy == "round_robin" else None
    chosen = pick(
        strategy,
        policy.agents,
        team=team,
        category=category,
        last_index=last,
        workloads=loads,
        now=now,
        default_tz=policy.sla.timezone,
    )
    if (
        persist
        and chosen.round_robin_index is not None
        and chosen.round_robin_index != last
        and chosen.agent is not None
    ):
        stored.save_round_robin_position(connection, key, chosen.round_robin_index)
    return chosen


# --------------------------------------------------------------------------- assigning


def assign(
    work: TicketWork,
    editor: TicketEditor,
    spec: AssignSpec,
    *,
    actor: str,
    skip_notify: Iterable[str] = (),
    reason: str | None = None,
) -> Assignment:
    """Assign per ``spec``; see :func:`maild.automation.actions.assign_ticket`."""
    record = editor.record
    policy = work.policy
    if spec.agent is not None:
        agent = policy.agent_for(spec.agent)
        address = agent.address if agent else spec.agent
        changed = editor.assign(address, None, actor, strategy="agent")
        notified = _tell_assignee(work, editor, address, actor, reason) if changed else ()
        return Assignment(address, record.team, None, notified, changed)
    team = spec.team if spec.team is not None else record.team
    strategy = spec.strategy or policy.assignment.strategy
    chosen = choose(work.connection, policy, strategy, team, record.category, work.now)
    details: dict[str, object] = {"strategy": chosen.strategy, "why": chosen.reason}
    if chosen.skipped:
        details["skipped"] = [f"{address}: {why}" for address, why in chosen.skipped]
    if chosen.agent is not None:
        changed = editor.assign(chosen.agent, team, actor, keep_team=True, **details)
        notified = _tell_assignee(work, editor, chosen.agent, actor, reason) if changed else ()
        return Assignment(chosen.agent, team, chosen, notified, changed)
    changed = editor.assign(None, team, actor, keep_team=False, **details)
    log.warning("nobody to assign: %s", chosen.reason, extra={"ticket": record.number})
    tag = ticket_tag(work, editor)
    where = f"team {team}" if team else "the agents"
    notified = send_notice(
        work,
        editor,
        work.notifier.team_members(team, policy),
        reason=f"Ticket {tag} needs an owner: nobody in {where} is available right now",
        skip=skip_notify,
    )
    return Assignment(None, team, chosen, notified, changed)


def ticket_tag(work: TicketWork, editor: TicketEditor) -> str:
    return str(work.notifier.ticket_variables(editor.record, work.policy)["ticket_tag"])


def _tell_assignee(
    work: TicketWork,
    editor: TicketEditor,
    address: str,
    actor: str,
    reason: str | None,
) -> tuple[str, ...]:
    """ "Assigned to you", unless the agent did it themselves (``#assign me``)."""
    if actor == f"agent:{address}":
        return ()
    agent = work.policy.agent_for(address)
    text = reason or f"Ticket {ticket_tag(work, editor)} was assigned to you"
    return send_notice(
        work,
        editor,
        [Recipient(agent.name if agent else "", address)],
        reason=text,
        to_watchers=False,  # "assigned to you" is for the assignee alone
    )


def send_notice(
    work: TicketWork,
    editor: TicketEditor,
    recipients: list[Recipient],
    *,
    reason: str,
    skip: Iterable[str] = (),
    template: str = "notification",
    variables: Mapping[str, object] | None = None,
    to_watchers: bool = True,
) -> tuple[str, ...]:
    sent = work.notifier.send(
        work.connection,
        editor.record,
        recipients,
        template=template,
        reason=reason,
        now=work.now,
        policy=work.policy,
        variables=variables,
        skip=skip,
        to_watchers=to_watchers,
    )
    return tuple(sent)
