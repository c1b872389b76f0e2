"""The audit trail of everything the job did, written last."""

from __future__ import annotations

from maild.pipeline.context import IntakeContext


class RecordEvents:
    """Writes the audit trail of everything the earlier steps did, in the order they did
    it, in one statement: the mail's own events and the changes of the ticket's editors,
    on the ticket the mail ends on, by :attr:`IntakeContext.actor`; and the webhook
    deliveries they make, except for imported history, which calls no webhook."""

    name = "record-events"

    def __call__(self, context: IntakeContext) -> None:
        assert context.ticket is not None
        context.events.write(
            context.connection,
            ticket_id=context.ticket.id,
            actor=context.actor,
            at=context.now,
            webhooks=context.job.delivery.history is None,
        )
