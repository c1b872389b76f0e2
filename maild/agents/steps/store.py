"""The agent's mail, stored on its ticket: an answer, or an internal note."""

from __future__ import annotations

import logging

from maild.agents.reply import AgentReply
from maild.pipeline.context import IntakeContext, ticket_view
from maild.pipeline.storing import store_mail
from maild.ticketing.editor import TicketEditor
from storage.models import MessageKind

log = logging.getLogger(__name__)


class StoreAgentMail:
    """Stores the mail as the answer that was relayed, or else as an internal note, and why
    it is one (``#note``, the note address, the mailbox's ``agent_mail = "note"``, failed
    commands, a withheld answer); writes the ticket's changes. After ``#merge`` it goes on
    the ticket merged into. The job then ends on that ticket."""

    name = "store-agent-mail"

    def __call__(self, context: IntakeContext) -> None:
        reply = context.part(AgentReply)
        editor, stored_on = reply.editor, reply.stored_on
        if reply.kind == MessageKind.NOTE:
            editor.record_event("note.added", reason=note_reason(reply))
        editor.save()
        store_mail(context, stored_on.id, reply.kind, reply.text)
        if stored_on.id != reply.record.id:
            target = TicketEditor(
                context.connection, stored_on, context.now, reply.actor, events=context.events
            )
            target.record_event("note.added", reason="merge")
        context.ticket = ticket_view(stored_on)
        log.info(
            "agent %s: %s on ticket #%s",
            reply.agent.address,
            reply.kind,
            stored_on.number,
            extra={"ticket": stored_on.number},
        )


def note_reason(reply: AgentReply) -> str:
    if reply.withheld is not None:
        return "reply withheld"
    if reply.errors:
        return "commands failed"
    return "note address" if reply.to_note else "note"
