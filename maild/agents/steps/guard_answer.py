"""The last guard before an agent's answer reaches a customer; it keeps or drops the commands."""

from __future__ import annotations

import logging

from maild.agents.notices import queue_agent_error
from maild.agents.reply import AgentReply
from maild.agents.withhold import withheld_reply
from maild.config import Config
from maild.pipeline.context import IntakeContext
from outbound.templating import TemplateRenderer

log = logging.getLogger(__name__)


class GuardAnswer:
    """An answer meant for the customer that still carries our notification or an internal
    note (:mod:`maild.agents.withhold`) is not sent: its commands are rolled back, it is
    kept as a note, and the agent is told why. Checked before the commands are kept, so a
    withheld answer leaves the ticket as it was, as the agent's error mail says. Otherwise
    the commands stand, and the notices they caused go out."""

    name = "withheld-guard"

    def __init__(self, config: Config, renderer: TemplateRenderer) -> None:
        self._config = config
        self._renderer = renderer

    def __call__(self, context: IntakeContext) -> None:
        reply = context.part(AgentReply)
        if reply.pending is None:
            return  # the commands failed and are undone already
        if reply.answers_customer:
            reply.withheld = withheld_reply(
                context.connection, reply.record.id, reply.agent, reply.answer
            )
        if reply.withheld is None:
            reply.keep_commands()
            return
        reply.undo_commands(context)
        reply.editor.record_event("reply.withheld", reason=reply.withheld.reason)
        log.warning(
            "agent %s: reply withheld (%s)",
            reply.agent.address,
            reply.withheld.reason,
            extra={"ticket": reply.record.number},
        )
        queue_agent_error(
            context,
            config=self._config,
            renderer=self._renderer,
            mailbox=reply.box,
            errors=[reply.withheld.message],
            record=reply.record,
        )
