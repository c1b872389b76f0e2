"""An answer that reached the customer fires the rules of ``ticket.agent_replied``."""

from __future__ import annotations

from maild.agents.reply import AgentReply
from maild.automation.actions import TicketWork
from maild.automation.apply import listens, run_rules
from maild.automation.steps.apply_rules import mail_event
from maild.pipeline.context import IntakeContext
from maild.ticketing.notify import Notifier
from rules.model import EventKind
from storage.models import MessageKind


class FireAgentReplied:
    """The rules that listen to ``ticket.agent_replied`` run on the ticket once the answer
    is relayed and stored; without such a rule nothing is loaded."""

    name = "rules-agent-replied"

    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    def __call__(self, context: IntakeContext) -> None:
        reply = context.part(AgentReply)
        if reply.kind != MessageKind.AGENT:
            return
        if not listens(context.policy, EventKind.AGENT_REPLIED):
            return
        work = TicketWork(context.connection, context.policy, self._notifier, context.now)
        run_rules(work, reply.editor, mail_event(context, EventKind.AGENT_REPLIED))
        reply.editor.save()
