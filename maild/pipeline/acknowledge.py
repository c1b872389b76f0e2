"""The acknowledgement a customer receives for a new ticket, queued in the outbox.

Composed inside the transaction that creates the ticket (invariant 4) from the Jinja
template ``acknowledgement``; the customer's subject and text reach the template only as
variables (invariant 5).
"""

from __future__ import annotations

import logging

from maild.config import Config
from maild.pipeline.context import IntakeContext
from outbound.compose import AddressError, OutgoingMail, compose, make_message_id
from outbound.outbox import enqueue
from outbound.templating import TemplateRenderer
from parsing.ticketref import format_ticket_tag

log = logging.getLogger(__name__)

EXCERPT_CHARS = 500


class Acknowledger:
    """Queues the acknowledgement; returns False when the sender's address cannot take one
    (malformed, or needs SMTPUTF8): the ticket is still stored, just not acknowledged."""

    def __init__(self, config: Config, renderer: TemplateRenderer) -> None:
        self._prefix = config.maild.ticket_prefix
        self._renderer = renderer

    def queue(self, context: IntakeContext) -> bool:
        ticket, parsed, mailbox = context.ticket, context.parsed, context.job.mailbox
        assert ticket is not None and parsed.from_ is not None
        tag = format_ticket_tag(self._prefix, ticket.number)
        rendered = self._renderer.render(
            "acknowledgement",
            {
                "ticket_number": ticket.number,
                "ticket_tag": tag,
                "subject": ticket.subject,
                "customer_name": parsed.from_.name,
                "mailbox_name": mailbox.name,
                "excerpt": parsed.reply_text[:EXCERPT_CHARS],
            },
        )
        local, _, domain = mailbox.address.partition("@")
        message_id = make_message_id(ticket.token, domain)
        references = list(parsed.references)
        if parsed.message_id:
            references.append(parsed.message_id)
        mail = OutgoingMail(
            from_name=mailbox.name,
            from_address=mailbox.address,
            to=((parsed.from_.name, parsed.from_.address),),
            subject=f"{tag} {ticket.subject}",
            text=rendered.text,
            html=rendered.html,
            message_id=message_id,
            in_reply_to=parsed.message_id,
            references=tuple(references),
            reply_to=f"{local}+{ticket.token}@{domain}",
            auto_submitted="auto-replied",
            date=context.now,
        )
        try:
            raw = compose(mail)
        except AddressError as error:
            log.warning(
                "no acknowledgement for ticket #%s: %s",
                ticket.number,
                error,
                extra={"ticket": ticket.number},
            )
            return False
        enqueue(
            context.connection,
            ticket_id=ticket.id,
            kind="acknowledgement",
            message_id=message_id,
            mail_from=mailbox.address,
            recipients=[parsed.from_.address],
            raw=raw,
            now=context.now,
        )
        return True
