"""Tells the agents about customer mail: who hears of a new ticket or a reply.

A new ticket goes to its assignee, else its team, else the mailbox's ``notify_new`` ("all"
active agents, or a team); a reply goes to the assignee, else the team, else
``notify_new``. Someone a rule already told about this mail ("assigned to you") is not told
again, and automated mail and quiet sources (``maild import`` without ``--notify``) tell
nobody.
"""

from __future__ import annotations

import logging

from maild.config import Config
from maild.pipeline.context import IntakeContext
from maild.ticketing.editor import TicketEditor
from maild.ticketing.notify import Notifier, Recipient
from maild.ticketing.record import TicketRecord, load_ticket
from rules.config import RulesConfig

log = logging.getLogger(__name__)


def has_audience(policy: RulesConfig) -> bool:
    """Anyone to tell at all: an agent, or a team with a distribution address."""
    return bool(policy.agents) or any(team.address for team in policy.teams)


class NotifyAgents:
    name = "notify-agents"

    def __init__(self, config: Config, notifier: Notifier) -> None:
        self._config = config
        self._notifier = notifier

    def __call__(self, context: IntakeContext) -> None:
        if context.automated is not None or context.agent is not None or context.withheld:
            return
        if not context.job.delivery.notify or not has_audience(context.policy):
            return
        ticket = context.ticket
        assert ticket is not None
        policy = context.policy
        record = load_ticket(context.connection, ticket.id)
        recipients = self.recipients(record, policy)
        who = context.sender_name or context.sender
        if context.created:
            sender = (
                f"{context.sender_name} <{context.sender}>"
                if context.sender_name
                else context.sender
            )
            reason = f"New ticket from {sender}"
        else:
            reason = f"{who} replied"
        sent = self._notifier.send(
            context.connection,
            record,
            recipients,
            template="notification",
            reason=reason,
            now=context.now,
            policy=policy,
            skip=context.notified,
            variables={"cc_added": list(context.cc_added)},
        )
        if sent:
            editor = TicketEditor(context.connection, record, context.now, "system")
            editor.record_event("notification.queued", to=sent, reason=reason)
            editor.save()
            context.notified.update(sent)

    def recipients(self, record: TicketRecord, policy: RulesConfig) -> list[Recipient]:
        notifier = self._notifier
        if record.assignee:
            return notifier.resolve(record, [record.assignee], policy)
        if record.team:
            found = notifier.team_members(record.team, policy)
            if found:
                return found
        box = self._config.mailbox(record.mailbox)
        audience = box.notify_new if box is not None else "all"
        return notifier.team_members(None if audience == "all" else audience, policy)
