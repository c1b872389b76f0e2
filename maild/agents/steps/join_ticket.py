"""An agent who wrote on a ticket is one of its participants."""

from __future__ import annotations

from maild.agents.reply import AgentReply
from maild.pipeline.context import IntakeContext
from storage import tickets
from storage.models import ParticipantRole


class JoinAsAgent:
    """Adds the agent to the ticket the mail was stored on, as an agent participant."""

    name = "join-agent"

    def __call__(self, context: IntakeContext) -> None:
        reply = context.part(AgentReply)
        agent, ticket_id = reply.agent, reply.stored_on.id
        if agent.address not in tickets.participant_addresses(context.connection, ticket_id):
            tickets.insert_participants(
                context.connection,
                ticket_id,
                [(agent.address, agent.name, ParticipantRole.AGENT)],
            )
