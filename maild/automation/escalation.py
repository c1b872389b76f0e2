"""Escalation applied to a stored ticket: one tier up (or to a named tier), the priority
raised as the tier says, the ticket handed to the tier's team (its agent picked by the
``[assignment] strategy``) and the tier's people told.

Where a ticket goes is decided by ``rules.escalation`` (pure); this module makes it so in
the caller's transaction, through the ticket's :class:`TicketEditor`, so every step is an
event naming who escalated (``rule:NAME``, ``agent:ADDRESS``, ``sla``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from maild.automation.assignment import choose, send_notice, ticket_tag
from maild.ticketing.editor import TicketEditor
from maild.ticketing.notify import Recipient
from rules.escalation import escalation_target, raised_priority

if TYPE_CHECKING:  # actions.py imports this module
    from maild.automation.actions import TicketWork

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Escalation:
    """The tier reached (None: nowhere to go), the new assignee, and who was told."""

    tier: str | None
    agent: str | None = None
    notified: tuple[str, ...] = ()


def escalate(
    work: TicketWork, editor: TicketEditor, *, to: str | None, actor: str, reason: str
) -> Escalation:
    """See :func:`maild.automation.actions.escalate_ticket`."""
    record, policy = editor.record, work.policy
    tiers = policy.escalation.tiers
    try:
        tier = escalation_target(tiers, record.tier, to)
    except ValueError as error:  # a tier removed from the rules since
        log.warning("not escalated: %s", error, extra={"ticket": record.number})
        return Escalation(None)
    if tier is None:
        log.info(
            "not escalated (%s): already at tier %s",
            reason,
            record.tier or "none",
            extra={"ticket": record.number},
        )
        return Escalation(None)
    editor.set_tier(tier.name, actor, reason=reason)
    priority = raised_priority(policy.priorities, record.priority, tier)
    editor.set_priority(priority, actor)
    tag = ticket_tag(work, editor)
    agent: str | None = None
    notified: list[str] = []
    if tier.team is not None:
        chosen = choose(
            work.connection,
            policy,
            policy.assignment.strategy,
            tier.team,
            record.category,
            work.now,
        )
        agent = chosen.agent
        editor.assign(
            agent,
            tier.team,
            actor,
            keep_team=False,
            strategy=chosen.strategy,
            why=chosen.reason,
        )
        if agent is not None and actor != f"agent:{agent}":
            person = policy.agent_for(agent)
            notified += send_notice(
                work,
                editor,
                [Recipient(person.name if person else "", agent)],
                reason=f"Ticket {tag} was escalated to tier {tier.name} and assigned to you "
                f"({reason})",
                to_watchers=False,
            )
    recipients = []
    if tier.team is not None:
        recipients += work.notifier.team_members(tier.team, policy)
    recipients += work.notifier.resolve(record, tier.addresses, policy)
    notified += send_notice(
        work,
        editor,
        recipients,
        reason=f"Ticket {tag} was escalated to tier {tier.name} ({reason})",
        skip=notified,
    )
    log.info("escalated to tier %s (%s)", tier.name, reason, extra={"ticket": record.number})
    return Escalation(tier.name, agent, tuple(notified))
