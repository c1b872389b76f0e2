"""Mail that finds a ticket merged into another goes on the ticket it was merged into."""

from __future__ import annotations

from maild.pipeline.context import IntakeContext, ticket_view
from maild.ticketing.record import load_ticket
from storage import workflow
from storage.models import TicketStatus


class FollowMerged:
    """Mail that finds a ticket merged into another (its token, its Message-IDs) goes on the
    ticket it was merged into (``#merge``, :mod:`maild.agents.merge`). Only closed tickets
    can be merged: others cost nothing."""

    name = "follow-merged"

    def __call__(self, context: IntakeContext) -> None:
        ticket = context.ticket
        if ticket is None or ticket.status != TicketStatus.CLOSED:
            return
        seen = {ticket.id}
        target_id = workflow.merged_into(context.connection, ticket.id)
        while target_id is not None and target_id not in seen:
            seen.add(target_id)
            record = load_ticket(context.connection, target_id)
            ticket = ticket_view(record)
            target_id = record.merged_into_id
        if ticket.id != context.ticket.id:
            context.record("message.followed_merge", into=ticket.number)
            context.ticket = ticket
