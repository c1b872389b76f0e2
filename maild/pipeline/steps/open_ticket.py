"""Creates the ticket for a message that continues none."""

from __future__ import annotations

from maild.config import Config
from maild.pipeline.context import IntakeContext
from outbound.compose import new_ticket_token
from parsing.ticketref import strip_reply_prefixes
from storage import queries, tickets
from storage.models import ParticipantRole, TicketStatus
from storage.outbox import normalised_address
from storage.tickets import TicketView


class OpenTicket:
    """Creates the ticket, with its requester, when the message continues none: the next
    number, a new reply token, the default priority, and the ticket a stranger's tag or a
    closed ticket's follow-up links it to."""

    name = "open-ticket"

    def __init__(self, config: Config) -> None:
        self._config = config

    def __call__(self, context: IntakeContext) -> None:
        if context.ticket is not None:
            return
        connection, parsed = context.connection, context.parsed
        number = queries.next_ticket_number(connection, self._config.maild.first_ticket_number)
        subject = strip_reply_prefixes(parsed.subject) or "(no subject)"
        values = {
            "number": number,
            "token": new_ticket_token(),
            "mailbox": context.job.mailbox.address,
            "subject": subject,
            "status": TicketStatus.NEW,
            "priority": self._config.maild.default_priority,
            "requester": context.sender,
            "requester_name": context.sender_name,
            "requester_key": normalised_address(context.sender),
            "linked_ticket_id": context.linked_ticket.id if context.linked_ticket else None,
            "created_at": context.now,
            "updated_at": context.now,
        }
        ticket_id = tickets.insert_ticket(connection, **values)
        context.ticket = TicketView(
            ticket_id,
            number,
            values["token"],
            values["mailbox"],
            subject,
            TicketStatus.NEW,
            context.sender,
        )
        context.created = True
        tickets.insert_participants(
            connection,
            ticket_id,
            [(context.sender, context.sender_name, ParticipantRole.REQUESTER)],
        )
        if context.linked_ticket is not None:
            context.record(
                "ticket.created", subject=subject, linked_ticket=context.linked_ticket.number
            )
        else:
            context.record("ticket.created", subject=subject)
