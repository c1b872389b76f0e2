"""The mail, announced to webhooks: a new ticket, or a customer's reply, with its text."""

from __future__ import annotations

from maild.pipeline.context import IntakeContext
from rules.model import EventKind


class AnnounceMail:
    """Tells the webhooks (``maild.webhooks``) what this mail is: ``ticket.created`` for
    every new ticket, whoever wrote the mail, and ``ticket.customer_replied`` for a reply
    that the rules take as a customer's (not automated, not withheld). The text is the one
    stored: the mail without its quoted history. Imported history reaches no webhook (the
    last step writes its events without them)."""

    name = "announce"

    def __call__(self, context: IntakeContext) -> None:
        if context.created:
            linked = context.linked_ticket
            details = {"linked_ticket": linked.number} if linked is not None else {}
            context.events.announce(
                EventKind.CREATED.value, text=context.parsed.reply_text, **details
            )
        elif context.customer_event is EventKind.CUSTOMER_REPLIED:
            context.events.announce(
                EventKind.CUSTOMER_REPLIED.value, text=context.parsed.reply_text
            )
