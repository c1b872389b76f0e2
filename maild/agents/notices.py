"""The automatic reply to an agent whose mail maild could not carry out (``agent_error``).

An agent always learns that their mail did nothing (unless their address bounces): the
reply is never held back by the hourly budget that protects customers from loops
(:data:`outbound.ticketmail.KINDS`).
"""

from __future__ import annotations

import logging

from maild.config import Config, MailboxConfig
from maild.pipeline.context import IntakeContext
from maild.ticketing.mail import mail_ticket, queue
from maild.ticketing.record import TicketRecord
from outbound.templating import TemplateRenderer
from outbound.threads import answer_threading
from outbound.ticketmail import TicketMail
from parsing.ticketref import format_ticket_tag

log = logging.getLogger(__name__)


def queue_agent_error(
    context: IntakeContext,
    *,
    config: Config,
    renderer: TemplateRenderer,
    mailbox: MailboxConfig,
    errors: list[str],
    record: TicketRecord | None,
    undelivered: bool = False,
) -> bool:
    """Tell the agent why their mail was not carried out (or not delivered); False when it
    could not be queued (a bouncing or unusable address)."""
    parsed, agent = context.parsed, context.agent
    assert agent is not None and parsed.from_ is not None
    address = parsed.from_.address
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
            "undelivered": undelivered,
        },
    )
    subject = (
        parsed.subject if parsed.subject.lower().startswith("re:") else f"Re: {parsed.subject}"
    )
    queued = queue(
        context.connection,
        config,
        TicketMail(
            kind="agent_error",
            ticket=mail_ticket(record) if record is not None else None,
            recipients=[(parsed.from_.name, address)],
            from_name=mailbox.name,
            from_address=mailbox.address,
            subject=f"{'Not delivered' if undelivered else 'Not carried out'}: {subject}",
            text=rendered.text,
            html=rendered.html,
            threading=answer_threading(parsed.message_id, parsed.references),
        ),
        context.now,
    )
    if not queued.sent_to:
        log.warning("no error reply to agent %s: %s", address, queued.reason)
        return False
    return True
