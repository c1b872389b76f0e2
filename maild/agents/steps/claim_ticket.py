"""The first agent who answers an unassigned ticket becomes its assignee."""

from __future__ import annotations

import logging

from maild.agents.reply import AgentReply
from maild.pipeline.context import IntakeContext

log = logging.getLogger(__name__)


class ClaimTicket:
    """An answer that reached the customer on a ticket nobody owns makes its agent the
    assignee (the team stays), unless an ``#assign`` or ``#unassign`` line of the same mail
    said who owns it (:attr:`AgentReply.claims`). Recorded like ``#assign me``; from then
    on the customer's replies notify the assignee only."""

    name = "claim-ticket"

    def __call__(self, context: IntakeContext) -> None:
        reply = context.part(AgentReply)
        if not reply.claims:
            return
        reply.editor.assign(reply.agent.address, strategy="first-answer")
        log.info(
            "%s answered first: assigned",
            reply.agent.address,
            extra={"ticket": reply.record.number},
        )
