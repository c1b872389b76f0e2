"""The acknowledgement a customer receives for a new ticket, queued in the outbox.

Composed inside the transaction that creates the ticket (invariant 4) from the Jinja
template ``acknowledgement``; the customer's subject and text reach the template only as
variables (invariant 5).
"""

from __future__ import annotations

import logging

from maild.config import Config
from maild.pipeline.context import IntakeContext
from outbound.compose import AddressError, OutgoingMail, compose, make_message_id, token_address
from outbound.guards import AutomaticMailLimits, held_back
from outbound.outbox import enqueue_each
from outbound.templating import TemplateRenderer
from parsing.ticketref import format_ticket_tag

log = logging.getLogger(__name__)

EXCERPT_CHARS = 500


class Acknowledger:
    """Queues the acknowledgement, unless the address must not get one: it bounces, it had
    its hourly share of automatic mail (invariant 3), or it cannot go into a header
    (malformed, or needs SMTPUTF8). The ticket is stored either way."""

    def __init__(self, config: Config, renderer: TemplateRenderer) -> None:
        self._prefix = config.maild.ticket_prefix
        self._limits = AutomaticMailLimits(
            config.maild.auto_reply_limit, config.maild.auto_reply_domain_limit
        )
        self._renderer = renderer

    def queue(self, context: IntakeContext) -> str | None:
        """None when queued, otherwise why not."""
        ticket, parsed, mailbox = context.ticket, context.parsed, context.job.mailbox
        assert ticket is not None and parsed.from_ is not None
        reason = held_back(context.connection, parsed.from_.key, context.now, self._limits)
        if reason is not None:
            return reason
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
        message_id = make_message_id(ticket.token, mailbox.address.partition("@")[2])
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
            reply_to=token_address(mailbox.address, ticket.token),
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
            return "address unusable"
        enqueue_each(
            context.connection,
            ticket_id=ticket.id,
            kind="acknowledgement",
            message_id=message_id,
            mailbox=mailbox.address,
            token=ticket.token,
            recipients=[parsed.from_.address],
            raw=raw,
            now=context.now,
        )
        return None
