"""The automatic reply to an agent whose mail maild could not carry out (``agent_error``)."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from maild.config import Config, MailboxConfig
from maild.pipeline.context import IntakeContext
from maild.ticketing.customer_mail import make_message_id, token_address
from maild.ticketing.record import TicketRecord
from outbound.compose import AddressError, OutgoingMail, compose
from outbound.outbox import automatic_sent_since, enqueue
from outbound.templating import TemplateRenderer
from parsing.ticketref import format_ticket_tag

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=1)


def queue_agent_error(
    context: IntakeContext,
    *,
    config: Config,
    renderer: TemplateRenderer,
    mailbox: MailboxConfig,
    errors: list[str],
    record: TicketRecord | None,
) -> bool:
    """Tell the agent why their mail was not carried out; False when it was held back (the
    hourly limit of automatic mail per address, invariant 3) or cannot be addressed."""
    parsed, agent = context.parsed, context.agent
    assert agent is not None and parsed.from_ is not None
    address = parsed.from_.address
    since = context.now - WINDOW
    if automatic_sent_since(context.connection, address, since) >= config.maild.auto_reply_limit:
        log.warning("error reply to agent %s held back: hourly limit reached", address)
        return False
    tag = format_ticket_tag(config.maild.ticket_prefix, record.number) if record else ""
    rendered = renderer.render(
        "agent_error",
        {
            "agent_name": agent.name or agent.address,
            "subject": parsed.subject,
            "ticket_tag": tag,
            "errors": errors,
            "unthreaded": record is None,
            "mailbox_name": mailbox.name,
        },
    )
    domain = mailbox.domain
    if record is not None:
        message_id = make_message_id(record)
        reply_to: str | None = token_address(record.mailbox, record.token)
    else:
        message_id = f"<maild-notice.{secrets.token_hex(12)}@{domain}>"
        reply_to = None
    references = list(parsed.references)
    if parsed.message_id:
        references.append(parsed.message_id)
    subject = (
        parsed.subject if parsed.subject.lower().startswith("re:") else f"Re: {parsed.subject}"
    )
    mail = OutgoingMail(
        from_name=mailbox.name,
        from_address=mailbox.address,
        to=((parsed.from_.name, address),),
        subject=f"Not carried out: {subject}",
        text=rendered.text,
        html=rendered.html,
        message_id=message_id,
        in_reply_to=parsed.message_id,
        references=tuple(references),
        reply_to=reply_to,
        auto_submitted="auto-replied",
        date=context.now,
    )
    try:
        raw = compose(mail)
    except AddressError as error:
        log.warning("no error reply to agent %s: %s", address, error)
        return False
    enqueue(
        context.connection,
        ticket_id=record.id if record else None,
        kind="agent_error",
        message_id=message_id,
        mail_from=reply_to or mailbox.address,
        recipients=[address],
        raw=raw,
        now=context.now,
    )
    return True
