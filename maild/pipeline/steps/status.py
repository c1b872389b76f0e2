"""A customer's reply reopens the ticket; any other mail only moves ``updated_at``."""

from __future__ import annotations

from maild.pipeline.context import IntakeContext
from maild.ticketing.editor import TicketEditor
from storage.models import TicketStatus


class UpdateStatus:
    """A customer's reply reopens: pending → open, resolved → open (closed with ``reopen``),
    through the ticket's editor, whose workflow rule resumes the SLA clock a pending ticket
    paused and clears what a finished ticket carries. Any other reply moves only
    ``updated_at``, without reading the ticket (the intake path)."""

    name = "status"

    REOPENING = frozenset({TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED})

    def __call__(self, context: IntakeContext) -> None:
        ticket = context.ticket
        assert ticket is not None
        if context.created or context.withheld or context.job.delivery.history is not None:
            return  # imported history: its status is settled by steps.history
        if context.automated is None and ticket.status in self.REOPENING:
            editor = context.editor(context.actor)
            editor.set_status(TicketStatus.OPEN)
            editor.save()
            ticket.status = TicketStatus.OPEN
        else:
            TicketEditor.touch(context.connection, ticket.id, context.now)
