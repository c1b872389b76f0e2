"""The message itself and its attachments, stored on the ticket."""

from __future__ import annotations

from maild.pipeline.context import IntakeContext
from maild.pipeline.storing import store_mail


class StoreMessage:
    """The message row with the reply text (without quoted history) and its attachments,
    each attachment's bytes stored once by content; on an existing ticket, an event says
    how it threaded."""

    name = "store"

    def __call__(self, context: IntakeContext) -> None:
        assert context.ticket is not None
        store_mail(
            context, context.ticket.id, context.kind, context.parsed.reply_text, context.automated
        )
        if not context.created:
            details: dict[str, object] = {"threaded_by": context.threaded_by}
            if context.automated:
                details["automated"] = context.automated
            context.record("message.received", **details)
