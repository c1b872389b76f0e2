"""Finds the ticket a message continues, and links the one a stranger names."""

from __future__ import annotations

import logging

from maild.pipeline.context import IntakeContext
from outbound.compose import token_from_message_id
from storage import adoption, tickets
from storage.tickets import TicketView

log = logging.getLogger(__name__)


class Thread:
    """Finds the ticket a message continues.

    In order (DESIGN.md, Tickets): a Message-ID we sent (it carries the ticket's token) or
    stored, named in In-Reply-To / References; then our reply token in a recipient address;
    then the subject tag; last, a late parent: a stored reply of a participant names this
    mail's Message-ID, so it goes on the reply's ticket (:meth:`_adopt`). Only our
    Message-IDs and reply addresses carry the unguessable token; a customer's Message-ID is
    no secret (everyone on the first mail has it, list archives publish it) and neither is a
    ticket number. So a stored Message-ID, the tag or a late parent alone threads only a
    participant's mail; anyone else's opens a new ticket linked to the
    named one, and nobody writes into a stranger's ticket (invariant 6). A mail that claims
    an agent's address without passing the trust rule is nobody's participant.
    """

    name = "thread"

    def __call__(self, context: IntakeContext) -> None:
        if context.ticket is not None:
            return
        connection, parsed = context.connection, context.parsed
        thread_ids = parsed.thread_ids
        our_tokens = [t for t in map(token_from_message_id, thread_ids) if t]
        for threaded_by, find in (
            ("message-id", lambda: tickets.by_tokens(connection, our_tokens)),
            (
                "references",
                lambda: tickets.by_stored_message_id(
                    connection, context.job.mailbox.address, thread_ids
                ),
            ),
            ("reply-token", lambda: tickets.by_tokens(connection, context.job.reply_tokens)),
        ):
            ticket = find()
            if ticket is None:
                continue
            if threaded_by == "references" and not self._participant(context, ticket):
                self._link(context, ticket, "a customer's Message-ID")
            else:
                context.ticket, context.threaded_by = ticket, threaded_by
            return
        named = None
        if parsed.ticket_ref is not None:
            named = tickets.by_number(connection, parsed.ticket_ref)
        if named is None:
            self._adopt(context)
        elif self._participant(context, named):
            context.ticket, context.threaded_by = named, "subject-tag"
        else:
            self._link(context, named, "the subject tag")

    @staticmethod
    def _adopt(context: IntakeContext) -> None:
        """A late parent: a stored reply names this mail's Message-ID (MTAs deliver out of
        order), and the sender is a participant of the reply's ticket. Not automated mail,
        not a suspect, not an agent's (the agent chain finds its own ticket)."""
        if context.automated is not None or context.suspect or context.agent is not None:
            return
        message_id = context.parsed.message_id
        if not message_id:
            return
        ticket = adoption.adopting_ticket(
            context.connection, context.job.mailbox.address, message_id, context.sender
        )
        if ticket is None:
            return
        log.info(
            "%s arrived after a reply naming it: adopted by ticket #%s",
            message_id,
            ticket.number,
            extra={"ticket": ticket.number},
        )
        context.ticket, context.threaded_by = ticket, "late-parent"
        context.record("message.adopted_late_parent", message_id=message_id)

    @staticmethod
    def _participant(context: IntakeContext, ticket: TicketView) -> bool:
        if context.suspect:
            return False
        return context.sender in tickets.participant_addresses(context.connection, ticket.id)

    @staticmethod
    def _link(context: IntakeContext, ticket: TicketView, by: str) -> None:
        log.info(
            "%s names ticket #%s by %s but is not on it: opening a new ticket",
            context.sender,
            ticket.number,
            by,
            extra={"ticket": ticket.number},
        )
        context.linked_ticket = ticket
