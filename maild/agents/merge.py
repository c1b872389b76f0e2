"""``#merge N``: one ticket into another.

The source ticket's messages, participants (without duplicates; its requester joins the
target as a Cc), events and outgoing mail move to the target; the source is closed with
``merged_into_id`` set, so mail that still finds it (its token, its Message-IDs) is followed
to the target (:class:`FollowMerged`). Both tickets get an event. The source's customer is
told once, in their own thread, with a short automatic mail from the support address whose
Reply-To and Message-ID lead to the target.

Merging is allowed only within one mailbox: the customer would otherwise hear from another
support address, with another name, than the one they wrote to.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection

from maild.config import Config
from maild.pipeline.context import IntakeContext
from maild.ticketing.customer_mail import (
    CustomerMail,
    customer_recipients,
    queue_customer_mail,
)
from maild.ticketing.editor import TicketEditor
from maild.ticketing.record import TicketRecord, find_ticket, load_ticket
from outbound.templating import TemplateRenderer
from parsing.ticketref import format_ticket_tag
from rules.config import RulesConfig
from storage.merge import move_ticket_contents
from storage.models import TicketStatus

log = logging.getLogger(__name__)


class MergeError(Exception):
    """The merge cannot be done; the message is meant for the agent."""


def merge_target(connection: Connection, source: TicketRecord, number: int) -> TicketRecord:
    """The ticket ``number``, checked as a place ``source`` may be merged into."""
    if number == source.number:
        raise MergeError(f"#merge {number}: a ticket cannot be merged into itself")
    target = find_ticket(connection, number)
    if target is None:
        raise MergeError(f"#merge {number}: there is no ticket #{number}")
    if target.merged_into_id is not None:
        into = load_ticket(connection, target.merged_into_id)
        raise MergeError(f"#merge {number}: #{number} was merged into #{into.number}; merge there")
    if target.mailbox != source.mailbox:
        raise MergeError(
            f"#merge {number}: #{number} belongs to {target.mailbox}, this ticket to "
            f"{source.mailbox}; tickets merge only within one mailbox"
        )
    return target


def merge_tickets(
    context: IntakeContext,
    editor: TicketEditor,
    target: TicketRecord,
    *,
    config: Config,
    renderer: TemplateRenderer,
    policy: RulesConfig,
    agent_name: str,
) -> None:
    """Move ``editor.record`` into ``target`` (both in the caller's transaction)."""
    connection, now, source = context.connection, context.now, editor.record
    # Who hears of it, and the thread it continues, as they are before anything moves.
    recipients = customer_recipients(
        connection, source.id, policy, lambda a: config.mailbox(a) is not None
    )
    box = config.mailbox(source.mailbox)
    tag = format_ticket_tag(config.maild.ticket_prefix, target.number)
    rendered = renderer.render(
        "merged",
        {
            "customer_name": source.requester_name,
            "ticket_number": source.number,
            "ticket_tag": format_ticket_tag(config.maild.ticket_prefix, source.number),
            "target_number": target.number,
            "target_tag": tag,
            "subject": source.subject,
            "mailbox_name": box.name if box else source.mailbox,
            "agent_name": agent_name,
        },
    )
    if recipients:
        queued = queue_customer_mail(
            connection,
            config,
            thread_of=source,
            reply_ticket=target,
            recipients=recipients,
            mail=CustomerMail(
                from_name=box.name if box else source.mailbox,
                subject=f"{tag} {source.subject}",
                text=rendered.text,
                html=rendered.html,
                kind="merged",
            ),
            now=now,
        )
        if queued.reason is not None:
            log.warning("no merge notice: %s", queued.reason, extra={"ticket": source.number})
    moved = move_ticket_contents(connection, source.id, target.id)
    editor.set_status(TicketStatus.CLOSED)
    editor.merge_into(target.id)
    editor.record_event("ticket.merged", into=target.number, **moved)
    # The target's event joins the source editor's log: one trail, in order.
    target_editor = TicketEditor(connection, target, now, editor.actor, events=editor.event_log)
    target_editor.record_event("ticket.merged_from", ticket=source.number, **moved)
    target_editor.save()
    log.info(
        "ticket #%s merged into #%s", source.number, target.number, extra={"ticket": source.number}
    )
