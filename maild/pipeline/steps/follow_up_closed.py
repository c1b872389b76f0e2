"""Mail to a closed ticket opens a follow-up ticket that links it (configurable)."""

from __future__ import annotations

from maild.config import Config
from maild.pipeline.context import IntakeContext
from storage.models import TicketStatus


class FollowUpClosed:
    """With ``[maild] closed_ticket_reply = "follow-up"`` (the default) a customer's mail to
    a closed ticket opens a new one linked to it; with ``"reopen"`` it reopens the ticket
    (:class:`~maild.pipeline.steps.status.UpdateStatus`). An auto-reply stays on the closed
    ticket and opens nothing, and so does a rating given by replying to our survey."""

    name = "follow-up-closed"

    def __init__(self, config: Config) -> None:
        self._reopen = config.maild.closed_ticket_reply == "reopen"

    def __call__(self, context: IntakeContext) -> None:
        ticket = context.ticket
        if ticket is None or ticket.status != TicketStatus.CLOSED or self._reopen:
            return
        if context.automated is not None or context.rated:
            return
        history = context.job.delivery.history
        if history is not None and history.status == "closed":
            return  # closed history joins the ticket it belongs to (keep-open: as live)
        context.linked_ticket, context.ticket = ticket, None
