"""Tells the agents about customer mail: who hears of a new ticket or a reply.

A new ticket goes to its assignee, else its team, else the mailbox's ``notify_new`` ("all"
active agents, or a team); a reply goes to the assignee, else the team, else
``notify_new``. Someone a rule already told about this mail ("assigned to you") is not told
again. Automated mail is announced only when it opens a ticket (an alert from a monitoring
system); quiet sources (``maild import`` without ``--notify``) tell nobody.
"""

from __future__ import annotations

from maild.config import Config
from maild.pipeline.context import IntakeContext
from maild.ticketing.notify import Notifier, Recipient
from maild.ticketing.record import TicketRecord
from rules.config import RulesConfig


def has_audience(policy: RulesConfig) -> bool:
    """Anyone to tell at all: an agent, or a team with a distribution address."""
    return bool(policy.agents) or any(team.address for team in policy.teams)


class NotifyAgents:
    name = "notify-agents"

    def __init__(self, config: Config, notifier: Notifier) -> None:
        self._config = config
        self._notifier = notifier

    def __call__(self, context: IntakeContext) -> None:
        if context.agent is not None or context.withheld:
            return
        # Automated mail is announced when it opens a ticket (a monitoring alert from a null
        # sender must not sit unseen), never when it lands on one (an out-of-office reply).
        if context.automated is not None and not context.created:
            return
        if context.job.delivery.history is not None:  # imported history tells nobody
            return
        if not context.job.delivery.notify or not has_audience(context.policy):
            return
        policy = context.policy
        record = context.ticket_record()
        reason = self.reason(context)
        sent = self._notifier.send(
            context.connection,
            record,
            self.recipients(record, policy),
            template="notification",
            reason=reason,
            now=context.now,
            policy=policy,
            skip=context.notified,
            variables={"cc_added": list(context.cc_added)},
            parent_index=next(iter(context.parsed.header_values("Thread-Index")), None),
        )
        if sent:
            context.editor("system").record_event("notification.queued", to=sent, reason=reason)
            context.notified.update(sent)

    @staticmethod
    def reason(context: IntakeContext) -> str:
        """The notice's first line: a new ticket and from whom, or who replied."""
        if not context.created:
            return f"{context.sender_name or context.sender} replied"
        sender = (
            f"{context.sender_name} <{context.sender}>" if context.sender_name else context.sender
        )
        if context.automated is not None:
            return f"New ticket from automated mail ({context.automated}) from {sender}"
        return f"New ticket from {sender}"

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
